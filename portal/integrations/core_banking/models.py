"""What the API remembers between calls: the messages it has accepted (to refuse a replay)
and the answers it gave per ``Idempotency-Key`` (to give them again)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import Model


class ApiMessage(Model):
    """A ``webhook-id`` the API accepted. Its primary key makes a replay (or two copies
    racing) fail to insert; rows older than twice the signature window are pruned, when
    their message's timestamp can no longer pass the window anyway."""

    __tablename__ = "api_messages"

    webhook_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class IdempotencyRecord(Model):
    """The answer given to the first call with a key, kept (at least) 24 hours.

    ``request_digest`` covers the method, path and body bytes: the same key with anything
    else is a conflict. ``status`` is NULL only while the first call runs, in its own
    uncommitted transaction; a concurrent call with the key waits on the UNIQUE key."""

    __tablename__ = "api_idempotency_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(255))
    status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
