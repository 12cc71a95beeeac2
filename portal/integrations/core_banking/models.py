"""What the core banking system and the portal keep about each other.

- ``ApiMessage`` and ``IdempotencyRecord``: what the API remembers between calls, the
  messages it has accepted (to refuse a replay) and the answers it gave per
  ``Idempotency-Key`` (to give them again).
- ``PlanEvent``: what the core system is told about a plan, kept as data. One row per
  event, with a stable public id (``evt_…``) that is the webhook's ``webhook-id`` on every
  attempt and the ``event_id`` column of the daily file, so the receiver de-duplicates by
  it. ``data`` holds only references and amounts (decimal strings): never a name, a phone
  number, an e-mail address or a card number.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, sql_values, utcnow
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


class PlanEventKind(StrEnum):
    ACCEPTED = "accepted"
    INSTALLMENT_PAID = "installment_paid"
    BROKEN = "broken"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


_KIND_LIST = sql_values(PlanEventKind)


class PlanEvent(Model):
    __tablename__ = "plan_events"
    __table_args__ = (
        CheckConstraint(f"event IN ({_KIND_LIST})", name="event_known"),
        CheckConstraint(
            "(event = 'installment_paid') = (installment_number IS NOT NULL)", name="installment_only_when_paid"
        ),
        # An installment is announced paid once, however often a reversal un-pays it.
        UniqueConstraint("plan_id", "event", "installment_number", name="uq_plan_events_once"),
        Index("ix_plan_events_occurred_at", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_accounts.id"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    installment_number: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def webhook_type(self) -> str:
        """The Standard Webhooks ``type``: ``plan.accepted``, ``plan.installment_paid``, …"""
        return f"plan.{self.event}"
