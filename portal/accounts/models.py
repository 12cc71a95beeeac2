"""Cardholders and their card accounts (the payments on them live in ``portal.payments``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.accounts import lookup_keys
from portal.db_types import Money, UTCDateTime, utcnow
from portal.extensions import Model
from portal.security import birth_date_hash

if TYPE_CHECKING:
    from portal.accounts.overview import AccountOverview, OfferHistoryPlan, RecentPayment
    from portal.payments.models import Payment

RECENT_PAYMENTS = 5  # how many payments the account page lists


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
    # What the account page shows besides the account (portal.accounts.overview), as
    # relationships so that the sign-in loader can fetch them with the account in one
    # query when the page asks (portal.auth.account_loads); read-only, narrow, and
    # limited per account in SQL.
    overview: Mapped[AccountOverview] = relationship(
        "AccountOverview",
        primaryjoin="AccountOverview.account_id == CardAccount.id",
        foreign_keys="AccountOverview.account_id",
        uselist=False,
        viewonly=True,
    )
    recent_payments: Mapped[list[RecentPayment]] = relationship(
        "RecentPayment",
        primaryjoin="RecentPayment.account_id == CardAccount.id",
        foreign_keys="RecentPayment.account_id",
        order_by="(RecentPayment.paid_at.desc(), RecentPayment.id.desc())",
        viewonly=True,
    )
    # The plans the offer engine weighs (portal.offers.adapter.plan_history), for the
    # offer pages to fetch with the account rather than by a query of their own.
    offer_history: Mapped[list[OfferHistoryPlan]] = relationship(
        "OfferHistoryPlan",
        primaryjoin="OfferHistoryPlan.account_id == CardAccount.id",
        foreign_keys="OfferHistoryPlan.account_id",
        viewonly=True,
    )

    @property
    def balance(self) -> Decimal:
        return self.principal + self.interest + self.fees + self.late_fees


# Mapped over SELECTs that need CardAccount and the other tables: imported once both exist,
# so that they are mapped before any query configures CardAccount's relationships.
from portal.accounts import overview  # noqa: E402, F401
