"""Checking a policy document's limits before anyone may approve it.

`validate_policy` returns every problem it finds, not just the first, so the admin form
can mark all bad fields at once. A problem names a field by dotted path in the policy as
given (`tiers[1].installment.max_monthly_fee_rate`), a stable `code` and `params`; the web
layer turns codes into translated messages. The codes:

    empty, duplicate, gap, overlap, min_above_max, negative, out_of_range,
    tenor_over_cap, rate_out_of_range, percent_out_of_range, exceeds_limit,
    too_many_decimals, unknown_currency, band_gap, band_overlap, too_long

Tiers with the same DPD range split it by balance band: the DPD coverage check counts
such a group once, and the bands inside it must run from 0 up, end to end (`band_gap`,
`band_overlap`). Tiers whose DPD ranges differ but meet are an `overlap` as before.

A plan type whose `allowed` is False is not checked further: its limits are inert.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from portal.domain.missed_payment import (
    MAX_BREAK_DAYS_LATE,
    MAX_GRACE_DAYS,
    MAX_MISSED_IN_A_ROW,
    MissedPaymentRules,
)
from portal.domain.money import ZERO, currency_places, is_known_currency
from portal.domain.policy import (
    InstallmentLimits,
    OfferPolicy,
    PersonalisedLimits,
    ReliefLimits,
    SettlementLimits,
)
from portal.domain.quote import MAX_ANNUAL_RATE, MAX_MONTHLY_FEE_RATE, MAX_SETTLEMENT_PAYMENTS
from portal.domain.reage import MAX_NEW_PLANS_5_YEARS, MAX_NEW_PLANS_12_MONTHS
from portal.domain.reminder_cadence import MAX_REMINDER_DAYS, ReminderCadence
from portal.domain.schedule import MAX_PLAN_MONTHS

__all__ = ["PROBLEM_CODES", "PolicyProblem", "validate_policy"]

PROBLEM_CODES = frozenset(
    {
        "empty",
        "duplicate",
        "gap",
        "overlap",
        "min_above_max",
        "negative",
        "out_of_range",
        "tenor_over_cap",
        "rate_out_of_range",
        "percent_out_of_range",
        "exceeds_limit",
        "too_many_decimals",
        "unknown_currency",
        "band_gap",
        "band_overlap",
        "too_long",
    }
)
# A tier's name is kept with every plan made in it and in the reports (32 characters).
MAX_TIER_NAME = 32
ONE = Decimal(1)

Param = str | int | None


@dataclass(frozen=True)
class PolicyProblem:
    """One inconsistent limit: where (`field`), what (`code`) and the figures involved."""

    field: str
    code: str
    # dataclasses.field: in this class body the name `field` is the attribute above.
    params: Mapping[str, Param] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        detail = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.field}: {self.code}" + (f" ({detail})" if detail else "")


class _Checker:
    def __init__(self, currency: str) -> None:
        self.problems: list[PolicyProblem] = []
        self.places = currency_places(currency) if is_known_currency(currency) else None

    def add(self, path: str, code: str, **params: Param) -> None:
        self.problems.append(PolicyProblem(path, code, params))

    def count(self, path: str, value: int, low: int, high: int | None = None, *, months: bool = True) -> bool:
        """Check a whole number; months above the 60-month cap get their own code
        (``months=False`` for a count of something else that happens to stop at 60)."""
        if value < 0 and low >= 0:
            self.add(path, "negative", value=value)
        elif value < low:
            self.add(path, "out_of_range", value=value, min=low, max=high)
        elif months and high == MAX_PLAN_MONTHS and value > high:
            self.add(path, "tenor_over_cap", value=value, max=high)
        elif high is not None and value > high:
            self.add(path, "out_of_range", value=value, min=low, max=high)
        else:
            return True
        return False

    def fraction(self, path: str, value: Decimal, *, below_one: bool = False) -> None:
        if value < 0 or value > ONE or (below_one and value == ONE):
            self.add(path, "percent_out_of_range", value=str(value), min="0", max="1", inclusive_max=not below_one)

    def rate(self, path: str, value: Decimal, high: Decimal) -> None:
        if value < 0 or value > high:
            self.add(path, "rate_out_of_range", value=str(value), min="0", max=str(high))

    def amount(self, path: str, value: Decimal) -> None:
        if value < 0:
            self.add(path, "negative", value=str(value))
        elif self.places is not None:
            # normalize() so that 100.50 with a trailing zero still passes for CNY.
            exponent = value.normalize().as_tuple().exponent
            if isinstance(exponent, int) and exponent < -self.places:
                self.add(path, "too_many_decimals", value=str(value), places=self.places)

    def band(self, path: str, low: Decimal, high: Decimal | None) -> None:
        self.amount(f"{path}.min_balance", low)
        if high is not None:
            self.amount(f"{path}.max_balance", high)
            if high < low:
                self.add(f"{path}.max_balance", "min_above_max", min=str(low), max=str(high))

    def at_most(self, path: str, value: object, limit_name: str, limit: object) -> None:
        if value > limit:  # type: ignore[operator]
            self.add(path, "exceeds_limit", value=str(value), limit=limit_name, max=str(limit))


def _installment(c: _Checker, p: str, lim: InstallmentLimits) -> None:
    if not lim.tenors:
        c.add(f"{p}.tenors", "empty")
    seen: set[int] = set()
    for i, tenor in enumerate(lim.tenors):
        c.count(f"{p}.tenors[{i}]", tenor, 1, MAX_PLAN_MONTHS)
        if tenor in seen:
            c.add(f"{p}.tenors[{i}]", "duplicate", value=tenor)
        seen.add(tenor)
    c.rate(f"{p}.max_monthly_fee_rate", lim.max_monthly_fee_rate, MAX_MONTHLY_FEE_RATE)
    c.rate(f"{p}.max_annual_rate", lim.max_annual_rate, MAX_ANNUAL_RATE)
    c.fraction(f"{p}.min_down_payment", lim.min_down_payment, below_one=True)
    c.amount(f"{p}.min_installment", lim.min_installment)
    c.band(p, lim.min_balance, lim.max_balance)
    if lim.needs_supervisor_above is not None:
        c.count(f"{p}.needs_supervisor_above", lim.needs_supervisor_above, 0, MAX_PLAN_MONTHS)
    if c.count(f"{p}.agent_max_tenor", lim.agent_max_tenor, 0, MAX_PLAN_MONTHS) and lim.tenors:
        c.at_most(f"{p}.agent_max_tenor", lim.agent_max_tenor, "tenors", max(lim.tenors))


def _relief(c: _Checker, p: str, lim: ReliefLimits) -> None:
    months_ok = c.count(f"{p}.max_months", lim.max_months, 1, MAX_PLAN_MONTHS)
    after_ok = c.count(f"{p}.after_months", lim.after_months, 0, MAX_PLAN_MONTHS)
    # The whole schedule, relief and after, stays within the cap.
    if months_ok and after_ok and lim.max_months + max(lim.after_months, 1) > MAX_PLAN_MONTHS:
        c.add(f"{p}.after_months", "tenor_over_cap", value=lim.after_months, max=MAX_PLAN_MONTHS - lim.max_months)
    c.rate(f"{p}.normal_annual_rate", lim.normal_annual_rate, MAX_ANNUAL_RATE)
    c.fraction(f"{p}.max_rate_cut", lim.max_rate_cut)
    c.fraction(f"{p}.max_fee_waiver", lim.max_fee_waiver)
    c.amount(f"{p}.min_payment", lim.min_payment)
    c.band(p, lim.min_balance, lim.max_balance)
    if lim.needs_supervisor_above is not None:
        c.count(f"{p}.needs_supervisor_above", lim.needs_supervisor_above, 0, MAX_PLAN_MONTHS)
    if c.count(f"{p}.agent_max_months", lim.agent_max_months, 0, MAX_PLAN_MONTHS):
        c.at_most(f"{p}.agent_max_months", lim.agent_max_months, "max_months", lim.max_months)
    c.fraction(f"{p}.agent_max_fee_waiver", lim.agent_max_fee_waiver)
    c.at_most(f"{p}.agent_max_fee_waiver", lim.agent_max_fee_waiver, "max_fee_waiver", lim.max_fee_waiver)


def _settlement(c: _Checker, p: str, lim: SettlementLimits) -> None:
    c.fraction(f"{p}.max_discount", lim.max_discount, below_one=True)
    c.count(f"{p}.deadline_days", lim.deadline_days, 0)
    c.count(f"{p}.max_payments", lim.max_payments, 1, MAX_SETTLEMENT_PAYMENTS)
    c.amount(f"{p}.min_payment", lim.min_payment)
    c.band(p, lim.min_balance, lim.max_balance)
    if lim.needs_supervisor_above is not None:
        c.fraction(f"{p}.needs_supervisor_above", lim.needs_supervisor_above)
    c.fraction(f"{p}.agent_max_discount", lim.agent_max_discount, below_one=True)
    c.at_most(f"{p}.agent_max_discount", lim.agent_max_discount, "max_discount", lim.max_discount)


def _personalised(c: _Checker, p: str, lim: PersonalisedLimits) -> None:
    c.count(f"{p}.max_tenor", lim.max_tenor, 1, MAX_PLAN_MONTHS)
    c.rate(f"{p}.max_monthly_fee_rate", lim.max_monthly_fee_rate, MAX_MONTHLY_FEE_RATE)
    c.rate(f"{p}.max_annual_rate", lim.max_annual_rate, MAX_ANNUAL_RATE)
    c.fraction(f"{p}.max_fee_waiver", lim.max_fee_waiver)
    c.amount(f"{p}.min_installment", lim.min_installment)
    c.band(p, lim.min_balance, lim.max_balance)
    # A pause leaves at least one month of payments inside the plan's length.
    c.count(f"{p}.max_pause_months", lim.max_pause_months, 0, max(lim.max_tenor - 1, 0))


def _missed_payment(c: _Checker, p: str, rules: MissedPaymentRules) -> None:
    grace_ok = c.count(f"{p}.grace_days", rules.grace_days, 0, MAX_GRACE_DAYS, months=False)
    c.count(f"{p}.break_missed_in_a_row", rules.break_missed_in_a_row, 1, MAX_MISSED_IN_A_ROW, months=False)
    late_ok = c.count(f"{p}.break_days_late", rules.break_days_late, 1, MAX_BREAK_DAYS_LATE, months=False)
    if grace_ok and late_ok:
        # A plan cannot end for lateness while the payment is still inside its grace.
        c.at_most(f"{p}.grace_days", rules.grace_days, "break_days_late", rules.break_days_late)


def _reminders(c: _Checker, p: str, cadence: ReminderCadence) -> None:
    c.count(f"{p}.days_before", cadence.days_before, 0, MAX_REMINDER_DAYS, months=False)
    c.count(f"{p}.days_after", cadence.days_after, 0, MAX_REMINDER_DAYS, months=False)


def _new_plan_limits(c: _Checker, policy: OfferPolicy) -> None:
    year_ok = c.count(
        "max_new_plans_12_months", policy.max_new_plans_12_months, 1, MAX_NEW_PLANS_12_MONTHS, months=False
    )
    five_ok = c.count("max_new_plans_5_years", policy.max_new_plans_5_years, 1, MAX_NEW_PLANS_5_YEARS, months=False)
    if year_ok and five_ok:
        # Five years hold the twelve months: a yearly limit above it could never be used.
        c.at_most(
            "max_new_plans_12_months",
            policy.max_new_plans_12_months,
            "max_new_plans_5_years",
            policy.max_new_plans_5_years,
        )


def _coverage(c: _Checker, policy: OfferPolicy) -> None:
    # Walk the tiers by min_dpd; `expected` is the first DPD not yet covered (None once
    # an open-ended tier has covered everything).
    # Tiers splitting one DPD range by balance count once here (see _bands).
    order = sorted(range(len(policy.tiers)), key=lambda i: policy.tiers[i].min_dpd)
    expected: int | None = 1
    previous = ""
    ranges: set[tuple[int, int | None]] = set()
    for i in order:
        tier = policy.tiers[i]
        path = f"tiers[{i}]"
        if (tier.min_dpd, tier.max_dpd) in ranges:
            continue
        ranges.add((tier.min_dpd, tier.max_dpd))
        # DPD below 1 is reported as out_of_range already; coverage starts at 1.
        start = max(tier.min_dpd, 1)
        if tier.max_dpd is not None and tier.max_dpd < start:
            continue  # reported as min_above_max or out_of_range; it covers nothing
        if expected is None or start < expected:
            c.add(f"{path}.min_dpd", "overlap", value=tier.min_dpd, other=previous)
        elif start > expected:
            c.add(f"{path}.min_dpd", "gap", start=expected, end=start - 1)
        if expected is not None:
            expected = None if tier.max_dpd is None else max(expected, tier.max_dpd + 1)
        previous = path
    if expected is not None and policy.tiers:
        c.add(f"tiers[{order[-1]}].max_dpd", "gap", start=expected, end=None)


def validate_policy(policy: OfferPolicy) -> list[PolicyProblem]:
    """Every inconsistency in `policy`; an empty list means it may go for approval."""
    c = _Checker(policy.currency)
    if c.places is None:
        c.add("currency", "unknown_currency", value=policy.currency)
    if not policy.tiers:
        c.add("tiers", "empty")
    names: set[str] = set()
    for i, tier in enumerate(policy.tiers):
        path = f"tiers[{i}]"
        if not tier.name.strip():
            c.add(f"{path}.name", "empty")
        elif len(tier.name) > MAX_TIER_NAME:
            c.add(f"{path}.name", "too_long", max=MAX_TIER_NAME)
        elif tier.name in names:
            c.add(f"{path}.name", "duplicate", value=tier.name)
        names.add(tier.name)
        c.count(f"{path}.min_dpd", tier.min_dpd, 1)
        if tier.max_dpd is not None and tier.max_dpd < tier.min_dpd:
            c.add(f"{path}.max_dpd", "min_above_max", min=tier.min_dpd, max=tier.max_dpd)
        c.amount(f"{path}.balance_from", tier.balance_from)
        if tier.balance_below is not None:
            c.amount(f"{path}.balance_below", tier.balance_below)
            if tier.balance_below <= tier.balance_from:
                c.add(f"{path}.balance_below", "min_above_max", min=str(tier.balance_from), max=str(tier.balance_below))
        if tier.installment.allowed:
            _installment(c, f"{path}.installment", tier.installment)
        if tier.relief.allowed:
            _relief(c, f"{path}.relief", tier.relief)
        if tier.settlement.allowed:
            _settlement(c, f"{path}.settlement", tier.settlement)
        if tier.personalised.allowed:
            _personalised(c, f"{path}.personalised", tier.personalised)
        _missed_payment(c, f"{path}.missed_payment", tier.missed_payment)
        _reminders(c, f"{path}.reminders", tier.reminders)
    _coverage(c, policy)
    _bands(c, policy)
    c.count("cooldown_days", policy.cooldown_days, 0)
    _new_plan_limits(c, policy)
    c.count("link_expiry_hours", policy.link_expiry_hours, 1)
    c.fraction("affordability_share", policy.affordability_share)
    c.count("promise_max_days", policy.promise_max_days, 1)
    c.fraction("promise_min_share", policy.promise_min_share)
    return c.problems


def _bands(c: _Checker, policy: OfferPolicy) -> None:
    """Tiers sharing a DPD range must split balances from 0 up without gap or overlap,
    so that `OfferPolicy.tier_for` finds exactly one tier for every account."""
    groups: dict[tuple[int, int | None], list[int]] = {}
    for i, tier in enumerate(policy.tiers):
        groups.setdefault((tier.min_dpd, tier.max_dpd), []).append(i)
    for (low, high), members in groups.items():
        where = {"min_dpd": low, "max_dpd": high}
        if any(
            t.balance_below is not None and t.balance_below <= t.balance_from
            for t in map(policy.tiers.__getitem__, members)
        ):
            continue  # reported as min_above_max; the band covers nothing
        members.sort(key=lambda i: (policy.tiers[i].balance_from, policy.tiers[i].balance_below is None))
        expected: Decimal | None = ZERO  # the lowest balance not yet covered (None: all are)
        previous = ""
        for i in members:
            tier, path = policy.tiers[i], f"tiers[{i}]"
            if expected is None or tier.balance_from < expected:
                c.add(f"{path}.balance_from", "band_overlap", value=str(tier.balance_from), other=previous, **where)
            elif tier.balance_from > expected:
                c.add(f"{path}.balance_from", "band_gap", start=str(expected), end=str(tier.balance_from), **where)
            if expected is not None:
                expected = None if tier.balance_below is None else max(expected, tier.balance_below)
            previous = path
        if expected is not None:
            last = members[-1]
            c.add(f"tiers[{last}].balance_below", "band_gap", start=str(expected), end=None, **where)
