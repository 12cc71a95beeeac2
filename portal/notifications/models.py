"""The outbox: every message to a cardholder is a row here before it is sent.

Life of a row: ``queued`` (``send_after`` says when; ``held_reason`` says why it waits)
→ ``sending`` (claimed by one worker) → ``sent``, or back to ``queued`` for a retry, or
``failed`` after the last attempt (for a webhook to the core system that is its dead
letter, which staff can requeue). A collection message that the contact rules forbid
ends ``blocked`` with ``blocked_reason``.

A sign-in code or a plan-link token is never part of ``body``: the body holds
:data:`SECRET_MASK` in its place and the secret sits in ``secret`` only as long as it is
needed: until a real channel has sent it, or until ``secret_until`` (the code's or the
link's expiry), whichever comes first (see ``portal.notifications.secrets``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, sql_values, utcnow
from portal.extensions import Model

SECRET_MASK = "••••••"  # noqa: S105 - what a body shows where its code or token was


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"


_STATUS_LIST = sql_values(OutboxStatus)


class OutboxMessage(Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_status_send_after", "status", "send_after"),
        Index("ix_outbox_account_collection", "account_id", "collection"),
        CheckConstraint(f"status IN ({_STATUS_LIST})", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("card_accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # signin_code, plan_link, ...
    channel: Mapped[str] = mapped_column(String(16))  # sms, email
    recipient: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    # Collection messages obey the contact rules; messages the cardholder asked for do not.
    collection: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    held_reason: Mapped[str | None] = mapped_column(String(32))  # outside_hours, retry
    blocked_reason: Mapped[str | None] = mapped_column(String(32))  # the contact rule
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_id: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))  # never personal data
    link_id: Mapped[int | None] = mapped_column(ForeignKey("plan_links.id"), index=True)
    # The code or token that replaces SECRET_MASK in the body when sent; None once forgotten.
    secret: Mapped[str | None] = mapped_column(String(128))
    secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # A message the daily run may queue twice (a reminder, the message after a broken
    # plan) carries a key naming what it is about; the second insert is skipped.
    dedupe_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    # A webhook to the core banking system carries one plan event (channel ``webhook``).
    plan_event_id: Mapped[int | None] = mapped_column(ForeignKey("plan_events.id"), index=True)

    @property
    def readable_body(self) -> str:
        """The body as the recipient reads it: with the secret while it is kept and valid."""
        if self.secret and self.secret_until and utcnow() < self.secret_until:
            return self.body.replace(SECRET_MASK, self.secret, 1)
        return self.body
