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

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from itertools import groupby

from portal.domain.money import CONTEXT, ZERO

__all__ = ["RATE_PLACES", "IrrError", "annualise", "annuity_payment", "irr", "loan_irr"]

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


def _runs(flows: Iterable[Decimal], first_period: int = 0) -> list[_Run]:
    """Compress equal consecutive flows: a 60-month level plan becomes ~3 runs.

    Zero flows are dropped, so runs are in period order but not always adjacent.
    """
    runs: list[_Run] = []
    period = first_period
    for value, group in groupby(flows):  # groupby and list() scan in C
        count = len(list(group))
        if value:
            runs.append((value, period, count))
        period += count
    return runs


def _sum_k(a: int, n: int) -> int:
    """a + (a+1) + ... + (a+n-1)."""
    return n * (2 * a + n - 1) // 2


def _sum_kk1(a: int, n: int) -> int:
    """Σ k(k−1) for k = a..a+n−1, i.e. Σ k² − Σ k (exact integers)."""
    b = a + n - 1
    squares = (b * (b + 1) * (2 * b + 1) - (a - 1) * a * (2 * a - 1)) // 6
    return squares - _sum_k(a, n)


def _npv_and_slope(runs: list[_Run], v: Decimal) -> tuple[Decimal, Decimal]:
    """F(v) = Σ c·v^k and dF/dv for discount factor v = 1/(1+r), run by run.

    A run's sum is geometric, G = (v^a − v^(a+n)) / (1 − v), with derivative
    G' = ((a·v^a − (a+n)·v^(a+n)) / v + G) / (1 − v). Evaluating a few runs instead of
    every period is what keeps a 60-month IRR in microseconds. Near v = 1 the
    subtraction loses digits, but 28 of them leave far more than the 1e-12 we need.
    """
    npv = ZERO
    slope = ZERO
    power = ONE  # v ** at, carried from run to run so each run costs one power
    at = 0
    for c, a, n in runs:
        if a != at:
            power *= v if a - at == 1 else v ** (a - at)
            at = a
        if n == 1:
            npv += c * power
            if a:
                slope += c * a * power / v
            continue
        if v == ONE:
            npv += c * n
            slope += c * _sum_k(a, n)
            continue
        end = power * v**n
        g = (power - end) / (ONE - v)
        npv += c * g
        slope += c * (((a * power - (a + n) * end) / v + g) / (ONE - v))
        power, at = end, a + n
    return npv, slope


def _first_guess(s0: Decimal, s1: Decimal, s2: Decimal) -> Decimal:
    """A starting discount factor from the quadratic Taylor expansion of F at v = 1.

    With u = v − 1: F ≈ S0 + S1·u + S2·u²/2 where S0 = Σc, S1 = Σk·c, S2 = Σk(k−1)·c
    (exact sums over the runs). Its root nearest 0 is within ~1e-6 of the answer for
    card plans, which saves a Newton step or two.
    """
    discriminant = s1 * s1 - 2 * s0 * s2
    if not s2 or discriminant < ZERO:
        return ONE - s0 / s1
    # The cancellation-free form of the smaller root of S2/2·u² + S1·u + S0 = 0.
    root = discriminant.sqrt()
    return ONE - 2 * s0 / (s1 + root if s1 > ZERO else s1 - root)


def _newton(runs: list[_Run], v: Decimal) -> Decimal | None:
    """Newton's method on F(v) from `v`; None if it leaves v > 0 or does not settle.

    With money-in-first, money-out-later flows F is decreasing and concave in v, so
    after the first step the iterates approach the root monotonically from one side,
    quadratically.
    """
    for _ in range(_MAX_NEWTON):
        if v <= ZERO:
            return None
        npv, slope = _npv_and_slope(runs, v)
        if not slope:
            return None
        step = npv / slope
        new_v = v - step
        if new_v <= ZERO:
            return None
        # Stop once the RATE r = 1/v − 1 moves by less than the tolerance; that move
        # is step / (v · new_v), compared here without dividing.
        if abs(step) < _TOLERANCE * v * new_v:
            return ONE / new_v - ONE
        v = new_v
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


def _solve(runs: list[_Run]) -> Decimal:
    s0 = s1 = s2 = ZERO
    positive = negative = False
    for c, a, n in runs:
        positive = positive or c > ZERO
        negative = negative or c < ZERO
        s0 += c * n
        s1 += c * _sum_k(a, n)
        s2 += c * _sum_kk1(a, n)
    if not (positive and negative):
        raise IrrError("cash flows need both a positive and a negative amount")
    if not s0:
        return ZERO  # costs nothing: exactly 0, not a tiny iterate
    rate = _newton(runs, _first_guess(s0, s1, s2)) if s1 else None
    return rate if rate is not None else _bisect(runs)


def irr(flows: Sequence[Decimal]) -> Decimal:
    """Periodic internal rate of return r with Σ flows[k] / (1 + r)^k = 0.

    Newton's method from a second-order initial guess, falling back to bisection;
    stops when r moves by less than 1e-12. Flows that sum to zero cost nothing: r is
    exactly 0. Raises IrrError when no rate exists (all flows of one sign).
    """
    with localcontext(CONTEXT):
        return _solve(_runs(flows))


def loan_irr(principal: Decimal, payments: Iterable[Decimal]) -> Decimal:
    """`irr([principal, -p1, -p2, ...])` without building the negated list.

    The shape of every plan: the financed amount at period 0, payments at 1..N.
    """
    with localcontext(CONTEXT):
        runs = [(principal, 0, 1)]
        runs.extend((-c, a, n) for c, a, n in _runs(payments, 1))
        return _solve(runs)


def annualise(monthly_rate: Decimal) -> tuple[Decimal, Decimal]:
    """(APR, EAR) of a monthly rate, each rounded half-up to eight decimal places."""
    with localcontext(CONTEXT):
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
