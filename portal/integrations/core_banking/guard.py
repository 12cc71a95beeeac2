"""What makes a signed call safe to receive twice: replays refused, answers given again.

A **message** (``webhook-id``) is accepted once: its id is inserted in the call's own
transaction, so it is spent only if the call succeeds (a refused call changes nothing,
and the sender may send it again). A second message with the id is refused (409
``replayed``); two racing copies meet on the primary key, and the second waits for the
first to end. Ids are kept twice the signature window: after that, their timestamp
cannot pass the window anyway.

An **Idempotency-Key** names an operation the sender may retry in new messages. The
first call inserts the key (UNIQUE) before it does anything else and stores its answer
(status and JSON body) in the same transaction; a later call with the key and the same
request gets that answer again, with another request a 409. A concurrent call with the
key waits on the UNIQUE index until the first commits, then is given its answer (or, if
the first was refused and rolled back, goes ahead itself). Answers are kept
:data:`KEEP_ANSWERS` (24 hours); after that the key may be used afresh.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from portal.db_types import rowcount
from portal.extensions import db
from portal.integrations.core_banking.errors import ApiRefusal
from portal.integrations.core_banking.models import ApiMessage, IdempotencyRecord
from portal.integrations.core_banking.signatures import WINDOW

KEEP_MESSAGES = 2 * WINDOW
KEEP_ANSWERS = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def _insert_new(model: Any, values: dict[str, Any], key: str) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on ``key``: whether the row is new."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    return db.session.execute(statement).first() is not None


def accept_message(webhook_id: str, now: datetime) -> None:
    """Spend ``webhook_id`` in this transaction; refuse it if it was spent before."""
    db.session.execute(delete(ApiMessage).where(ApiMessage.received_at < now - KEEP_MESSAGES))
    if not _insert_new(ApiMessage, {"webhook_id": webhook_id, "received_at": now}, "webhook_id"):
        raise ApiRefusal(
            409,
            "replayed",
            "This webhook-id was accepted before: a message is processed once. "
            "To retry an operation, send a new message (new webhook-id and timestamp) with the same Idempotency-Key.",
        )


@dataclass(frozen=True)
class Answer:
    """A stored answer to give again."""

    status: int
    body: str


def _digest(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\x00".join((method.encode(), path.encode(), body))).hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ApiRefusal(
            400, "idempotency_key_invalid", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."
        )
    return key


def begin(key: str, method: str, path: str, body: bytes, now: datetime) -> IdempotencyRecord | Answer:
    """Claim ``key`` for this call (the record to :func:`finish`), or the answer already given."""
    digest = _digest(method, path, body)
    values = {"key": key, "request_digest": digest, "method": method, "path": path[:255], "created_at": now}
    if not _insert_new(IdempotencyRecord, values, "key"):
        found = db.session.execute(select(IdempotencyRecord).where(IdempotencyRecord.key == key)).scalar_one()
        if found.created_at >= now - KEEP_ANSWERS:
            return _stored(found, digest)
        db.session.delete(found)  # expired: the key starts afresh
        db.session.flush()
        if not _insert_new(IdempotencyRecord, values, "key"):
            raise ApiRefusal(409, "idempotency_in_progress", "A call with this Idempotency-Key is in progress.")
    return db.session.execute(select(IdempotencyRecord).where(IdempotencyRecord.key == key)).scalar_one()


def _stored(found: IdempotencyRecord, digest: str) -> Answer:
    if found.request_digest != digest:
        raise ApiRefusal(
            409,
            "idempotency_key_reused",
            "This Idempotency-Key was used for another request (another method, path or body): "
            "use a new key for a new operation.",
        )
    if found.status is None or found.response_body is None:
        raise ApiRefusal(409, "idempotency_in_progress", "A call with this Idempotency-Key is in progress.")
    return Answer(found.status, found.response_body)


def finish(record: IdempotencyRecord, status: int, body: str) -> None:
    """Store the answer to give again, in the call's transaction."""
    record.status = status
    record.response_body = body
    db.session.flush()


def prune(now: datetime) -> tuple[int, int]:
    """Delete spent message ids and answers past their keeping time; how many of each."""
    messages = db.session.execute(delete(ApiMessage).where(ApiMessage.received_at < now - KEEP_MESSAGES))
    answers = db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - KEEP_ANSWERS))
    return rowcount(messages), rowcount(answers)
