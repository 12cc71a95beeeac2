"""The one message a cardholder gets after their plan broke.

The daily run marks a plan broken (its rules, frozen into it, say when); then
``queue_broken_plan_message(plan_id)`` queues ONE calm message: the plan has ended
because payments were missed, we can talk (the care number of the account's
jurisdiction), or they can sign in and choose again when they can. Never a threat.

It is a collection message under every contact rule (hours: held, caps, opt-outs,
do-not-contact flags: blocked and put on the case file). It is queued at most once per
plan: the outbox row carries ``dedupe_key = "broken:plan:<id>"``, so a second call (the
run repeated) queues nothing. Flushes; the caller commits.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select

from portal import jurisdictions
from portal.accounts.models import CardAccount
from portal.audit.service import SYSTEM
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.notifications.optout import unsubscribe_url
from portal.notifications.service import queue_collection_message
from portal.plans.models import Plan, PlanState
from portal.servicing.reminders import reminder_channel

__all__ = ["PLAN_BROKEN", "broken_plan_text", "queue_broken_plan_message"]

PLAN_BROKEN = "plan_broken"  # the outbox kind


def dedupe_key(plan_id: int) -> str:
    return f"broken:plan:{plan_id}"


def queue_broken_plan_message(plan_id: int) -> None:
    """Queue the message after plan ``plan_id`` broke, once (see the module notes).

    Does nothing for a plan that is not broken, that already has its message, or whose
    cardholder has neither phone nor e-mail on file.
    """
    plan = db.session.get(Plan, plan_id)
    if plan is None or plan.state != PlanState.BROKEN:
        return
    key = dedupe_key(plan_id)
    if db.session.execute(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first() is not None:
        return
    account = db.session.get(CardAccount, plan.account_id)
    assert account is not None  # a plan's account is a foreign key
    channel = reminder_channel(account)
    if channel is None:
        return
    subject, body = broken_plan_text(account, channel)
    queue_collection_message(account, channel, PLAN_BROKEN, subject, body, SYSTEM, dedupe_key=key)


def broken_plan_text(account: CardAccount, channel: str) -> tuple[str | None, str]:
    """(subject, body) in the cardholder's language, with the opt-out line."""
    holder = account.cardholder
    config = current_app.config
    url = f"{config['PUBLIC_URL']}/plan"
    with force_locale(holder.locale), jurisdictions.serving(account.jurisdiction) as place:
        if channel == "sms":
            body = gettext(
                "%(bank)s: your repayment plan has ended because payments were missed. We are here to help. "
                "Call us on %(phone)s to talk it through, or sign in when you are ready to choose again: "
                "%(url)s Reply STOP to stop these texts.",
                bank=config["BANK_NAME"],
                phone=place.care_phone,
                url=url,
            )
            return None, body
        subject = gettext("Your repayment plan has ended")
        body = gettext(
            "Hello %(name)s,\n\n"
            "Your repayment plan has ended because some payments were missed.\n\n"
            "We know things can change. We are here to help you find a way that works for you.\n\n"
            "You can call us free on %(phone)s, 08:00 to 21:00 every day, to talk it through.\n\n"
            "Or, when you are ready, sign in and see what you can choose: %(url)s\n\n"
            "%(bank)s\n\n"
            "To stop these e-mails: %(unsubscribe)s",
            name=holder.full_name,
            phone=place.care_phone,
            url=url,
            bank=config["BANK_NAME"],
            unsubscribe=unsubscribe_url(account.id),
        )
        return subject, body
