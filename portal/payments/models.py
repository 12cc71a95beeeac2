"""One row per money movement the core banking system reports on a card account.

Imported rows carry the references that identify their statement entry; ``import_key``
(a digest of them) is UNIQUE, so importing a file again inserts nothing. Rows recorded
before imports existed (history loaded from the core system, the demo) have no key.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ColumnElement, Date, ForeignKey, Index, String, Text, and_, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import Money, UTCDateTime, utcnow
from portal.extensions import Model

if TYPE_CHECKING:
    from portal.accounts.models import CardAccount


class Direction(StrEnum):
    CREDIT = "credit"  # money in: a repayment
    DEBIT = "debit"  # money out: a refund, or the reversal of a repayment


class PaymentStatus(StrEnum):
    POSTED = "posted"  # belongs to an account (and counts towards its plan)
    UNMATCHED = "unmatched"  # waits for care staff to assign it or mark it not ours
    NOT_OURS = "not_ours"  # care staff decided it belongs to no account here
    REVERSED = "reversed"  # the bank reversed it: it no longer counts


class PaymentSource(StrEnum):
    CAMT053 = "camt053"
    CAMT054 = "camt054"
    CSV = "csv"
    API = "api"
    CORE = "core"  # history from the core system recorded before imports (and the demo)


class MatchBasis(StrEnum):
    """Why a payment is (or is not) on an account."""

    ACCOUNT_REFERENCE = "account_reference"
    AGREEMENT_REFERENCE = "agreement_reference"
    NO_REFERENCE = "no_reference"  # the remittance names no account or agreement we know
    AMBIGUOUS = "ambiguous"  # it names more than one account
    OTHER_CURRENCY = "other_currency"  # it names an account kept in another currency
    ORIGINAL_NOT_FOUND = "original_not_found"  # a reversal of a payment we never received
    ASSIGNED_BY_STAFF = "assigned_by_staff"  # care staff assigned it from the review list


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(str(m.value)) for m in enum)})"


class Payment(Model):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
        CheckConstraint(_in("direction", Direction), name="direction_known"),
        CheckConstraint(_in("status", PaymentStatus), name="status_known"),
        CheckConstraint(_in("source", PaymentSource), name="source_known"),
        CheckConstraint(f"match_basis IS NULL OR {_in('match_basis', MatchBasis)}", name="match_basis_known"),
        # A posted payment belongs to an account; an unmatched one cannot.
        CheckConstraint("status <> 'posted' OR account_id IS NOT NULL", name="posted_has_account"),
        CheckConstraint("status <> 'unmatched' OR account_id IS NULL", name="unmatched_has_no_account"),
        # The care review list reads the unmatched few; an index over every status would
        # cost each of 100,000 imported rows an entry for nothing.
        Index(
            "ix_payments_unmatched",
            "created_at",
            sqlite_where=text("status = 'unmatched'"),
            postgresql_where=text("status = 'unmatched'"),
        ),
        Index("ix_payments_end_to_end_id", "end_to_end_id"),
        # The reports' money recovered per day (portal.reporting.aggregate).
        Index("ix_payments_booking_date", "booking_date"),
        # The same payment reported by a camt.054 and again by the camt.053 (or by the API)
        # is found by the bank's own reference (portal.payments.service).
        Index("ix_payments_bank_reference", "bank_reference"),
        # The core system's payment id, for a payment it sent by the API: one payment each.
        Index(
            "uq_payments_api_payment_id",
            "entry_reference",
            unique=True,
            sqlite_where=text("source = 'api'"),
            postgresql_where=text("source = 'api'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("card_accounts.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), index=True)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the bank booked it
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(6), default=Direction.CREDIT)
    status: Mapped[str] = mapped_column(String(12), default=PaymentStatus.POSTED)
    source: Mapped[str] = mapped_column(String(8), default=PaymentSource.CORE)
    match_basis: Mapped[str | None] = mapped_column(String(24))
    booking_date: Mapped[date] = mapped_column(Date)
    value_date: Mapped[date | None] = mapped_column(Date)
    # The statement (or notification) and entry that reported it, as the bank wrote them.
    statement_id: Mapped[str | None] = mapped_column(String(35))
    entry_reference: Mapped[str | None] = mapped_column(String(35))
    end_to_end_id: Mapped[str | None] = mapped_column(String(35))
    bank_reference: Mapped[str | None] = mapped_column(String(35))  # the bank's AcctSvcrRef
    import_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    remittance: Mapped[str | None] = mapped_column(Text)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[CardAccount | None] = relationship(back_populates="payments")


def counts_as_repayment() -> ColumnElement[bool]:
    """The SQL form of "money in that still counts": posted, a credit, not a reversal.
    Pages, the case file and plan allocation all use this one definition."""
    return and_(
        Payment.status == PaymentStatus.POSTED,
        Payment.direction == Direction.CREDIT,
        Payment.reverses_id.is_(None),
    )
