"""Cardholders and their card accounts (the payments on them live in ``portal.payments``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ColumnElement, Date, ForeignKey, Index, Integer, String, func, select
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship, validates

from portal.accounts import lookup_keys
from portal.db_types import Money, UTCDateTime, utcnow
from portal.extensions import Model
from portal.security import birth_date_hash

if TYPE_CHECKING:
    from portal.cases.models import Promise
    from portal.payments.models import Payment
    from portal.plans.models import Plan

RECENT_PAYMENTS = 5  # how many payments the account page lists


# The targets of CardAccount's row-limited relationships (below): built once, when the
# mappers are configured, since each needs the other models and one aliased subquery for
# its join.


@cache
def _recent_payments() -> tuple[Any, ColumnElement[bool], tuple[Any, ...]]:
    from portal.accounts.service import newest_first, shown_payments
    from portal.payments.models import Payment

    rank = func.row_number().over(partition_by=Payment.account_id, order_by=newest_first(Payment))
    ranked = select(Payment, rank.label("rank")).where(shown_payments(Payment)).subquery()
    target = aliased(Payment, ranked)
    return target, (target.account_id == CardAccount.id) & (ranked.c.rank <= RECENT_PAYMENTS), newest_first(target)


@cache
def _open_promise() -> tuple[Any, ColumnElement[bool]]:
    from portal.cases.models import Promise, PromiseState

    rank = func.row_number().over(partition_by=Promise.account_id, order_by=Promise.id.desc())
    ranked = select(Promise, rank.label("rank")).where(Promise.state == PromiseState.OPEN).subquery()
    target = aliased(Promise, ranked)
    return target, (target.account_id == CardAccount.id) & (ranked.c.rank == 1)


@cache
def _offer_history() -> tuple[Any, ColumnElement[bool]]:
    from portal.offers.adapter import counts_for_offers
    from portal.plans.models import Plan

    return Plan, (Plan.account_id == CardAccount.id) & counts_for_offers(Plan)


@cache
def _shown_plan() -> tuple[Any, ColumnElement[bool]]:
    from portal.plans.models import Plan
    from portal.plans.progress import SHOWN_STATES

    # The plan ``portal.plans.progress.latest_plan`` reads: the newest in a shown state.
    rank = func.row_number().over(partition_by=Plan.account_id, order_by=Plan.id.desc())
    ranked = select(Plan, rank.label("rank")).where(Plan.state.in_(SHOWN_STATES)).subquery()
    target = aliased(Plan, ranked)
    return target, (target.account_id == CardAccount.id) & (ranked.c.rank == 1)


class Cardholder(Model):
    __tablename__ = "cardholders"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    # Only the keyed hash (``portal.security.birth_date_hash``): sign-in and care search
    # compare dates of birth, no screen shows one.
    date_of_birth_hash: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    # Look-up forms for care search (portal.accounts.lookup_keys), kept by the validators
    # below: the phone's last four digits and the e-mail address as compared.
    phone_last4: Mapped[str | None] = mapped_column(String(4), index=True)
    email_key: Mapped[str | None] = mapped_column(String(254), index=True)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    accounts: Mapped[list[CardAccount]] = relationship(back_populates="cardholder")

    @validates("phone")
    def _keep_phone_key(self, _key: str, phone: str) -> str:
        self.phone_last4 = lookup_keys.phone_last4(phone)
        return phone

    @validates("email")
    def _keep_email_key(self, _key: str, email: str | None) -> str | None:
        self.email_key = lookup_keys.email_key(email)
        return email

    @property
    def date_of_birth(self) -> date:
        raise AttributeError("only the keyed hash of a date of birth is stored")

    @date_of_birth.setter
    def date_of_birth(self, born: date) -> None:
        """Store the keyed hash of ``born`` (needs the app's ``CARD_HASH_KEY``)."""
        from flask import current_app

        self.date_of_birth_hash = birth_date_hash(born, current_app.config["CARD_HASH_KEY"])


class CardAccount(Model):
    """One card account. The full card number is never stored: only the last four
    digits and a keyed hash (see ``portal.security.card_hash``) for look-up."""

    __tablename__ = "card_accounts"
    __table_args__ = (
        CheckConstraint("credit_limit >= 0", name="credit_limit_non_negative"),
        CheckConstraint("principal >= 0", name="principal_non_negative"),
        CheckConstraint("interest >= 0", name="interest_non_negative"),
        CheckConstraint("fees >= 0", name="fees_non_negative"),
        CheckConstraint("late_fees >= 0", name="late_fees_non_negative"),
        CheckConstraint("overdue_amount >= 0", name="overdue_non_negative"),
        CheckConstraint("minimum_due >= 0", name="minimum_due_non_negative"),
        CheckConstraint("days_past_due >= 0", name="dpd_non_negative"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
        CheckConstraint("length(card_last4) = 4", name="last4_length"),
        # A country code (ISO 3166-1 alpha-2); which ones exist is configuration.
        CheckConstraint("length(jurisdiction) = 2 AND upper(jurisdiction) = jurisdiction", name="jurisdiction_code"),
        CheckConstraint("minimum_due <= principal + interest + fees + late_fees", name="minimum_due_within_balance"),
        Index("ix_card_accounts_dpd", "days_past_due"),
        # The care queue's two sorts, read backwards (portal.care.queries), and its
        # currencies and tier counts.
        Index("ix_card_accounts_queue_dpd", "days_past_due", "overdue_amount", "id"),
        Index("ix_card_accounts_queue_amount", "overdue_amount", "days_past_due", "id"),
        Index("ix_card_accounts_currency", "currency", "days_past_due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cardholder_id: Mapped[int] = mapped_column(ForeignKey("cardholders.id"), index=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    card_last4: Mapped[str] = mapped_column(String(4))
    card_hash: Mapped[str] = mapped_column(String(64), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    credit_limit: Mapped[Decimal] = mapped_column(Money())
    principal: Mapped[Decimal] = mapped_column(Money())
    interest: Mapped[Decimal] = mapped_column(Money())
    fees: Mapped[Decimal] = mapped_column(Money())
    late_fees: Mapped[Decimal] = mapped_column(Money())
    overdue_amount: Mapped[Decimal] = mapped_column(Money())
    minimum_due: Mapped[Decimal] = mapped_column(Money())
    due_date: Mapped[date] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer)
    # The day ``days_past_due`` was true on: the core system's snapshot date, or the last
    # servicing run that aged it (portal.servicing.aging). NULL: never aged nor dated.
    days_past_due_as_of: Mapped[date | None] = mapped_column(Date)
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # Where the account is serviced: its rules, regulator and phone numbers (portal.jurisdictions).
    jurisdiction: Mapped[str] = mapped_column(String(2), default="CN", server_default="CN")
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    signin_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The "as of" time of the core system's last balance snapshot (portal.api): an older
    # snapshot never overwrites a newer one. NULL until the first snapshot arrives.
    snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cardholder: Mapped[Cardholder] = relationship(back_populates="accounts")
    payments: Mapped[list[Payment]] = relationship(back_populates="account", order_by="Payment.paid_at.desc()")
    # What the account page shows besides the account, as relationships so that the
    # sign-in loader can fetch them with the account in one query when the page asks
    # (portal.auth.account_loads); read-only, and limited per account in SQL.
    recent_payments: Mapped[list[Payment]] = relationship(
        lambda: _recent_payments()[0],
        primaryjoin=lambda: _recent_payments()[1],
        order_by=lambda: _recent_payments()[2],
        viewonly=True,
    )
    open_promise: Mapped[Promise | None] = relationship(
        lambda: _open_promise()[0], primaryjoin=lambda: _open_promise()[1], uselist=False, viewonly=True
    )
    # The plans the offer engine weighs (portal.offers.adapter.plan_history), for the
    # offer pages to fetch with the account rather than by a query of their own.
    offer_history: Mapped[list[Plan]] = relationship(
        lambda: _offer_history()[0], primaryjoin=lambda: _offer_history()[1], viewonly=True
    )
    # Whether the account page has a plan to show: with the account, an account without
    # one needs no query of its own for it (most overdue accounts have none).
    shown_plan: Mapped[Plan | None] = relationship(
        lambda: _shown_plan()[0], primaryjoin=lambda: _shown_plan()[1], uselist=False, viewonly=True
    )

    @property
    def balance(self) -> Decimal:
        return self.principal + self.interest + self.fees + self.late_fees
