"""Queueing messages to cardholders. Every message is an outbox row first.

Collection messages (anything the bank sends to get paid, such as a plan link) go
through the contact rules in :mod:`portal.notifications.rules` here, when queued, and
again in :mod:`portal.notifications.delivery`, when sent. Sign-in codes are not
collection messages: the cardholder asked for them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import Integer, bindparam, literal, null, select, union_all

from portal.accounts.models import CardAccount
from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.care.models import CallAttempt
from portal.cases.models import CaseEventKind
from portal.cases.service import add_event
from portal.db_types import UTCDateTime, one_of, utcnow
from portal.extensions import db
from portal.notifications.models import SECRET_MASK, OutboxMessage, OutboxStatus
from portal.notifications.rules import BLOCK, HOLD, ContactFacts, ContactSettings, Decision, decide
from portal.plans.models import Plan, PlanState

COUNTED_STATUSES = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.SENT)
SIGNIN_CODE_LIFETIME = timedelta(minutes=5)


def signin_code_text(locale: str, bank_name: str) -> str:
    """The sign-in text in ``locale``, with the mask where the code goes."""
    with force_locale(locale):
        return gettext(
            "%(bank)s: your sign-in code is %(code)s. It expires in 5 minutes. "
            "We will never ask you for this code by phone.",
            bank=bank_name,
            code=SECRET_MASK,
        )


def queue_signin_code(
    account: CardAccount, code: str, bank_name: str, valid_until: datetime | None = None
) -> OutboxMessage:
    """Queue a sign-in code by SMS in the cardholder's language.

    A code the cardholder asked for is not a collection message: it is never held for
    contact hours or counted against contact caps. The body holds a mask; the code is
    kept beside it until sent or ``valid_until`` (default: 5 minutes, as the text says).
    """
    holder = account.cardholder
    body = signin_code_text(holder.locale, bank_name)
    now = utcnow()
    message = OutboxMessage(
        account_id=account.id,
        kind="signin_code",
        channel="sms",
        recipient=holder.phone,
        locale=holder.locale,
        body=body,
        send_after=now,
        collection=False,
        secret=code,
        secret_until=valid_until or now + SIGNIN_CODE_LIFETIME,
    )
    db.session.add(message)
    return message


def contact_settings(config: dict[str, Any] | None = None) -> ContactSettings:
    """The deployment's contact rules from the app configuration."""
    config = config if config is not None else current_app.config
    return ContactSettings(
        start=config["CONTACT_START"],
        end=config["CONTACT_END"],
        weekly_cap=config["CONTACT_WEEKLY_CAP"],
        daily_cap=config["CONTACT_DAILY_CAP"],
        daily_call_cap=config["CONTACT_DAILY_CALL_CAP"],
    )


def has_active_plan(account_id: int) -> bool:
    """A signed, running plan: collection stops while it runs (CBRC Art. 70)."""
    query = select(Plan.id).where(Plan.account_id == account_id, Plan.state == PlanState.ACTIVE).limit(1)
    return db.session.execute(query).first() is not None


def _counted_messages(messages: Any) -> tuple[Any, ...]:
    """What makes a message count toward the caps: a collection message queued, sending or
    sent (``messages``: the outbox table's columns). The one statement of it."""
    return (messages.collection.is_(True), one_of(messages.status, COUNTED_STATUSES))


def _counted_calls(calls: Any) -> tuple[Any, ...]:
    """What makes a call count toward the caps: care staff's collection call (not one the
    cardholder asked for) made after the ``since`` parameter. The one statement of it."""
    return (calls.requested.is_(False), calls.called_at > bindparam("since", type_=UTCDateTime()))


@cache
def _counted_statements() -> dict[str, Any]:
    """counted_times' statements, built once (building one and its cache key cost more
    than running it on the case file); the accounts are an expanding parameter."""
    messages = OutboxMessage.__table__.c
    calls = CallAttempt.__table__.c
    account_ids = bindparam("account_ids", expanding=True, type_=Integer)
    counted = select(messages.account_id, messages.status, messages.sent_at, messages.send_after).where(
        messages.account_id.in_(account_ids), *_counted_messages(messages)
    )
    return {
        "messages": counted,
        "messages_but": counted.where(messages.id != bindparam("exclude", type_=Integer)),
        "calls": select(calls.account_id, calls.called_at).where(
            calls.account_id.in_(account_ids), *_counted_calls(calls)
        ),
    }


def counted_times(
    account_ids: set[int], exclude_message_id: int | None = None, with_calls: bool = True
) -> dict[int, list[datetime]]:
    """Per account, when its collection contacts went or will go: messages sent at their
    send time, queued ones at their planned time, and care staff's collection calls
    (``CallAttempt``, not those the cardholder asked for) when made; the caps count them
    all (``with_calls`` False: the messages only). Two queries for many."""
    found: dict[int, list[datetime]] = defaultdict(list)
    if not account_ids:
        return found
    statements = _counted_statements()
    ids = sorted(account_ids)
    if exclude_message_id is None:
        rows = db.session.execute(statements["messages"], {"account_ids": ids})
    else:
        rows = db.session.execute(statements["messages_but"], {"account_ids": ids, "exclude": exclude_message_id})
    for account_id, status, sent_at, send_after in rows:
        found[account_id].append(_counted_at(status, sent_at, send_after))
    if not with_calls:
        return found
    since = utcnow() - timedelta(days=8)  # the caps look back 7 days at most
    for account_id, called_at in db.session.execute(statements["calls"], {"account_ids": ids, "since": since}):
        found[account_id].append(called_at)
    return found


def _counted_at(status: str, sent_at: datetime | None, send_after: datetime) -> datetime:
    """When a counted message went (sent) or will go (queued, sending)."""
    return sent_at if status == OutboxStatus.SENT and sent_at else send_after


@cache
def _one_account_contacts() -> Any:
    """One account's counted messages and care staff's collection calls since a time,
    in one statement (the case file's call panel): ``(kind, status, sent_at, send_after,
    outcome)``, kind ``message`` or ``call``, a call's time in both time columns."""
    messages = OutboxMessage.__table__.c
    calls = CallAttempt.__table__.c
    account_id = bindparam("account_id", type_=Integer)
    return union_all(
        select(
            literal("message").label("kind"),
            messages.status,
            messages.sent_at,
            messages.send_after,
            null().label("outcome"),
        ).where(messages.account_id == account_id, *_counted_messages(messages)),
        select(literal("call"), null(), calls.called_at, calls.called_at, calls.outcome).where(
            calls.account_id == account_id, *_counted_calls(calls)
        ),
    )


def account_contacts(account_id: int, since: datetime) -> tuple[list[datetime], list[tuple[datetime, str]]]:
    """One account's counted contacts, as ``counted_times`` counts them, in one query: when
    its counted messages went or will go, and care staff's collection calls after
    ``since`` with their outcomes. Read on the session's connection (no flush: the
    caller flushes what it changed)."""
    rows = db.session.connection().execute(_one_account_contacts(), {"account_id": account_id, "since": since})
    messages: list[datetime] = []
    calls: list[tuple[datetime, str]] = []
    for kind, status, sent_at, send_after, outcome in rows:
        if kind == "message":
            messages.append(_counted_at(status, sent_at, send_after))
        else:
            calls.append((sent_at, outcome))
    return messages, calls


def contact_facts(account: CardAccount, exclude_message_id: int | None = None) -> ContactFacts:
    """What the rules need: zone, flags, active plan, and when the other messages go."""
    return ContactFacts(
        time_zone=account.time_zone,
        flags=frozenset(account.flags or ()),
        has_active_plan=has_active_plan(account.id),
        others=tuple(counted_times({account.id}, exclude_message_id)[account.id]),
    )


def check_contact(
    account: CardAccount,
    channel: str,
    now: datetime | None = None,
    exclude_message_id: int | None = None,
    kind: str | None = None,
) -> Decision:
    """Apply the contact rules to one more collection message (of ``kind``) for ``account`` now."""
    return decide(channel, now or utcnow(), contact_facts(account, exclude_message_id), contact_settings(), kind)


def recipient_for(account: CardAccount, channel: str) -> str | None:
    """The phone or e-mail address on file now (never one typed by staff)."""
    holder = account.cardholder
    return holder.phone if channel == "sms" else holder.email if channel == "email" else None


def note_blocked(message: OutboxMessage, reason: str, actor: Actor) -> None:
    """Mark ``message`` blocked and put the rule on the case file, where care sees it."""
    message.status, message.blocked_reason = OutboxStatus.BLOCKED, reason
    message.held_reason = message.claimed_by = None
    message.secret = None  # a blocked message never goes: its secret is not needed
    db.session.flush()
    if message.account_id is not None:
        add_event(
            message.account_id,
            CaseEventKind.MESSAGE_BLOCKED,
            actor,
            {"message": message.id, "kind": message.kind, "channel": message.channel, "reason": reason},
        )
    record(actor, Action.Message.BLOCKED, ("outbox_message", message.id), after={"reason": reason})


def queue_collection_message(
    account: CardAccount,
    channel: str,
    kind: str,
    subject: str | None,
    body: str,
    actor: Actor,
    link_id: int | None = None,
    decision: Decision | None = None,
    secret: str | None = None,
    secret_until: datetime | None = None,
    collection: bool = True,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Queue a collection message under the contact rules; the caller commits.

    A service message (``collection=False``: a confirmation of what the cardholder did)
    comes with its own ``decision`` under the service rules, and is queued the same way.

    The message is queued to go now, held until the next allowed time, or blocked (kept
    with the rule as its reason and a ``message_blocked`` case event). A ``secret`` (a
    link token) replaces ``SECRET_MASK`` in ``body`` when sent, until ``secret_until``.
    A ``dedupe_key`` is stored on the row (unique: the caller checks it is new).
    """
    recipient = recipient_for(account, channel)
    if not recipient:
        raise ValueError(f"no {channel} contact on file")
    decision = decision or check_contact(account, channel, kind=kind)
    message = OutboxMessage(
        account_id=account.id,
        kind=kind,
        channel=channel,
        recipient=recipient,
        locale=account.cardholder.locale,
        subject=subject,
        body=body,
        status=OutboxStatus.QUEUED,
        collection=collection,
        send_after=decision.send_at,
        held_reason=decision.reason if decision.action == HOLD else None,
        link_id=link_id,
        attempts=0,
        secret=secret,
        secret_until=secret_until if secret else None,
        dedupe_key=dedupe_key,
    )
    db.session.add(message)
    db.session.flush()
    if decision.action == BLOCK:
        note_blocked(message, decision.reason or "blocked", actor)
        return message
    record(
        actor,
        Action.Message.QUEUED,
        ("outbox_message", message.id),
        after={
            "kind": kind,
            "channel": channel,
            "send_after": decision.send_at.isoformat(),
            "held_reason": message.held_reason,
        },
    )
    return message


def recent_messages(limit: int = 50) -> list[OutboxMessage]:
    """Newest first, for the development outbox page and CLI."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return list(db.session.execute(query).scalars())


def message_as_dict(message: OutboxMessage) -> dict[str, object]:
    return {
        "id": message.id,
        "kind": message.kind,
        "channel": message.channel,
        "recipient": message.recipient,
        "locale": message.locale,
        "subject": message.subject,
        "body": message.readable_body,
        "status": message.status,
        "collection": message.collection,
        "send_after": message.send_after.isoformat(),
        "held_reason": message.held_reason,
        "blocked_reason": message.blocked_reason,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "created_at": message.created_at.isoformat(),
        "account_id": message.account_id,
    }
