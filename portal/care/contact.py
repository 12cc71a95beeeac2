"""Phone calls care staff make, and the last contact each case shows.

A call is a collection contact, ruled like a message (``portal.notifications.rules.
decide_call``): never outside the cardholder's contact hours, never on an account whose
flags or active plan stop collection, at most the weekly cap of contacts (messages and
calls together) and at most ``CONTACT_DAILY_CALL_CAP`` unanswered calls a local day. The
outbox counts the calls too, so a text after a day of calls obeys the daily cap. A call
the cardholder asked for (an open call-back or question task on the case) follows the
service rules: only their own "no contact" choices and the hours hold. A question is
asked for while it is open; a call-back only from its time to the end of that day in the
cardholder's time zone (:func:`asked_for`): a call-back set for tomorrow does not lift
today's caps, nor one left open last week this week's.

The outcome of a call goes on the case file as a note (``portal.care.service.add_note``
with the channel ``phone``), which calls :func:`record_call` first; a call the rules
refuse is not recorded, and the agent sees why before dialling (:func:`call_status`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.accounts.models import CardAccount
from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.care.models import CallAttempt, CaseState
from portal.cases.models import CaseTask, TaskKind
from portal.cases.tasks import OpenTask
from portal.db_types import one_of, utcnow
from portal.extensions import db
from portal.notifications.rules import SEND, ContactFacts, Decision, decide_call
from portal.notifications.service import account_contacts, contact_facts, contact_settings

# Outcomes of a call where nobody answered: the daily call cap counts these.
UNANSWERED = frozenset({"no_answer"})
# Outcomes where the cardholder was reached (the others: nobody, or someone else).
REACHED = frozenset({"reached", "contacted_promised", "contacted_refused", "hardship_disclosed", "not_now"})
# Channels of a note that are a contact with the cardholder (the queue's "last contact").
CONTACT_CHANNELS = frozenset({"phone", "phone_in", "sms", "email", "letter", "in_person"})


class CallRefused(ValueError):
    """The contact rules forbid the call now; ``reason`` is the rule (a block reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CallStatus:
    """What the case file says before the agent dials."""

    decision: Decision
    requested: bool  # a call-back or question of the cardholder's is open
    unanswered_today: int
    daily_call_cap: int

    @property
    def allowed(self) -> bool:
        return self.decision.action == SEND


def asked_for(tasks: Iterable[CaseTask | OpenTask], now: datetime, time_zone: str) -> bool:
    """A call now is one the cardholder asked for: an open question for a person, or a
    call-back whose time has come today (in their time zone). An agent cannot lift the
    caps for today by setting a call-back for later."""
    for task in tasks:
        if task.done_at is not None:
            continue
        if task.kind == TaskKind.QUESTION:
            return True
        due = task.due_at
        if task.kind == TaskKind.CALLBACK and due is not None and due <= now and _same_local_day(due, now, time_zone):
            return True
    return False


def _requested(account: CardAccount, now: datetime) -> bool:
    query = select(CaseTask).where(
        CaseTask.account_id == account.id,
        CaseTask.done_at.is_(None),
        one_of(CaseTask.kind, (TaskKind.CALLBACK, TaskKind.QUESTION)),
    )
    return asked_for(db.session.execute(query).scalars(), now, account.time_zone)


def _unanswered(account_id: int, now: datetime) -> list[datetime]:
    query = select(CallAttempt.called_at).where(
        CallAttempt.account_id == account_id,
        one_of(CallAttempt.outcome, UNANSWERED),
        CallAttempt.requested.is_(False),
        CallAttempt.called_at > now - timedelta(days=2),  # any local "today" lies within
    )
    return list(db.session.execute(query).scalars())


def call_status(account: CardAccount, now: datetime | None = None) -> CallStatus:
    """Whether care staff may ring the cardholder now, and why not."""
    now = now or utcnow()
    settings = contact_settings()
    requested = _requested(account, now)
    unanswered = _unanswered(account.id, now)
    decision = decide_call(now, contact_facts(account), unanswered, settings, requested=requested)
    zone_today = [t for t in unanswered if _same_local_day(t, now, account.time_zone)]
    return CallStatus(decision, requested, len(zone_today), settings.daily_call_cap)


def _same_local_day(a: datetime, b: datetime, time_zone: str) -> bool:
    zone = ZoneInfo(time_zone)
    return a.astimezone(zone).date() == b.astimezone(zone).date()


def record_call(account: CardAccount, outcome: str, actor: Actor, now: datetime | None = None) -> CallAttempt:
    """Record a call to the cardholder made now with ``outcome``, under the contact rules:
    raises :class:`CallRefused` (nothing written) when they forbid it."""
    now = now or utcnow()
    status = call_status(account, now)
    if not status.allowed:
        raise CallRefused(status.decision.reason or "blocked")
    attempt = CallAttempt(
        account_id=account.id,
        outcome=outcome,
        answered=outcome not in UNANSWERED,
        requested=status.requested,
        called_at=now,
        called_by=actor.key,
    )
    db.session.add(attempt)
    db.session.flush()
    record(
        actor,
        Action.Case.CALL_RECORDED,
        ("card_account", account.id),
        after={"call": attempt.id, "outcome": outcome, "requested": status.requested},
    )
    return attempt


def case_state(account_id: int, lock: bool = False) -> CaseState:
    """The account's workbench row, made when first needed. Made with ``ON CONFLICT DO
    NOTHING``: another request (an agent's "next case") may make it at the same moment."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    query = select(CaseState).where(CaseState.account_id == account_id)
    if lock and postgres:
        query = query.with_for_update()
    found = db.session.execute(query).scalar_one_or_none()
    if found is None:
        insert = pg_insert if postgres else sqlite_insert
        made = insert(CaseState).values(account_id=account_id, updated_at=utcnow())
        db.session.execute(made.on_conflict_do_nothing(index_elements=[CaseState.account_id]))
        found = db.session.execute(query).scalar_one()
    return found


def note_contact(account_id: int, channel: str, outcome: str, at: datetime | None = None) -> None:
    """Keep the case's last contact and its outcome current (the queue shows them)."""
    if channel not in CONTACT_CHANNELS:
        return
    state = case_state(account_id)
    state.last_contact_at = at or utcnow()
    state.last_outcome = outcome
    state.last_channel = channel
    state.updated_at = utcnow()
    db.session.flush()


def panel_call_status(account: CardAccount, has_active_plan: bool, requested: bool, now: datetime) -> CallStatus:
    """``call_status`` for the case file, from what the page has loaded already (the
    account's plans and open tasks): one query, the outbox's and the calls' (the caller
    has flushed)."""
    settings = contact_settings()
    since = now - timedelta(days=8)  # the caps look back 7 days at most
    others, calls = account_contacts(account.id, since)
    others += [called_at for called_at, _outcome in calls]
    unanswered = [called_at for called_at, outcome in calls if outcome in UNANSWERED]
    facts = ContactFacts(account.time_zone, frozenset(account.flags or ()), has_active_plan, tuple(others))
    decision = decide_call(now, facts, unanswered, settings, requested=requested)
    today = [t for t in unanswered if _same_local_day(t, now, account.time_zone)]
    return CallStatus(decision, requested, len(today), settings.daily_call_cap)
