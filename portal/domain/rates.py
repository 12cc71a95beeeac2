"""Interest rates: internal rate of return, annualised rates, annuity payments.

The annualised rate shown with every offer is derived from the schedule's cash flows,
never from its nominal fee: +financed amount at period 0, −each installment at periods
1..N (one period per installment, not day counts). From the monthly IRR r:

* APR (nominal annual rate) = 12 × r
* EAR (effective annual rate) = (1 + r)^12 − 1

All in Decimal: rates are shown to cardholders and stored with plans, so they must be
reproducible to the digit on every machine. The one float in this package is the IRR's
starting point (`_binary_root`): Decimal Newton steps then settle the rate. The start
can move only digits far below 1e-20 of the unrounded `irr()`, never a rate as quotes
report it (eight places).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from itertools import groupby
from typing import TypeVar, cast

from portal.domain.money import CONTEXT, ZERO, computing_in_context

__all__ = [
    "RATE_PLACES",
    "IrrError",
    "annualise",
    "annuity_payment",
    "in_context_annuity_payment",
    "in_context_loan_apr_ear",
    "in_context_runs_apr_ear",
    "irr",
    "loan_apr_ear",
    "loan_irr",
    "payment_runs",
    "runs_of_payments",
]

ONE = Decimal(1)
TWELVE = Decimal(12)
# Rates on quotes keep eight decimal places: 0.13034224 shows as 13.03 % and still
# reconciles with any independent IRR tool to the sixth place.
RATE_PLACES = Decimal("1e-8")
_TOLERANCE = Decimal("1e-12")
_MAX_NEWTON = 60
_MAX_BINARY = 30
_MAX_BISECT = 200

# A run of n equal cash flows c at periods a, a+1, ..., a+n-1.
_Run = tuple[Decimal, int, int]
# Level flows p, c at periods 1..m, d at m+1 (`_level_shape`).
_Level = tuple[Decimal, Decimal, int, Decimal]
# `_moments` and `_first_guess` work in Decimal and, for `_binary_root`, in float.
_Num = TypeVar("_Num", Decimal, float)


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
    gap = None  # 1 − v, computed once when a run first needs it
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
        if gap is None:
            gap = ONE - v
        g = (power - end) / gap
        npv += c * g
        slope += c * (((a * power - (a + n) * end) / v + g) / gap)
        power, at = end, a + n
    return npv, slope


def _moments(runs: list[tuple[_Num, int, int]]) -> tuple[_Num, _Num, _Num]:
    """S0 = Σc, S1 = Σk·c, S2 = Σk(k−1)·c over every period k, in the flows' own type
    (Decimal or float): the index sums of each run are exact integers."""
    s0 = s1 = s2 = cast(_Num, 0)  # the integer 0 adds to a Decimal and a float alike
    for c, a, n in runs:
        b = a + n - 1
        sum_k = n * (a + b) // 2
        s0 += c * n
        s1 += c * sum_k
        s2 += c * ((b * (b + 1) * (2 * b + 1) - (a - 1) * a * (2 * a - 1)) // 6 - sum_k)
    return s0, s1, s2


def _first_guess(s0: _Num, s1: _Num, s2: _Num) -> _Num:
    """A starting discount factor from the quadratic Taylor expansion of F at v = 1.

    With u = v − 1: F ≈ S0 + S1·u + S2·u²/2 (`_moments`). One Halley step from u = 0
    on it, u = −2·S0·S1 / (2·S1² − S0·S2), is second-order accurate without a square
    root. Works on floats as well as Decimals.
    """
    denominator = 2 * s1 * s1 - s0 * s2
    if not denominator:
        return 1 - s0 / s1
    return 1 - 2 * s0 * s1 / denominator


def _level_shape(runs: list[_Run]) -> _Level | None:
    """(p, c, m, d) when the runs are p at period 0, c at periods 1..m and d (perhaps
    0) at m+1: the shape of nearly every plan's flows (`payment_runs`)."""
    if len(runs) == 2:
        (lent, at, once), (payment, first, m) = runs
        if at == 0 and once == 1 and first == 1:
            return lent, payment, m, ZERO
    elif len(runs) == 3:
        (lent, at, once), (payment, first, m), (last, end, single) = runs
        if at == 0 and once == 1 and first == 1 and end == m + 1 and single == 1:
            return lent, payment, m, last
    return None


def _binary_root(runs: list[_Run]) -> Decimal | None:
    """The discount factor to about 1e-15, found by Newton's method in binary floats.

    Only a starting point, never a result: `_newton` then takes Decimal steps from it
    until the rate moves by less than 1e-12. Once a float step is below 1e-9 the next
    iterate is as close as floats can get (quadratic convergence), so the first Decimal
    step is ~1e-15 and lands within ~1e-28 of the root: the rate is the Decimal one,
    the same to its eighth place as from any other start. A float iteration costs a
    tenth of a Decimal one, and the Decimal solver from the Taylor start needed about
    three. None when the floats overflow, leave v > 0 or do not settle; the Decimal
    iteration then starts from the Taylor guess.

    Most plans lend p at period 0 and are repaid by m equal payments c at 1..m and
    perhaps a last one d at m+1 (`payment_runs`): for that shape the moments and each
    step are closed forms, F = p + c·v(1 − v^m)/(1 − v) + d·v^(m+1), a few float
    operations instead of a loop over runs (the same iterates up to float rounding).
    """
    try:
        level = _level_shape(runs)
        if level is not None:
            lent, payment, m, last = level
            p, c, d = float(lent), float(payment), float(last)
            m1 = m + 1
            v = _first_guess(p + c * m + d, c * (m * m1 // 2) + d * m1, c * ((m - 1) * m * m1 // 3) + d * m1 * m)
            for _ in range(_MAX_BINARY):
                if not 0.0 < v < 1e6:
                    return None
                gap = 1.0 - v
                vm = v**m
                growth = (1.0 - m1 * vm + m * vm * v) / (gap * gap)  # d/dv of v(1 − v^m)/(1 − v)
                step = (p + c * v * (1.0 - vm) / gap + d * vm * v) / (c * growth + d * m1 * vm)
                v -= step
                if abs(step) < 1e-9:
                    # 16 places through an integer: a third of the cost of repr() (a seed
                    # needs no more: the float itself holds about 16 digits).
                    return Decimal(int(v * 1e16)).scaleb(-16) if 0.0 < v < 1e6 else None
            return None
        flows = [(float(c), a, n) for c, a, n in runs]
        v = _first_guess(*_moments(flows))
        for _ in range(_MAX_BINARY):
            if not 0.0 < v < 1e6:
                return None
            npv = slope = 0.0
            for c, a, n in flows:
                power = v**a
                if n == 1:
                    npv += c * power
                    slope += c * a * power / v
                elif v == 1.0:
                    npv += c * n
                    slope += c * _sum_k(a, n)
                else:
                    end = power * v**n
                    g = (power - end) / (1.0 - v)
                    npv += c * g
                    slope += c * (((a * power - (a + n) * end) / v + g) / (1.0 - v))
            step = npv / slope
            v -= step
            if abs(step) < 1e-9:
                return Decimal(int(v * 1e16)).scaleb(-16) if 0.0 < v < 1e6 else None
    except (ArithmeticError, ValueError):  # overflow, underflow to 0 slope, complex pow
        return None
    return None


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
    positive = negative = False
    s0 = ZERO
    for c, _, n in runs:
        if c > ZERO:
            positive = True
        else:
            negative = True
        s0 += c * n
    if not (positive and negative):
        raise IrrError("cash flows need both a positive and a negative amount")
    if not s0:
        return ZERO  # costs nothing: exactly 0, not a tiny iterate
    start = _binary_root(runs)
    if start is None:
        s0, s1, s2 = _moments(runs)
        start = _first_guess(s0, s1, s2) if s1 else None
    rate = _newton(runs, start) if start is not None else None
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
        return _loan_irr(principal, payments)


def _loan_irr(principal: Decimal, payments: Iterable[Decimal]) -> Decimal:
    return _runs_irr(principal, _runs(payments, 1))


def _runs_irr(principal: Decimal, payment_runs: Iterable[_Run]) -> Decimal:
    return _solve([(principal, 0, 1), *[(-c, a, n) for c, a, n in payment_runs]])


def payment_runs(regular: Decimal, count: int, last: Decimal) -> list[_Run]:
    """The runs `_runs` makes of `count` − 1 payments of `regular` then one of `last`.

    For builders that know their payments have this shape: it saves scanning them.
    """
    if last == regular:
        return [(regular, 1, count)] if regular else []
    runs = [(regular, 1, count - 1)] if regular and count > 1 else []
    if last:
        runs.append((last, count, 1))
    return runs


def runs_of_payments(payments: Iterable[Decimal]) -> list[_Run]:
    """The runs (amount, first period, count) of monthly payments due at periods 1..N:
    a schedule's totals, scanned once for both its sum and its rate."""
    return _runs(payments, 1)


def _annualise(monthly_rate: Decimal) -> tuple[Decimal, Decimal]:
    apr = (monthly_rate * TWELVE).quantize(RATE_PLACES, ROUND_HALF_UP)
    ear = ((ONE + monthly_rate) ** 12 - ONE).quantize(RATE_PLACES, ROUND_HALF_UP)
    return apr, ear


def annualise(monthly_rate: Decimal) -> tuple[Decimal, Decimal]:
    """(APR, EAR) of a monthly rate, each rounded half-up to eight decimal places."""
    with localcontext(CONTEXT):
        return _annualise(monthly_rate)


def in_context_loan_apr_ear(principal: Decimal, payments: Iterable[Decimal]) -> tuple[Decimal, Decimal]:
    """(APR, EAR) of lending `principal` against monthly `payments`: one call, one
    decimal context, for the schedule builders' hot path."""
    return _annualise(_loan_irr(principal, payments))


loan_apr_ear = computing_in_context(in_context_loan_apr_ear)


def in_context_runs_apr_ear(principal: Decimal, payment_runs: Iterable[_Run]) -> tuple[Decimal, Decimal]:
    """`in_context_loan_apr_ear` for payments given as runs (amount, first period,
    count), periods counted from 1, in order; see `payment_runs`."""
    return _annualise(_runs_irr(principal, payment_runs))


def in_context_annuity_payment(principal: Decimal, monthly_rate: Decimal, months: int) -> Decimal:
    """The unrounded level payment repaying `principal` over `months` at `monthly_rate`.

    P·i / (1 − (1 + i)^−n), or simply P / n at a zero rate.
    """
    if not monthly_rate:
        return principal / months
    growth = (ONE + monthly_rate) ** months
    return principal * monthly_rate * growth / (growth - ONE)


annuity_payment = computing_in_context(in_context_annuity_payment)
