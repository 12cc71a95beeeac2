"""Plan events: what the core banking system is told about a plan, kept as data.

One row per event, with a stable public id (``evt_…``) that is the webhook's
``webhook-id`` on every attempt and the ``event_id`` column of the daily file, so the
receiver de-duplicates by it. ``data`` holds only references and amounts (decimal
strings): never a name, a phone number, an e-mail address or a card number.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, sql_values, utcnow
from portal.extensions import Model


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
