"""The report tables. The servicing run writes them (``portal.reporting.aggregate``); the
report pages read only these, never the raw events they are folded from.

``report_daily`` holds one row per day, metric and combination of the dimensions a page
can split by (tier, channel, policy version, agent, language, currency): a count and, for
the metrics that carry one, an amount (money recovered, the balance of the book, the sum
of ratings). The other tables keep what a daily count cannot: the state of each plan's
milestones and each account's time past due, month-start tiers for roll rates, and the
cardholders' comments (without card or phone numbers).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import Money, sql_values
from portal.extensions import Model


class Metric(StrEnum):
    """What a ``report_daily`` row counts (the README says what each is made of)."""

    # The funnel, in order.
    LINK_SENT = "link_sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    VERIFIED = "verified"
    OFFERS_VIEWED = "offers_viewed"
    ACCEPTED = "accepted"  # a plan accepted or a request sent
    FIRST_PAYMENT = "first_payment"
    KEPT_CYCLE_3 = "kept_cycle_3"
    COMPLETED = "completed"
    # Outcomes and guardrails.
    BROKEN = "broken"
    PROMISE_MADE = "promise_made"
    PROMISE_KEPT = "promise_kept"
    PROMISE_BROKEN = "promise_broken"
    RECOVERED = "recovered"  # count: payments; amount: their sum
    BOOK = "book"  # count: accounts past due at the run; amount: their balance
    OPT_OUT = "opt_out"
    COMPLAINT = "complaint"
    HARDSHIP_REQUEST = "hardship_request"
    RATING = "rating"  # count: ratings; amount: their sum


FUNNEL = (
    Metric.LINK_SENT,
    Metric.DELIVERED,
    Metric.OPENED,
    Metric.VERIFIED,
    Metric.OFFERS_VIEWED,
    Metric.ACCEPTED,
    Metric.FIRST_PAYMENT,
    Metric.KEPT_CYCLE_3,
    Metric.COMPLETED,
)


class ReportDaily(Model):
    __tablename__ = "report_daily"
    __table_args__ = (
        Index(
            "uq_report_daily_key",
            "day",
            "metric",
            "tier",
            "channel",
            "policy_version_id",
            "agent",
            "language",
            "currency",
            unique=True,
        ),
        CheckConstraint(f"metric IN ({sql_values(Metric)})", name="metric_known"),
        CheckConstraint("count >= 0", name="count_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    metric: Mapped[str] = mapped_column(String(24))
    tier: Mapped[str] = mapped_column(String(32), default="")  # '' when none applies
    channel: Mapped[str] = mapped_column(String(16), default="")  # sms, email, self, care, ''
    policy_version_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: none
    agent: Mapped[str] = mapped_column(String(64), default="")  # actor key of the sender, '' none
    language: Mapped[str] = mapped_column(String(16), default="")
    currency: Mapped[str] = mapped_column(String(3), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))


class ReportPlanMilestone(Model):
    """The run day on which the run first saw a plan's first payment and its first three
    installments (all of them, for a shorter plan) paid in full."""

    __tablename__ = "report_plan_milestones"

    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), primary_key=True, autoincrement=False)
    first_payment_on: Mapped[date | None] = mapped_column(Date, index=True)
    kept_cycle_3_on: Mapped[date | None] = mapped_column(Date, index=True)


class ReportPastDue(Model):
    """One spell of an account past due: from the run day that first saw it past due to the
    run day that saw it current again (``cured_on``), for the cure rate."""

    __tablename__ = "report_past_due"
    __table_args__ = (
        Index(
            "uq_report_past_due_open",
            "account_id",
            unique=True,
            sqlite_where=text("cured_on IS NULL"),
            postgresql_where=text("cured_on IS NULL"),
        ),
        Index("ix_report_past_due_started", "started_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_accounts.id"))
    currency: Mapped[str] = mapped_column(String(3))
    tier: Mapped[str] = mapped_column(String(32))
    started_on: Mapped[date] = mapped_column(Date)
    cured_on: Mapped[date | None] = mapped_column(Date)


class ReportAccountMonth(Model):
    """Each account's tier at the first run of a month, for the roll-rate matrix."""

    __tablename__ = "report_account_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    account_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    currency: Mapped[str] = mapped_column(String(3))
    tier: Mapped[str] = mapped_column(String(32))
    balance: Mapped[Decimal] = mapped_column(Money())


class ReportRoll(Model):
    """How many accounts (and how much balance) moved from one tier to another between the
    previous month's snapshot and this one's."""

    __tablename__ = "report_rolls"
    __table_args__ = (
        Index("uq_report_rolls_key", "month", "currency", "from_tier", "to_tier", unique=True),
        CheckConstraint("accounts >= 0", name="accounts_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    from_tier: Mapped[str] = mapped_column(String(32))
    to_tier: Mapped[str] = mapped_column(String(32))
    accounts: Mapped[int] = mapped_column(Integer)
    balance: Mapped[Decimal] = mapped_column(Money())


class ReportComment(Model):
    """A cardholder's rating with its comment, card and phone numbers already removed."""

    __tablename__ = "report_comments"
    __table_args__ = (
        Index("ix_report_comments_day", "day"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    step: Mapped[str] = mapped_column(String(24))  # the funnel step it was given after
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(200), default="")
    tier: Mapped[str] = mapped_column(String(32), default="")
    channel: Mapped[str] = mapped_column(String(16), default="")
    policy_version_id: Mapped[int] = mapped_column(Integer, default=0)
    language: Mapped[str] = mapped_column(String(16), default="")
