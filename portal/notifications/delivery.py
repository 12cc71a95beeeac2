"""The outbox worker: claim due messages, re-check the contact rules, send, record.

Several workers may run at once. A worker claims rows in a short transaction (status
``sending``, ``claimed_by``): on PostgreSQL with ``SELECT … FOR UPDATE SKIP LOCKED``, on
SQLite with an ``UPDATE … WHERE status = 'queued'`` whose row count says who won. The
send happens outside any transaction. A failure is retried after 1, 5 and 25 minutes;
the fourth failed attempt ends the message as ``failed`` with a reason free of personal
data. Every round first forgets the codes and link tokens that have expired (see
``portal.notifications.secrets``). A claim left by a worker that died is taken over
after ``STALE_CLAIM``; the provider gets our outbox id as ``reference`` to spot the rare
duplicate that causes.

Each step is a unit of work of its own (``portal.unit_of_work``): a claim, preparing one
message, recording one message's outcome. That is this batch job's chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from portal.accounts.models import CardAccount
from portal.audit.actions import Action
from portal.audit.service import SYSTEM, record
from portal.cases.models import CaseEventKind
from portal.cases.service import add_event
from portal.db_types import rowcount, utcnow
from portal.domain.sms import sms_text
from portal.extensions import db
from portal.integrations.channels import Channel, ChannelError, Envelope, Sent
from portal.integrations.core_banking.models import PlanEvent
from portal.integrations.registry import channels_for
from portal.links.service import record_delivery
from portal.notifications import confirmations
from portal.notifications.models import OutboxMessage, OutboxStatus
from portal.notifications.optout import unsubscribe_url
from portal.notifications.rules import BLOCK, HOLD
from portal.notifications.secrets import forget_expired_secrets, forget_secret, secret_lost
from portal.notifications.service import check_contact, note_blocked, recipient_for
from portal.unit_of_work import unit_of_work

RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=25))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
STALE_CLAIM = timedelta(minutes=15)

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    held: int = 0
    blocked: int = 0
    retried: int = 0
    failed: int = 0

    def add(self, other: DeliveryReport) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def _due(now):
    queued = and_(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.send_after <= now)
    stale = and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < now - STALE_CLAIM)
    return or_(queued, stale)


def claim_due(worker: str, batch: int) -> list[int]:
    """Claim up to ``batch`` due messages for ``worker`` (committed); return their ids."""
    now = utcnow()
    candidates = (
        select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.send_after, OutboxMessage.id).limit(batch)
    )
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        with unit_of_work():
            ids = list(session.execute(candidates.with_for_update(skip_locked=True)).scalars())
            if ids:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids))
                    .values(status=OutboxStatus.SENDING, claimed_by=worker, claimed_at=now)
                )
        return ids
    claimed: list[int] = []
    for _round in range(10):  # another worker may win every row we saw; look again
        with unit_of_work():  # end the read before writing, so SQLite never upgrades a shared lock
            ids = list(session.execute(candidates).scalars())
        if not ids:
            break
        with unit_of_work():
            for message_id in ids:
                won = rowcount(
                    session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id == message_id, _due(now))
                        .values(status=OutboxStatus.SENDING, claimed_by=worker, claimed_at=now)
                    )
                )
                if won:
                    claimed.append(message_id)
        if claimed:
            break
    return claimed


def envelope_for(message: OutboxMessage) -> Envelope:
    """What the channel needs; collection e-mails carry a List-Unsubscribe header. A
    webhook's reference is its plan event's public id: the same ``webhook-id`` on every
    attempt, so the core system can drop a repeat."""
    reference = str(message.id)
    if message.plan_event_id is not None:
        event = db.session.get(PlanEvent, message.plan_event_id)
        assert event is not None, "a webhook row points at its event (foreign key)"
        reference = event.public_id
    headers: dict[str, str] = {}
    if message.channel == "email" and message.collection and message.account_id is not None:
        headers["List-Unsubscribe"] = f"<{unsubscribe_url(message.account_id)}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    body = message.readable_body
    if message.channel == "sms":
        body = sms_text(body)  # the one place every text passes: no invisible char forces UCS-2
    return Envelope(
        reference=reference,
        to=message.recipient,
        body=body,
        subject=message.subject,
        headers=headers,
    )


def _release(message: OutboxMessage) -> None:
    message.claimed_by = None
    message.claimed_at = None


def _prepare(message: OutboxMessage, report: DeliveryReport) -> Envelope | None:
    """Re-check a claimed message just before sending; None when it must not go now."""
    account = db.session.get(CardAccount, message.account_id) if message.account_id else None
    if account is not None:
        # Always the contact on file now: a number changed since queueing gets nothing.
        recipient = recipient_for(account, message.channel)
        if not recipient:
            _fail(message, f"no {message.channel} contact on file", report)
            return None
        message.recipient = recipient
    if secret_lost(message):
        _fail(message, "its code or link expired before it could be sent", report)
        return None
    # Collection messages and confirmations are judged again as they go: a STOP reply or a
    # "no messages" choice made while one waited for contact hours is honoured.
    if account is not None and (message.collection or message.kind in confirmations.KINDS):
        decision = (
            check_contact(account, message.channel, exclude_message_id=message.id, kind=message.kind)
            if message.collection
            else confirmations.service_decision(account, message.channel)
        )
        if decision.action == BLOCK:
            note_blocked(message, decision.reason or "blocked", SYSTEM)
            report.blocked += 1
            return None
        if decision.action == HOLD:
            message.status, message.send_after, message.held_reason = (
                OutboxStatus.QUEUED,
                decision.send_at,
                decision.reason,
            )
            _release(message)
            record(
                SYSTEM,
                Action.Message.HELD,
                ("outbox_message", message.id),
                after={"send_after": decision.send_at.isoformat(), "reason": decision.reason},
            )
            report.held += 1
            return None
    return envelope_for(message)


def _fail(message: OutboxMessage, reason: str, report: DeliveryReport) -> None:
    message.status, message.last_error, message.held_reason = OutboxStatus.FAILED, reason[:500], None
    forget_secret(message)
    _release(message)
    if message.collection and message.account_id is not None:
        add_event(
            message.account_id,
            CaseEventKind.MESSAGE_FAILED,
            SYSTEM,
            {"message": message.id, "channel": message.channel, "reason": reason[:300]},
        )
    record(
        SYSTEM,
        Action.Message.FAILED,
        ("outbox_message", message.id),
        after={"attempts": message.attempts, "reason": reason[:300]},
    )
    report.failed += 1


def _succeeded(message: OutboxMessage, sent: Sent, report: DeliveryReport, channel: Channel) -> None:
    now = utcnow()
    message.status, message.sent_at, message.provider_id = OutboxStatus.SENT, now, sent.provider_id
    if not getattr(channel, "outbox_is_inbox", False):
        forget_secret(message)  # the provider has it now; the development outbox shows it until expiry
    message.held_reason = message.last_error = None
    _release(message)
    record(
        SYSTEM,
        Action.Message.SENT,
        ("outbox_message", message.id),
        after={"channel": message.channel, "kind": message.kind, "provider_id": sent.provider_id},
    )
    if message.link_id is not None:
        record_delivery(message.link_id, sent=True, delivered=sent.delivered)
    report.sent += 1


def _failed_attempt(message: OutboxMessage, error: ChannelError, report: DeliveryReport) -> None:
    if not error.transient or message.attempts >= MAX_ATTEMPTS:
        _fail(message, error.reason, report)
        return
    message.status, message.held_reason, message.last_error = OutboxStatus.QUEUED, "retry", error.reason
    message.send_after = utcnow() + RETRY_DELAYS[message.attempts - 1]
    _release(message)
    record(
        SYSTEM,
        Action.Message.RETRY,
        ("outbox_message", message.id),
        after={"attempts": message.attempts, "reason": error.reason, "next": message.send_after.isoformat()},
    )
    report.retried += 1


def deliver_message(message_id: int, worker: str, channels: Mapping[str, Channel], report: DeliveryReport) -> None:
    """Send one claimed message and record the outcome (its own units of work)."""
    with unit_of_work():  # ended before we talk to the provider: no transaction stays open
        message = db.session.get(OutboxMessage, message_id, populate_existing=True)
        if message is None or message.status != OutboxStatus.SENDING or message.claimed_by != worker:
            return
        envelope = _prepare(message, report)
    if envelope is None:
        return
    channel = channels.get(message.channel)
    try:
        if channel is None:
            raise ChannelError(f"unknown channel {message.channel[:16]}", transient=False)
        sent = channel.send(envelope)
    except ChannelError as error:
        failure: ChannelError | None = error
    except Exception as error:  # a bug in an adapter must not stop the other messages
        log.exception("channel %s crashed on outbox message %s", message.channel, message_id)
        failure = ChannelError(f"channel error ({type(error).__name__})")
    else:
        failure = None
    with unit_of_work():
        message = db.session.get(OutboxMessage, message_id, populate_existing=True)
        assert message is not None
        message.attempts += 1
        if failure is None:
            assert channel is not None
            _succeeded(message, sent, report, channel)
        else:
            _failed_attempt(message, failure, report)


def deliver_due(worker: str, batch: int = 100, channels: Mapping[str, Channel] | None = None) -> DeliveryReport:
    """Claim one batch of due messages and deliver each of them."""
    channels = channels if channels is not None else channels_for(current_app.config)
    report = DeliveryReport()
    with unit_of_work():
        forget_expired_secrets()
    ids = claim_due(worker, batch)
    report.claimed = len(ids)
    for message_id in ids:
        try:
            deliver_message(message_id, worker, channels, report)
        except Exception:
            # Leave the claim in place: it is taken over after STALE_CLAIM.
            db.session.rollback()
            log.exception("could not deliver outbox message %s", message_id)
    return report


def record_delivery_report(reference: str | None, provider_id: str | None, delivered: bool) -> bool:
    """A delivery report from the SMS provider (by our reference or its id).

    Returns False when no message matches.
    """
    query = select(OutboxMessage)
    if reference and reference.isdigit():
        query = query.where(OutboxMessage.id == int(reference))
    elif provider_id:
        query = query.where(OutboxMessage.provider_id == provider_id[:128])
    else:
        return False
    message = db.session.execute(query).scalars().first()
    if message is None or message.status != OutboxStatus.SENT:
        return False
    if delivered and message.link_id is not None:
        record_delivery(message.link_id, sent=False, delivered=True)
    record(
        SYSTEM, Action.Message.DELIVERED if delivered else Action.Message.UNDELIVERED, ("outbox_message", message.id)
    )
    db.session.flush()
    return True
