"""The delivery monitor: cardholder messages (SMS, e-mail) that have not gone as planned.

Four groups, counted per channel and listed a page at a time:

* ``held``: queued to go later, outside contact hours (``send_after`` in the future);
* ``retrying``: an attempt failed and the worker tries again (the provider's error kept);
* ``dead``: given up on after the last attempt or a permanent error (the dead letters);
* ``blocked``: stopped by a contact rule (a link revoked by staff is not listed).

A supervisor may requeue a dead or blocked message. Requeueing is never a way around the
contact rules: the rules are applied at once (a message they still forbid stays where it
is, and the supervisor is told which rule), and the worker applies them again when it
sends. A message that carried a one-time secret (a plan link's token, a sign-in code)
cannot be requeued: the secret was forgotten when it stopped; a new link is sent
instead. Webhooks to the core system have their own page (``core_banking``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, select

from portal.accounts.models import CardAccount
from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.cases.models import CaseEventKind
from portal.cases.service import add_event
from portal.db_types import one_of, utcnow
from portal.extensions import db
from portal.links.status import REVOKED_REASON
from portal.notifications import confirmations
from portal.notifications.models import OutboxMessage, OutboxStatus
from portal.notifications.rules import BLOCK, CHANNELS, HOLD, REMINDER_KINDS
from portal.notifications.service import check_contact, recipient_for

PAGE_SIZE = 25
GROUPS = ("held", "retrying", "dead", "blocked")
# Messages whose body needs a one-time secret kept beside it: never sent again.
SECRET_KINDS = frozenset({"plan_link", "signin_code"})
RETRY = "retry"


class RequeueError(Exception):
    """Why a message cannot be requeued; ``code`` for the view, ``detail`` the rule."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code if detail is None else f"{code}: {detail}")
        self.code = code
        self.detail = detail


def _group(group: str, now: datetime) -> ColumnElement[bool]:
    queued = OutboxMessage.status == OutboxStatus.QUEUED
    retrying = OutboxMessage.held_reason == RETRY
    conditions = {
        "held": and_(queued, OutboxMessage.send_after > now, retrying.is_not(True)),
        "retrying": and_(queued, retrying),
        "dead": OutboxMessage.status == OutboxStatus.FAILED,
        "blocked": and_(
            OutboxMessage.status == OutboxStatus.BLOCKED,
            func.coalesce(OutboxMessage.blocked_reason, "") != REVOKED_REASON,
        ),
    }
    return and_(one_of(OutboxMessage.channel, CHANNELS), conditions[group])


def counts(now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Per group, per channel: how many messages. Zeros included."""
    now = now or utcnow()
    found = {group: dict.fromkeys(CHANNELS, 0) for group in GROUPS}
    for group in GROUPS:
        query = select(OutboxMessage.channel, func.count()).where(_group(group, now)).group_by(OutboxMessage.channel)
        for channel, count in db.session.execute(query):
            found[group][channel] = int(count)
    return found


@dataclass(frozen=True)
class MonitorRow:
    message: OutboxMessage
    account_id: int | None
    account_reference: str | None
    time_zone: str | None

    @property
    def refusal(self) -> str | None:
        return requeue_refusal(self.message, self.time_zone)

    @property
    def requeueable(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class MonitorPage:
    group: str
    channel: str | None
    rows: list[MonitorRow]
    total: int
    page: int
    pages: int


def messages(group: str, channel: str | None = None, page: int = 1, now: datetime | None = None) -> MonitorPage:
    """One page of a group's messages (held: soonest first; others: newest first)."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group}")
    now = now or utcnow()
    where = [_group(group, now)]
    if channel is not None:
        where.append(OutboxMessage.channel == channel)
    total = int(db.session.execute(select(func.count()).select_from(OutboxMessage).where(*where)).scalar_one())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    order = (
        (OutboxMessage.send_after, OutboxMessage.id)
        if group == "held"
        else (OutboxMessage.id.desc(),)  # ids grow with time: newest first, and stable
    )
    query = (
        select(OutboxMessage, CardAccount.reference, CardAccount.time_zone)
        .outerjoin(CardAccount, CardAccount.id == OutboxMessage.account_id)
        .where(*where)
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    rows = [
        MonitorRow(message, message.account_id, reference, zone)
        for message, reference, zone in db.session.execute(query).tuples()
    ]
    return MonitorPage(group, channel, rows, total, page, pages)


def _stale(message: OutboxMessage, time_zone: str | None, now: datetime) -> bool:
    """A reminder speaks of its day ("due today", "due on 3 December"): sent on a later day
    in the cardholder's zone it would mislead them. The daily run writes the next one."""
    if message.kind not in REMINDER_KINDS or time_zone is None:
        return False
    zone = ZoneInfo(time_zone)
    return message.created_at.astimezone(zone).date() < now.astimezone(zone).date()


def requeue_refusal(message: OutboxMessage, time_zone: str | None = None, now: datetime | None = None) -> str | None:
    """Why ``message`` may not be requeued whatever the rules say now (None: it may);
    ``time_zone`` is its cardholder's, to tell a reminder of an earlier day."""
    if message.channel not in CHANNELS:
        return "not_found"
    if message.status not in (OutboxStatus.FAILED, OutboxStatus.BLOCKED):
        return "not_stopped"  # requeued already, or sent: a second tab, a double click
    if message.status == OutboxStatus.BLOCKED and message.blocked_reason == REVOKED_REASON:
        return "link_revoked"
    if message.kind in SECRET_KINDS or message.secret_until is not None:
        return "secret_gone"
    if _stale(message, time_zone, now or utcnow()):
        return "stale"
    return None


def requeue_message(message_id: int, actor: Actor) -> OutboxMessage:
    """Queue a dead or blocked cardholder message again, under the contact rules now.

    Raises ``RequeueError``: ``not_found``, ``not_stopped``, ``link_revoked``,
    ``secret_gone``, ``stale`` (a reminder of an earlier day), ``no_contact`` (nothing on
    file for its channel), ``still_blocked`` (detail: the rule). It goes now or is held
    for contact hours; attempts start again.
    Audited (``outbox.requeued``, before and after) and on the case file
    (``message_requeued``). Flushes.
    """
    query = select(OutboxMessage).where(OutboxMessage.id == message_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    message = db.session.execute(query).scalar_one_or_none()
    if message is None:
        raise RequeueError("not_found")
    account = db.session.get(CardAccount, message.account_id) if message.account_id is not None else None
    refusal = requeue_refusal(message, account.time_zone if account is not None else None)
    if refusal is not None:
        raise RequeueError(refusal)
    if account is None or not recipient_for(account, message.channel):
        raise RequeueError("no_contact")
    if message.collection:
        decision = check_contact(account, message.channel, exclude_message_id=message.id, kind=message.kind)
    else:
        decision = confirmations.service_decision(account, message.channel)
    if decision.action == BLOCK:
        raise RequeueError("still_blocked", decision.reason)
    before = {
        "status": message.status,
        "attempts": message.attempts,
        "blocked_reason": message.blocked_reason,
        "last_error": message.last_error,
    }
    message.status, message.attempts, message.send_after = OutboxStatus.QUEUED, 0, decision.send_at
    message.held_reason = decision.reason if decision.action == HOLD else None
    message.blocked_reason = message.last_error = message.claimed_by = message.claimed_at = None
    db.session.flush()
    # On the case file too, next to the failure or block it answers: who sent it again, and
    # whether it goes now or waits for the cardholder's contact hours.
    add_event(
        account.id,
        CaseEventKind.MESSAGE_REQUEUED,
        actor,
        {
            "message": message.id,
            "kind": message.kind,
            "channel": message.channel,
            "was": before["status"],
            "held_reason": message.held_reason,
            "send_after": decision.send_at.isoformat(),
        },
    )
    record(
        actor,
        Action.Outbox.REQUEUED,
        ("outbox_message", message.id),
        before=before,
        after={"status": "queued", "send_after": decision.send_at.isoformat(), "held_reason": message.held_reason},
    )
    return message
