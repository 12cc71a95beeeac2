"""Service messages: confirming to the cardholder what they did or asked for.

Request received, approved (with the link to sign), declined (with the reason and what
to do next), plan accepted (with the agreement link), promise recorded. Each is an
outbox row in the cardholder's language, sent by text message (by e-mail when texts are
opted out or there is no phone), under `rules.decide_service`: contact hours and the
cardholder's "no messages" choices hold, but a dispute or an active plan does not
silence them, since they are not collection messages. The caller commits.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale, gettext, ngettext

from portal import jurisdictions
from portal.accounts.models import CardAccount
from portal.audit.service import Actor
from portal.db_types import utcnow
from portal.i18n import local_date, money
from portal.notifications.models import OutboxMessage
from portal.notifications.rules import ContactFacts, Decision, decide_service
from portal.notifications.service import contact_settings, queue_collection_message, recipient_for
from portal.plans.labels import decline_reason_message

KINDS = ("request_received", "request_approved", "request_declined", "plan_accepted", "promise_recorded")


def _channel(account: CardAccount) -> str:
    """Texts first; e-mail when texts are refused or there is no phone but an address."""
    flags = set(account.flags or ())
    holder = account.cardholder
    if holder.phone and "optout_sms" not in flags:
        return "sms"
    return "email" if holder.email else "sms"


def service_decision(account: CardAccount, channel: str) -> Decision:
    """The service-message rules for ``account`` now: when queued, and again when sent."""
    facts = ContactFacts(time_zone=account.time_zone, flags=frozenset(account.flags or ()))
    return decide_service(channel, utcnow(), facts, contact_settings())


def _queue(account: CardAccount, kind: str, body: str, actor: Actor) -> OutboxMessage | None:
    channel = _channel(account)
    recipient = recipient_for(account, channel)
    if not recipient:
        return None  # nowhere to write to; the pages show the same news
    decision = service_decision(account, channel)
    subject = None
    if channel == "email":
        with force_locale(account.cardholder.locale), jurisdictions.serving(account.jurisdiction):
            subject = gettext("About your card repayment plan")
    return queue_collection_message(account, channel, kind, subject, body, actor, decision=decision, collection=False)


def _url(path: str) -> str:
    return f"{current_app.config['PUBLIC_URL']}{path}"


def request_received(account: CardAccount, actor: Actor) -> OutboxMessage | None:
    with force_locale(account.cardholder.locale), jurisdictions.serving(account.jurisdiction):
        body = gettext(
            "%(bank)s: we have your request for a repayment plan. Our team usually decides within two working "
            "days, and we will send you a message when it is decided. You can see it or withdraw it here: %(url)s",
            bank=current_app.config["BANK_NAME"],
            url=_url("/plan"),
        )
    return _queue(account, "request_received", body, actor)


def request_approved(
    account: CardAccount, plan_id: int, first_amount: Decimal, payments: int, first_due: date, actor: Actor
) -> OutboxMessage | None:
    with force_locale(account.cardholder.locale), jurisdictions.serving(account.jurisdiction):
        body = ngettext(
            "%(bank)s: good news, your plan request was approved: %(num)d payment of %(amount)s on %(date)s. "
            "Check the terms and sign here: %(url)s",
            "%(bank)s: good news, your plan request was approved: %(num)d payments, the first of %(amount)s on "
            "%(date)s. Check the terms and sign here: %(url)s",
            payments,
            bank=current_app.config["BANK_NAME"],
            amount=money(first_amount, account.currency),
            date=local_date(first_due),
            url=_url(f"/plan/{plan_id}/sign"),
        )
    return _queue(account, "request_approved", body, actor)


def request_declined(account: CardAccount, reason_code: str | None, actor: Actor) -> OutboxMessage | None:
    with force_locale(account.cardholder.locale), jurisdictions.serving(account.jurisdiction):
        body = gettext(
            "%(bank)s: we could not approve your plan request. %(reason)s You can choose another plan or "
            "promise a payment here: %(url)s, or call us on %(phone)s.",
            bank=current_app.config["BANK_NAME"],
            reason=decline_reason_message(reason_code),
            url=_url("/plan"),
            phone=jurisdictions.care_phone(),
        )
    return _queue(account, "request_declined", body, actor)


def plan_accepted(
    account: CardAccount, reference: str, monthly: Decimal, first_due: date, actor: Actor
) -> OutboxMessage | None:
    with force_locale(account.cardholder.locale), jurisdictions.serving(account.jurisdiction):
        body = gettext(
            "%(bank)s: your repayment plan is agreed. First payment: %(amount)s on %(date)s. Your signed "
            "agreement (sign in to open it): %(url)s",
            bank=current_app.config["BANK_NAME"],
            amount=money(monthly, account.currency),
            date=local_date(first_due),
            url=_url(f"/agreements/{reference}.pdf"),
        )
    return _queue(account, "plan_accepted", body, actor)


def promise_recorded(account: CardAccount, amount: Decimal, pay_by: date, actor: Actor) -> OutboxMessage | None:
    with force_locale(account.cardholder.locale), jurisdictions.serving(account.jurisdiction):
        body = gettext(
            "%(bank)s: we have noted your promise to pay %(amount)s by %(date)s. Thank you. Your account: %(url)s",
            bank=current_app.config["BANK_NAME"],
            amount=money(amount, account.currency),
            date=local_date(pay_by),
            url=_url("/account"),
        )
    return _queue(account, "promise_recorded", body, actor)
