"""Case-file events and promises to pay."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import Money, UTCDateTime, utcnow
from portal.extensions import Model


class CaseEvent(Model):
    """One entry on an account's timeline (reason given, budget checked, promise, rating, …)."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_account_time", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_accounts.id"))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Promise(Model):
    """A promise to pay an amount by a date, without a plan."""

    __tablename__ = "promises"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    pay_by: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open, kept, broken
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
