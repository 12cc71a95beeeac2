"""The one message a cardholder gets after their plan broke.

The daily run marks a plan broken (its rules, frozen into it, say when); then
``queue_broken_plan_messages(plan_ids)`` queues ONE calm message per plan: the plan has ended
because payments were missed, we can talk (the care number of the account's
jurisdiction), or they can sign in and choose again when they can. Never a threat.

It is a collection message under every contact rule (hours: held, caps, opt-outs,
do-not-contact flags: blocked and put on the case file). It is queued at most once per
plan: the outbox row carries ``dedupe_key = "broken:plan:<id>"``, so a second call (the
run repeated) queues nothing. Flushes; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select

from portal import jurisdictions
from portal.accounts.models import CardAccount
from portal.db_types import utcnow
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.notifications.optout import unsubscribe_url
from portal.notifications.rules import BLOCK, ContactFacts, decide
from portal.notifications.service import contact_settings, counted_times
from portal.plans.models import Plan, PlanState
from portal.servicing.bulk_messages import accounts_with_holders, insert_messages, outbox_row
from portal.servicing.reminders import reminder_channel

__all__ = ["PLAN_BROKEN", "broken_plan_text", "queue_broken_plan_message", "queue_broken_plan_messages"]

PLAN_BROKEN = "plan_broken"  # the outbox kind


def dedupe_key(plan_id: int) -> str:
    return f"broken:plan:{plan_id}"


def queue_broken_plan_message(plan_id: int) -> None:
    """Queue the message after plan ``plan_id`` broke, once (see the module notes)."""
    queue_broken_plan_messages([plan_id])


def queue_broken_plan_messages(plan_ids: Sequence[int]) -> int:
    """Queue the message after each of ``plan_ids`` broke, once each: the daily run's
    form, a few statements for a whole chunk of plans. Skips a plan that is not broken,
    that already has its message, or whose cardholder has neither phone nor e-mail on
    file. Returns how many were queued to be sent (not blocked)."""
    if not plan_ids:
        return 0
    found = db.session.execute(
        select(Plan.id, Plan.account_id).where(Plan.id.in_(list(plan_ids)), Plan.state == PlanState.BROKEN)
    ).all()
    keys = {plan_id: dedupe_key(plan_id) for plan_id, _ in found}
    sent = set(
        db.session.execute(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(list(keys.values())))
        ).scalars()
    )
    accounts = accounts_with_holders({account_id for _, account_id in found})
    others = counted_times(set(accounts))
    settings, now = contact_settings(), utcnow()
    rows = []
    for plan_id, account_id in found:
        account = accounts[account_id]
        channel = reminder_channel(account)
        if keys[plan_id] in sent or channel is None:
            continue
        # The plan has ended, so no active plan silences this one: the other rules all hold.
        facts = ContactFacts(account.time_zone, frozenset(account.flags or ()), False, tuple(others[account.id]))
        decision = decide(channel, now, facts, settings, PLAN_BROKEN)
        if decision.action != BLOCK:
            others[account.id].append(decision.send_at)
        subject, body = broken_plan_text(account, channel)
        rows.append(outbox_row(account, PLAN_BROKEN, channel, subject, body, decision, keys[plan_id], now))
    return insert_messages(rows)


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
