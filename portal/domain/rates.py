"""Interest rates: internal rate of return, annualised rates, annuity payments.

The annualised rate shown with every offer is derived from the schedule's cash flows,
never from its nominal fee: +financed amount at period 0, −each installment at periods
1..N (one period per installment, not day counts). From the monthly IRR r:

* APR (nominal annual rate) = 12 × r
* EAR (effective annual rate) = (1 + r)^12 − 1

All in Decimal: rates are shown to cardholders and stored with plans, so they must be
reproducible to the digit on every machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext

from portal.domain.money import CONTEXT, ZERO

__all__ = ["RATE_PLACES", "annualise", "annuity_payment", "irr", "IrrError"]

ONE = Decimal(1)
TWELVE = Decimal(12)
# Rates on quotes keep eight decimal places: 0.13034224 shows as 13.03 % and still
# reconciles with any independent IRR tool to the sixth place.
RATE_PLACES = Decimal("1e-8")
_TOLERANCE = Decimal("1e-12")
_MAX_NEWTON = 60
_MAX_BISECT = 200

# A run of n equal cash flows c at periods a, a+1, ..., a+n-1.
_Run = tuple[Decimal, int, int]


class IrrError(ValueError):
    """The cash flows have no internal rate of return (e.g. all of one sign)."""


def _runs(flows: Sequence[Decimal]) -> list[_Run]:
    """Compress equal consecutive flows: a 60-month level plan becomes ~3 runs."""
    runs: list[_Run] = []
    start = 0
    for k in range(1, len(flows) + 1):
        if k == len(flows) or flows[k] != flows[start]:
            if flows[start]:
                runs.append((flows[start], start, k - start))
            start = k
    return runs


def _npv_and_slope(runs: list[_Run], v: Decimal) -> tuple[Decimal, Decimal]:
    """F(v) = Σ c·v^k and dF/dv for discount factor v = 1/(1+r), run by run.

    A run's sum is geometric, G = (v^a − v^(a+n)) / (1 − v), with derivative
    G' = ((a·v^a − (a+n)·v^(a+n)) / v + G) / (1 − v). Evaluating a few runs instead of
    every period is what keeps a 60-month IRR in microseconds. Near v = 1 the
    subtraction loses digits, but 28 of them leave far more than the 1e-12 we need.
    """
    npv = ZERO
    slope = ZERO
    for c, a, n in runs:
        if n == 1:
            va = v**a
            npv += c * va
            if a:
                slope += c * a * va / v
            continue
        if v == ONE:
            npv += c * n
            slope += c * (n * (2 * a + n - 1) // 2)
            continue
        va = v**a
        vb = va * v**n
        g = (va - vb) / (ONE - v)
        npv += c * g
        slope += c * (((a * va - (a + n) * vb) / v + g) / (ONE - v))
    return npv, slope


def _newton(runs: list[_Run], weighted_time: Decimal, total: Decimal) -> Decimal | None:
    """Newton's method on F(v); None if it leaves the domain or does not settle."""
    # Start from one Newton step taken at r = 0 (v = 1): v = 1 − ΣC / Σk·C. With the
    # money-in-first, money-out-later flows of a plan F is decreasing and concave in v,
    # so from there the iterates approach the root monotonically and quadratically.
    v = ONE - total / weighted_time
    rate = ONE / v - ONE if v > ZERO else None
    for _ in range(_MAX_NEWTON):
        if rate is None:
            return None
        npv, slope = _npv_and_slope(runs, v)
        if not slope:
            return None
        v -= npv / slope
        if v <= ZERO:
            return None
        new_rate = ONE / v - ONE
        if abs(new_rate - rate) < _TOLERANCE:
            return new_rate
        rate = new_rate
    return None


def _bisect(runs: list[_Run]) -> Decimal:
    """Fallback for unusual flows: bisection on r over a bracket with a sign change."""

    def npv_at(rate: Decimal) -> Decimal:
        return _npv_and_slope(runs, ONE / (ONE + rate))[0]

    low, high = Decimal("-0.999999"), ONE
    low_sign = npv_at(low) > ZERO
    while (npv_at(high) > ZERO) == low_sign:
        high *= 2
        if high > 10**6:
            raise IrrError("cash flows have no internal rate of return")
    for _ in range(_MAX_BISECT):
        mid = (low + high) / 2
        if (npv_at(mid) > ZERO) == low_sign:
            low = mid
        else:
            high = mid
        if high - low < _TOLERANCE:
            break
    return (low + high) / 2


def irr(flows: Sequence[Decimal]) -> Decimal:
    """Periodic internal rate of return r with Σ flows[k] / (1 + r)^k = 0.

    Newton's method with a first-order initial guess, falling back to bisection; stops
    when r moves by less than 1e-12. Flows that sum to zero cost nothing: r is exactly
    0. Raises IrrError when no rate exists (all flows of one sign).
    """
    with localcontext(CONTEXT):
        if not any(f > ZERO for f in flows) or not any(f < ZERO for f in flows):
            raise IrrError("cash flows need both a positive and a negative amount")
        total = sum(flows, ZERO)
        if not total:
            return ZERO
        runs = _runs(flows)
        weighted_time = sum((c * (n * (2 * a + n - 1) // 2) for c, a, n in runs), ZERO)
        rate = _newton(runs, weighted_time, total) if weighted_time else None
        return rate if rate is not None else _bisect(runs)


def annualise(monthly_rate: Decimal) -> tuple[Decimal, Decimal]:
    """(APR, EAR) of a monthly rate, each rounded half-up to eight decimal places."""
    with localcontext(CONTEXT):
        if not monthly_rate:
            return ZERO, ZERO
        apr = (monthly_rate * TWELVE).quantize(RATE_PLACES, ROUND_HALF_UP)
        ear = ((ONE + monthly_rate) ** 12 - ONE).quantize(RATE_PLACES, ROUND_HALF_UP)
        return apr, ear


def annuity_payment(principal: Decimal, monthly_rate: Decimal, months: int) -> Decimal:
    """The unrounded level payment repaying `principal` over `months` at `monthly_rate`.

    P·i / (1 − (1 + i)^−n), or simply P / n at a zero rate.
    """
    with localcontext(CONTEXT):
        if not monthly_rate:
            return principal / months
        growth = (ONE + monthly_rate) ** months
        return principal * monthly_rate * growth / (growth - ONE)
