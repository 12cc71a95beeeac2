"""Plans, their installments and the cardholder's signature evidence."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import Money, Rate, UTCDateTime, sql_values, utcnow
from portal.extensions import Model


class PlanState(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    PENDING_SIGNATURE = "pending_signature"
    ACTIVE = "active"
    COMPLETED = "completed"
    BROKEN = "broken"
    CANCELLED = "cancelled"
    DECLINED = "declined"


# States in which a plan blocks any other: only one per account, enforced by an index.
OPEN_STATES = (PlanState.PENDING_APPROVAL, PlanState.PENDING_SIGNATURE, PlanState.ACTIVE)
_OPEN_LIST = sql_values(OPEN_STATES)
_STATE_LIST = sql_values(PlanState)
# Why a supervisor declined a request, in words the cardholder is shown (journey views).
DECLINE_REASONS = (
    "income_too_low",
    "other_plan_fits",
    "need_documents",
    "account_disputed",
    "payments_too_small",
    "other",
)
_DECLINE_LIST = ", ".join(f"'{r}'" for r in DECLINE_REASONS)


class Plan(Model):
    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint(f"state IN ({_STATE_LIST})", name="state_known"),
        CheckConstraint("plan_type IN ('installment', 'relief', 'settlement', 'personalised')", name="type_known"),
        CheckConstraint("total_repaid >= 0 AND total_cost >= 0", name="totals_non_negative"),
        CheckConstraint(f"decline_reason IS NULL OR decline_reason IN ({_DECLINE_LIST})", name="decline_reason_known"),
        CheckConstraint("pause_months IS NULL OR pause_months >= 0", name="pause_non_negative"),
        CheckConstraint("proposed_monthly IS NULL OR proposed_monthly > 0", name="proposed_positive"),
        Index(
            "uq_plans_one_open_per_account",
            "account_id",
            unique=True,
            sqlite_where=text(f"state IN ({_OPEN_LIST})"),
            postgresql_where=text(f"state IN ({_OPEN_LIST})"),
        ),
        # Requests waiting for a supervisor, oldest first: the approvals page and the
        # navigation's count read only this small index (portal.care.queries).
        Index(
            "ix_plans_pending_approval",
            "created_at",
            sqlite_where=text("state = 'pending_approval'"),
            postgresql_where=text("state = 'pending_approval'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_accounts.id"), index=True)
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    plan_type: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(20))
    tier: Mapped[str] = mapped_column(String(32))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    balance_at_acceptance: Mapped[Decimal] = mapped_column(Money())
    # Principal, interest, fees and late fees as they stood when the plan was made (decimal
    # strings), so the agreement states the structure agreed, not today's figures.
    balance_parts: Mapped[dict[str, str] | None] = mapped_column(JSON)
    total_repaid: Mapped[Decimal] = mapped_column(Money())
    total_cost: Mapped[Decimal] = mapped_column(Money())
    waived: Mapped[dict[str, Any]] = mapped_column(JSON)
    apr: Mapped[Decimal] = mapped_column(Rate())
    ear: Mapped[Decimal] = mapped_column(Rate())
    locale: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16), default="self_service")  # self_service, link, care
    hardship: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # completed, broken or cancelled
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
    # A request for approval: the monthly amount the cardholder proposed, and the pause
    # (months before the first payment) and decline reason the supervisor chose.
    proposed_monthly: Mapped[Decimal | None] = mapped_column(Money())
    pause_months: Mapped[int | None] = mapped_column(Integer)
    decline_reason: Mapped[str | None] = mapped_column(String(32))

    installments: Mapped[list[PlanInstallment]] = relationship(
        back_populates="plan", order_by="PlanInstallment.number", cascade="all, delete-orphan"
    )
    signature: Mapped[Signature | None] = relationship(back_populates="plan", uselist=False)


class PlanInstallment(Model):
    __tablename__ = "plan_installments"
    __table_args__ = (
        UniqueConstraint("plan_id", "number", name="uq_plan_installments_plan_number"),
        # Reminders read only the installments due on a few dates (portal.servicing.reminders).
        Index("ix_plan_installments_due_date", "due_date"),
        CheckConstraint("principal >= 0 AND charge >= 0 AND total >= 0 AND paid >= 0", name="amounts_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    principal: Mapped[Decimal] = mapped_column(Money())
    charge: Mapped[Decimal] = mapped_column(Money())
    total: Mapped[Decimal] = mapped_column(Money())
    paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))

    plan: Mapped[Plan] = relationship(back_populates="installments")


class Signature(Model):
    """Evidence of the cardholder's electronic signature (Electronic Signature Law, ESIGN)."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), unique=True)
    typed_name: Mapped[str] = mapped_column(String(200))
    consent_version: Mapped[str] = mapped_column(String(32))
    consent_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    time_zone: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    locale: Mapped[str] = mapped_column(String(16))
    offer_fingerprint: Mapped[str] = mapped_column(String(64))

    plan: Mapped[Plan] = relationship(back_populates="signature")
