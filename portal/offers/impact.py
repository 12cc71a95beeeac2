"""Impact preview: how many accounts a policy would offer each plan type, and their balance.

Computed in ONE SQL query per policy over every account in the policy's currency (one
scan, GROUP BY tier), so it scales to the whole portfolio. What the SQL counts, exactly:

An account is *eligible* when it is in the policy's currency, at least 1 day past due,
owes more than 0, has none of the policy's blocking flags, has no open plan (pending
approval, pending signature or active), has no plan broken within ``cooldown_days``
before now, and is within the limits on new plans after a broken one (``portal.domain.reage``):
fewer than ``max_new_plans_12_months`` plans accepted in the 12 months before now, and
fewer than ``max_new_plans_5_years`` in the 5 years before now, after the account's first
broken plan. Its *tier* is the first tier whose DPD range holds its days past due and
whose balance band holds its balance (``OfferPolicy.tier_for``).

It counts for a *plan type* of that tier when the tier allows the type, the balance is in
the type's band, and this approximation of the minimum payment holds (computed exactly,
with whole-number ratios, but without building a schedule):

* installment: the principal part at the shortest tenor, balance × (1 − min down
  payment) ÷ shortest tenor, is at least the minimum installment (fees or interest,
  which only add to a payment, and rounding of the last part are left out);
* relief: something is left after the fee waiver: balance − max fee waiver × (fees +
  late fees) > 0 (the payment is at least the policy minimum by construction);
* settlement: the one-payment settlement, balance × (1 − max discount), is at least the
  minimum payment;
* personalised: the balance after the fee waiver is at least one minimum installment.

Differences from ``offers_for``: the cool-down and the re-ageing windows compare instants
(now − days, now − 12 or 60 calendar months of UTC dates) rather than the cardholder's
local calendar dates, and the per-account rounding above is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, and_, case, false, func, literal, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from portal.accounts import sql as account_sql
from portal.accounts.models import CardAccount
from portal.db_types import Money, one_of
from portal.domain.dates import add_months
from portal.domain.money import minor_unit
from portal.domain.policy import OfferPolicy, Tier
from portal.plans.models import OPEN_STATES, Plan, PlanState
from portal.replica import report_session

__all__ = ["PLAN_TYPES", "Impact", "TierImpact", "preview"]

PLAN_TYPES = ("installment", "relief", "settlement", "personalised")
ZERO = Decimal(0)
_INELIGIBLE, _NO_TIER = -1, -2


@dataclass(frozen=True)
class Count:
    accounts: int = 0
    balance: Decimal = ZERO


@dataclass(frozen=True)
class TierImpact:
    name: str
    min_dpd: int
    max_dpd: int | None
    eligible: Count
    plans: dict[str, Count]
    band: tuple[Decimal, Decimal | None] | None = None  # (from, below) when the tier has a balance band


@dataclass(frozen=True)
class Impact:
    """The preview of one policy: per tier (policy order) and plan type."""

    currency: str
    tiers: list[TierImpact]
    ineligible: Count  # accounts of the currency that get no offer at all (any reason)
    no_tier: Count = field(default_factory=Count)  # eligible but outside every tier (invalid policy)

    @property
    def total(self) -> Count:
        parts = [t.eligible for t in self.tiers] + [self.ineligible, self.no_tier]
        return Count(sum(p.accounts for p in parts), sum((p.balance for p in parts), ZERO))

    def tier(self, name: str) -> TierImpact | None:
        return next((t for t in self.tiers if t.name == name), None)


def _ratio(fraction: Decimal) -> tuple[int, int]:
    numerator, denominator = fraction.as_integer_ratio()
    return numerator, denominator


def _int(value: int) -> ColumnElement[int]:
    return literal(value, Integer())


def _amount(value: Decimal) -> ColumnElement[Decimal]:
    # Bound through the Money type, so on SQLite it is scaled like the stored columns.
    return literal(value, Money())


def _offered(
    plan: str, tier: Tier, balance: ColumnElement[Any], fees: ColumnElement[Any], unit: Decimal
) -> ColumnElement[bool]:
    """The plan type's condition inside ``tier`` (see the module notes)."""
    lim = getattr(tier, plan)
    if not lim.allowed:
        return false()
    band = [balance >= _amount(lim.min_balance)]
    if lim.max_balance is not None:
        band.append(balance <= _amount(lim.max_balance))
    if plan == "installment":
        if not lim.tenors:
            return false()
        p, q = _ratio(lim.min_down_payment)
        floor = max(lim.min_installment, unit)
        band.append(balance * _int(q - p) >= _amount(floor * q * min(lim.tenors)))
    elif plan == "relief":
        p, q = _ratio(lim.max_fee_waiver)
        band.append(balance * _int(q) - fees * _int(p) > _amount(ZERO))
    elif plan == "settlement":
        p, q = _ratio(lim.max_discount)
        band.append(balance * _int(q - p) >= _amount(max(lim.min_payment, unit) * q))
    else:
        p, q = _ratio(lim.max_fee_waiver)
        band.append(balance * _int(q) - fees * _int(p) >= _amount(max(lim.min_installment, unit) * q))
    return and_(*band)


def _months_before(now: datetime, months: int) -> datetime:
    return datetime.combine(add_months(now.date(), -months), now.timetz())


def _new_plans_after_broken(now: datetime) -> Any:
    """Per account with a broken plan: how many plans were accepted after its first broken
    plan, in the 12 months and in the 5 years before ``now`` (the re-ageing counts)."""
    first = (
        select(Plan.account_id.label("account_id"), func.min(Plan.ended_at).label("first_broken"))
        .where(Plan.state == PlanState.BROKEN)
        .group_by(Plan.account_id)
        .subquery()
    )
    later = aliased(Plan)
    year, five = _months_before(now, 12), _months_before(now, 60)
    return (
        select(
            later.account_id.label("account_id"),
            func.sum(case((later.accepted_at > year, 1), else_=0)).label("in_12_months"),
            func.sum(case((later.accepted_at > five, 1), else_=0)).label("in_5_years"),
        )
        .join(first, first.c.account_id == later.account_id)
        .where(later.accepted_at > first.c.first_broken)
        .group_by(later.account_id)
        .subquery()
    )


def _query(policy: OfferPolicy, now: datetime, dialect: str) -> Any:
    a = CardAccount
    unit = minor_unit(policy.currency)
    cutoff = now - timedelta(days=policy.cooldown_days)
    # One row per account with plans: does it have an open plan / a recently broken one.
    plans = (
        select(
            Plan.account_id.label("account_id"),
            func.max(case((one_of(Plan.state, OPEN_STATES), 1), else_=0)).label("open"),
            func.max(case((and_(Plan.state == PlanState.BROKEN, Plan.ended_at > cutoff), 1), else_=0)).label("cooling"),
        )
        .group_by(Plan.account_id)
        .subquery()
    )
    reaged = _new_plans_after_broken(now)
    balance = account_sql.balance(a)
    accounts = (
        select(
            a.days_past_due.label("days_past_due"),
            balance.label("balance"),
            account_sql.waivable_fees(a).label("fees"),
            and_(
                a.days_past_due >= 1,
                balance > _amount(ZERO),
                ~account_sql.has_any_flag(policy.blocking_flags, dialect, a),
                func.coalesce(plans.c.open, 0) == 0,
                func.coalesce(plans.c.cooling, 0) == 0,
                func.coalesce(reaged.c.in_12_months, 0) < _int(policy.max_new_plans_12_months),
                func.coalesce(reaged.c.in_5_years, 0) < _int(policy.max_new_plans_5_years),
            ).label("eligible"),
        )
        .select_from(a)
        .outerjoin(plans, plans.c.account_id == a.id)
        .outerjoin(reaged, reaged.c.account_id == a.id)
        .where(a.currency == policy.currency)
        .offset(0)
        .subquery()
    )
    # OFFSET 0 keeps each level a separate step (PostgreSQL would otherwise inline it and
    # recompute the balance sum at every reference); the levels each compute once per row.
    amount, fees = accounts.c.balance, accounts.c.fees
    ranges = [account_sql.in_tier(t, accounts.c, amount) for t in policy.tiers]
    columns: list[Any] = [
        case(
            (~accounts.c.eligible, _INELIGIBLE),
            else_=account_sql.tier_index(policy.tiers, accounts.c, _NO_TIER, amount),
        ).label("tier"),
        amount,
    ]
    for plan in PLAN_TYPES:
        # 1 when the account's tier (tested in policy order, like OfferPolicy.tier_for)
        # offers this plan type to it, else 0.
        whens = [
            (r, case((_offered(plan, t, amount, fees, unit), 1), else_=0))
            for r, t in zip(ranges, policy.tiers, strict=True)
            if getattr(t, plan).allowed
        ]
        columns.append((case(*whens, else_=0) if whens else literal(0, Integer())).label(plan))
    hits = select(*columns).offset(0).subquery()
    totals: list[Any] = [hits.c.tier, func.count().label("accounts"), func.sum(hits.c.balance).label("balance")]
    for plan in PLAN_TYPES:
        totals += [
            func.sum(hits.c[plan]).label(f"{plan}_accounts"),
            func.sum(case((hits.c[plan] == 1, hits.c.balance))).label(f"{plan}_balance"),
        ]
    return select(*totals).group_by(hits.c.tier)


def preview(policy: OfferPolicy, now: datetime) -> Impact:
    """Run the impact query for ``policy`` at ``now`` (see the module notes), on the read
    replica when there is one: a preview a moment behind the primary misleads nobody."""
    reads = report_session()
    dialect = reads.get_bind().dialect.name
    rows = {row.tier: row for row in reads.execute(_query(policy, now, dialect))}

    def count(row: Any, prefix: str = "") -> Count:
        if row is None:
            return Count()
        return Count(getattr(row, f"{prefix}accounts") or 0, getattr(row, f"{prefix}balance") or ZERO)

    tiers = []
    for i, tier in enumerate(policy.tiers):
        row = rows.get(i)
        tiers.append(
            TierImpact(
                tier.name,
                tier.min_dpd,
                tier.max_dpd,
                count(row),
                {plan: count(row, f"{plan}_") for plan in PLAN_TYPES},
                (tier.balance_from, tier.balance_below) if tier.banded else None,
            )
        )
    return Impact(policy.currency, tiers, count(rows.get(_INELIGIBLE)), count(rows.get(_NO_TIER)))


@dataclass(frozen=True)
class ComparisonRow:
    """One line of the preview table: a tier's eligible accounts (plan None) or one plan type."""

    tier: str
    dpd: tuple[int, int | None] | None
    plan: str | None
    current: Count | None  # None: the active version has no such tier
    proposed: Count | None  # None: the proposed version has no such tier
    band: tuple[Decimal, Decimal | None] | None = None  # the tier's balance band, if any

    @property
    def changed(self) -> bool:
        return self.current != self.proposed

    @property
    def account_change(self) -> int:
        return (self.proposed.accounts if self.proposed else 0) - (self.current.accounts if self.current else 0)


def compare(proposed: Impact, current: Impact | None) -> list[ComparisonRow]:
    """Rows for each tier of either policy (proposed order first), tier total then types."""
    names = [t.name for t in proposed.tiers]
    names += [t.name for t in (current.tiers if current else []) if t.name not in names]
    rows = []
    for name in names:
        new, old = proposed.tier(name), current.tier(name) if current else None
        shape = new or old
        assert shape is not None
        rows.append(
            ComparisonRow(
                name,
                (shape.min_dpd, shape.max_dpd),
                None,
                old.eligible if old else None,
                new.eligible if new else None,
                shape.band,
            )
        )
        rows += [
            ComparisonRow(name, None, plan, old.plans[plan] if old else None, new.plans[plan] if new else None)
            for plan in PLAN_TYPES
        ]
    return rows
