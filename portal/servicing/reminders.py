"""Reminders of plan installments and promises to pay, queued by the daily run.

``queue_reminders(day)`` queues one message per unpaid installment of an ACTIVE plan and
per OPEN promise whose due date (``pay_by``) is a reminder day under the tier's cadence
(``Tier.reminders``, policy data: by default 3 days before, on the day and 3 days after;
``portal.domain.reminder_cadence``). The plan's tier is the one it was made in (its
``tier`` name in the policy in force for its currency), else the account's current tier;
a promise follows the account's current tier; without an active policy or a tier, the
default cadence.

Each reminder is a collection message under every contact rule (hours, caps, opt-outs,
do-not-contact flags), except that the plan or promise it belongs to does not silence it
(``rules.REMINDER_KINDS``). It goes by text, or by e-mail when texts are refused or there
is no phone, in the cardholder's language, and says the amount still due, the due date
and the account reference to quote when paying, with the opt-out line. A reminder the
rules block is kept as a blocked row with its case event, like any blocked attempt.

Running a day twice queues nothing new: each reminder carries a ``dedupe_key``
(``reminder:installment:<id>:<offset>``, ``reminder:promise:<id>:<offset>``; the offset is
days from the due date, negative before it) and is inserted or skipped. The work is set
based: installments and promises are read in chunks by id, only those due on one of the
day's target dates, with their accounts, earlier messages and existing keys read once
per chunk. The function flushes and never commits: the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select

from portal import jurisdictions
from portal.accounts.models import CardAccount
from portal.cases.models import Promise, PromiseState
from portal.db_types import utcnow
from portal.domain.policy import OfferPolicy
from portal.domain.reminder_cadence import ReminderCadence, due_dates_to_remind, offsets
from portal.extensions import db
from portal.i18n import local_date, money
from portal.notifications.models import OutboxMessage
from portal.notifications.optout import unsubscribe_url
from portal.notifications.rules import (
    BLOCK,
    PLAN_REMINDER,
    PROMISE_REMINDER,
    ContactFacts,
    decide,
)
from portal.notifications.service import contact_settings, counted_times
from portal.plans.models import Plan, PlanInstallment, PlanState
from portal.policies.cache import policy_cache
from portal.servicing.bulk_messages import accounts_with_holders, insert_messages, outbox_row
from portal.servicing.promises import paid_since_made

__all__ = [
    "CHUNK",
    "queue_reminders",
    "reminder_channel",
    "reminder_text",
]

CHUNK = 1000
DEFAULT_CADENCE = ReminderCadence()


@dataclass(frozen=True)
class _Due:
    """One payment that may get a reminder today."""

    kind: str  # PLAN_REMINDER or PROMISE_REMINDER
    source: str  # installment, promise
    source_id: int
    account_id: int
    tier: str | None  # the plan's tier; None: the account's current tier
    currency: str
    due_date: date
    amount: Decimal  # still to pay

    def key(self, offset: int) -> str:
        return f"reminder:{self.source}:{self.source_id}:{offset}"


def queue_reminders(day: date) -> int:
    """Queue the reminders due on ``day`` (see the module notes); the caller commits.

    Returns how many were queued to be sent (held to contact hours or not); reminders the
    contact rules block are kept as blocked rows and not counted.
    """
    policies = _active_policies()
    targets = sorted(_target_dates(day, policies.values()))
    if not targets:
        return 0
    queued = 0
    for chunk in _installment_chunks(targets):
        queued += _queue_chunk(day, chunk, policies)
    for chunk in _promise_chunks(targets, day):
        queued += _queue_chunk(day, chunk, policies)
    return queued


# --- what is due --------------------------------------------------------------------------


def _active_policies() -> dict[str, OfferPolicy]:
    """The policy in force per currency that has plans or promises to remind of."""
    currencies = set(
        db.session.execute(select(Plan.currency).where(Plan.state == PlanState.ACTIVE).distinct()).scalars()
    )
    currencies |= set(
        db.session.execute(select(Promise.currency).where(Promise.state == PromiseState.OPEN).distinct()).scalars()
    )
    found = {}
    for currency in currencies:
        version = policy_cache().active(currency)
        if version is not None:
            found[currency] = version.policy
    return found


def _target_dates(day: date, policies: Iterable[OfferPolicy]) -> set[date]:
    """Every due date some cadence in force reminds of on ``day`` (the default cadence too,
    for plans whose currency or tier has none)."""
    cadences = {DEFAULT_CADENCE} | {t.reminders for p in policies for t in p.tiers}
    return {due for cadence in cadences for due in due_dates_to_remind(day, cadence)}


def _installment_chunks(targets: Sequence[date]) -> Iterable[list[_Due]]:
    last = 0
    while True:
        query = (
            select(
                PlanInstallment.id,
                PlanInstallment.due_date,
                PlanInstallment.total - PlanInstallment.paid,
                Plan.account_id,
                Plan.tier,
                Plan.currency,
            )
            .join(Plan, Plan.id == PlanInstallment.plan_id)
            .where(
                PlanInstallment.id > last,
                PlanInstallment.due_date.in_(targets),
                PlanInstallment.paid < PlanInstallment.total,
                Plan.state == PlanState.ACTIVE,
            )
            .order_by(PlanInstallment.id)
            .limit(CHUNK)
        )
        rows = db.session.execute(query).all()
        if not rows:
            return
        last = rows[-1][0]
        yield [
            _Due(PLAN_REMINDER, "installment", i, account, tier, currency, due, amount)
            for i, due, amount, account, tier, currency in rows
        ]


def _promise_chunks(targets: Sequence[date], day: date) -> Iterable[list[_Due]]:
    last = 0
    while True:
        query = (
            select(Promise.id, Promise.account_id, Promise.currency, Promise.pay_by, Promise.amount)
            .where(Promise.id > last, Promise.state == PromiseState.OPEN, Promise.pay_by.in_(targets))
            .order_by(Promise.id)
            .limit(CHUNK)
        )
        rows = db.session.execute(query).all()
        if not rows:
            return
        last = rows[-1][0]
        paid = paid_since_made([r[0] for r in rows], day)
        dues = [
            _Due(PROMISE_REMINDER, "promise", pid, account, None, currency, pay_by, amount - paid.get(pid, Decimal(0)))
            for pid, account, currency, pay_by, amount in rows
        ]
        yield [d for d in dues if d.amount > 0]


def _cadence(policies: dict[str, OfferPolicy], due: _Due, account: CardAccount) -> ReminderCadence:
    policy = policies.get(due.currency)
    if policy is None:
        return DEFAULT_CADENCE
    tier = next((t for t in policy.tiers if t.name == due.tier), None) if due.tier else None
    tier = tier or policy.tier_for(account.days_past_due, account.balance)
    return tier.reminders if tier is not None else DEFAULT_CADENCE


# --- one chunk ------------------------------------------------------------------------------


def _queue_chunk(day: date, dues: list[_Due], policies: dict[str, OfferPolicy]) -> int:
    if not dues:
        return 0
    accounts = accounts_with_holders({d.account_id for d in dues})
    wanted: list[tuple[_Due, str]] = []
    for due in dues:
        account = accounts.get(due.account_id)
        offset = (day - due.due_date).days
        if account is not None and offset in offsets(_cadence(policies, due, account)):
            wanted.append((due, due.key(offset)))
    if not wanted:
        return 0
    existing = set(
        db.session.execute(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_([k for _, k in wanted]))
        ).scalars()
    )
    wanted = [(d, k) for d, k in wanted if k not in existing]
    others = counted_times({d.account_id for d, _ in wanted})
    settings, now = contact_settings(), utcnow()
    rows = []
    for due, key in wanted:
        account = accounts[due.account_id]
        channel = reminder_channel(account)
        if channel is None:
            continue  # no phone and no e-mail on file: nowhere to write to
        # The plan or promise a reminder belongs to never blocks it (rules.REMINDER_KINDS).
        facts = ContactFacts(account.time_zone, frozenset(account.flags or ()), False, tuple(others[account.id]))
        decision = decide(channel, now, facts, settings, due.kind)
        subject, body = reminder_text(account, channel, due.kind, (day - due.due_date).days, due.amount, due.due_date)
        if decision.action != BLOCK:
            others[account.id].append(decision.send_at)  # it counts against the caps of the next
        rows.append(outbox_row(account, due.kind, channel, subject, body, decision, key, now))
    return insert_messages(rows)


# --- channel and words ------------------------------------------------------------------------


def reminder_channel(account: CardAccount) -> str | None:
    """Texts first; e-mail when texts are refused or there is no phone. When both are
    refused, the text is tried (and blocked by the rules, which the case file shows)."""
    flags = set(account.flags or ())
    holder = account.cardholder
    if holder.phone and "optout_sms" not in flags:
        return "sms"
    if holder.email and "optout_email" not in flags:
        return "email"
    return "sms" if holder.phone else "email" if holder.email else None


def _core(kind: str, offset: int, amount: str, when: str, reference: str, phone: str) -> str:
    """The reminder's own sentences, calm, with the reference to quote."""
    if kind == PLAN_REMINDER:
        if offset < 0:
            return gettext(
                "A reminder: your plan payment of %(amount)s is due on %(date)s. When you pay, quote "
                "your reference %(reference)s.",
                amount=amount,
                date=when,
                reference=reference,
            )
        if offset == 0:
            return gettext(
                "Your plan payment of %(amount)s is due today, %(date)s. When you pay, quote your "
                "reference %(reference)s.",
                amount=amount,
                date=when,
                reference=reference,
            )
        return gettext(
            "Your plan payment of %(amount)s was due on %(date)s and we have not received it yet. If you "
            "have paid, thank you. When you pay, quote your reference %(reference)s. If paying is hard "
            "right now, call us on %(phone)s and we will look at it with you.",
            amount=amount,
            date=when,
            reference=reference,
            phone=phone,
        )
    if offset < 0:
        return gettext(
            "A reminder: you told us you would pay %(amount)s by %(date)s. When you pay, quote your "
            "reference %(reference)s.",
            amount=amount,
            date=when,
            reference=reference,
        )
    if offset == 0:
        return gettext(
            "A reminder: you told us you would pay %(amount)s by today, %(date)s. When you pay, quote "
            "your reference %(reference)s.",
            amount=amount,
            date=when,
            reference=reference,
        )
    return gettext(
        "You told us you would pay %(amount)s by %(date)s and we have not received it yet. If you have "
        "paid, thank you. When you pay, quote your reference %(reference)s. If paying is hard right "
        "now, call us on %(phone)s and we will look at it with you.",
        amount=amount,
        date=when,
        reference=reference,
        phone=phone,
    )


def reminder_text(
    account: CardAccount, channel: str, kind: str, offset: int, amount: Decimal, due_date: date
) -> tuple[str | None, str]:
    """(subject, body) of one reminder in the cardholder's language, with its opt-out line."""
    holder = account.cardholder
    bank = current_app.config["BANK_NAME"]
    with force_locale(holder.locale), jurisdictions.serving(account.jurisdiction) as place:
        core = _core(
            kind, offset, money(amount, account.currency), local_date(due_date), account.reference, place.care_phone
        )
        if channel == "sms":
            return None, gettext("%(bank)s: %(text)s Reply STOP to stop these texts.", bank=bank, text=core)
        subject = gettext("A reminder about your payment")
        body = gettext(
            "Hello %(name)s,\n\n%(text)s\n\nQuestions? Call us free on %(phone)s, 08:00 to 21:00 every day.\n\n"
            "%(bank)s\n\nTo stop these e-mails: %(unsubscribe)s",
            name=holder.full_name,
            text=core,
            phone=place.care_phone,
            bank=bank,
            unsubscribe=unsubscribe_url(account.id),
        )
        return subject, body
