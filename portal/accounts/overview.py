"""What the account page shows besides the account, as two small read-only rows.

The sign-in loader fetches a page's declared relationships with the account in its one
query (``portal.auth.account_loads``). Each eager relationship costs the ORM a join to
set up and an object per row to build, whatever the page then reads, so the account page
asks for two narrow ones rather than a relationship per table with every column:

* :class:`AccountOverview`, one row per account: the cardholder's name, the newest open
  promise to pay and whether there is a plan to show (the newest plan in a shown state:
  the one ``portal.plans.progress.latest_plan`` reads);
* :class:`RecentPayment`, the payments the page lists: the newest ``RECENT_PAYMENTS``
  shown to a cardholder (``portal.accounts.service.shown_payments``), newest first.

The offer pages likewise ask for :class:`OfferHistoryPlan`: of the plans the offer engine
weighs (``portal.offers.history.counts_for_offers``), the three columns it reads.

Both are mapped over SELECTs, not tables: nothing writes through them. This module is
imported by ``portal.accounts.models`` once ``CardAccount`` exists, so that the classes
are mapped before any query configures the relationships that target them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Mapped

from portal.accounts.models import RECENT_PAYMENTS, CardAccount, Cardholder
from portal.accounts.service import newest_first, shown_payments
from portal.cases.models import Promise, PromiseState
from portal.db_types import one_of
from portal.extensions import Model
from portal.offers.history import counts_for_offers
from portal.payments.models import Payment
from portal.plans.models import Plan
from portal.plans.progress import SHOWN_STATES

__all__ = ["AccountOverview", "OfferHistoryPlan", "RecentPayment"]

_newest_open_promise = (
    select(func.max(Promise.id))
    .where(Promise.account_id == CardAccount.id, Promise.state == PromiseState.OPEN)
    .correlate(CardAccount)
    .scalar_subquery()
)
_newest_shown_plan = (
    select(func.max(Plan.id))
    .where(Plan.account_id == CardAccount.id, one_of(Plan.state, SHOWN_STATES))
    .correlate(CardAccount)
    .scalar_subquery()
)


class AccountOverview(Model):
    """One account's cardholder name, open promise and shown plan (None: no plan)."""

    __table__ = (
        select(
            CardAccount.id.label("account_id"),
            Cardholder.full_name.label("holder_name"),
            Promise.amount.label("promise_amount"),
            Promise.pay_by.label("promise_pay_by"),
            _newest_shown_plan.label("shown_plan_id"),
        )
        .join(Cardholder, Cardholder.id == CardAccount.cardholder_id)
        .outerjoin(Promise, Promise.id == _newest_open_promise)
        .subquery("account_overviews")
    )

    account_id: Mapped[int]
    holder_name: Mapped[str]
    promise_amount: Mapped[Decimal | None]
    promise_pay_by: Mapped[date | None]
    shown_plan_id: Mapped[int | None]


_ranked_payments = (
    select(
        Payment.id,
        Payment.account_id,
        Payment.paid_at,
        Payment.amount,
        Payment.status,
        func.row_number().over(partition_by=Payment.account_id, order_by=newest_first(Payment)).label("rank"),
    )
    .where(shown_payments(Payment))
    .subquery("ranked_payments")
)


class RecentPayment(Model):
    """A payment as the account page lists it: when, how much, and whether the bank took
    it back. Only the newest ``RECENT_PAYMENTS`` of an account are ever loaded."""

    __table__ = (
        select(*(column for column in _ranked_payments.c if column.key != "rank"))
        .where(_ranked_payments.c.rank <= RECENT_PAYMENTS)
        .subquery("recent_payments")
    )

    id: Mapped[int]
    account_id: Mapped[int]
    paid_at: Mapped[datetime]
    amount: Mapped[Decimal]
    status: Mapped[str]


class OfferHistoryPlan(Model):
    """A plan the offer engine weighs, as ``portal.offers.adapter.plan_history`` reads it:
    its state, and when it was accepted and ended."""

    __table__ = (
        select(Plan.id, Plan.account_id, Plan.state, Plan.accepted_at, Plan.ended_at)
        .where(counts_for_offers())
        .subquery("offer_history")
    )

    id: Mapped[int]
    account_id: Mapped[int]
    state: Mapped[str]
    accepted_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
