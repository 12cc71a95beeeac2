"""IRR, APR and EAR: known figures, agreement with numpy_financial, monotonicity."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from portal.domain import rates
from portal.domain.builders import installment_plan
from portal.domain.rates import IrrError, annualise, annuity_payment, irr, loan_irr
from portal.domain.schedule import Pricing

D = Decimal
FEE_PLAN = [D("10000")] + [D("-893.33")] * 11 + [D("-893.37")]


def numpy_irr(flows: list[Decimal]) -> float:
    # numpy_financial works in floats (test-only; the portal never does).
    return float(npf.irr(np.array([float(f) for f in flows])))


def test_fee_plan_known_figures() -> None:
    monthly = irr(FEE_PLAN)
    apr, ear = annualise(monthly)
    assert abs(monthly - D("0.0108618")) < D("0.0000001")
    assert apr.quantize(D("0.0001")) == D("0.1303")
    assert ear.quantize(D("0.0001")) == D("0.1384")
    assert abs(float(monthly) - numpy_irr(FEE_PLAN)) < 1e-9


def test_loan_irr_is_irr_of_the_signed_flows() -> None:
    assert loan_irr(D("10000"), [-f for f in FEE_PLAN[1:]]) == irr(FEE_PLAN)


def test_zero_cost_is_exactly_zero() -> None:
    assert irr([D("300"), D("-100"), D("-100"), D("-100")]) == 0
    assert annualise(D(0)) == (D(0), D(0))


def test_no_sign_change_has_no_rate() -> None:
    with pytest.raises(IrrError):
        irr([D("100"), D("50")])
    with pytest.raises(IrrError):
        irr([D("-100"), D("0")])


@pytest.mark.parametrize(
    ("flows", "expected"),
    [
        (["-100", "39", "59", "55", "20"], "0.28095"),  # numpy_financial's own examples
        (["-100", "0", "0", "74"], "-0.0955"),
        (["-100", "100", "0", "7"], "0.06206"),
    ],
)
def test_numpy_financial_examples(flows: list[str], expected: str) -> None:
    assert irr([D(f) for f in flows]).quantize(D(expected)) == D(expected)


def test_bisection_fallback_agrees() -> None:
    flows = [D("10000")] + [D("-1500")] * 8
    runs = rates._runs(flows)
    assert abs(rates._bisect(runs) - irr(flows)) < D("1e-11")


@settings(max_examples=200, deadline=None, database=None)
@given(
    principal=st.integers(min_value=100_00, max_value=2_000_000_00),
    months=st.integers(min_value=1, max_value=60),
    repaid_percent=st.integers(min_value=80, max_value=250),
)
def test_the_binary_seed_changes_no_digit(principal: int, months: int, repaid_percent: int) -> None:
    # The float starting point only saves Decimal steps: from it and from the Taylor
    # start alone, Newton lands on the same rate to far more than its eight places.
    lent = D(principal).scaleb(-2)
    part = (lent * repaid_percent / 100 / months).quantize(D("0.01"))
    assume(part * months != lent)
    runs = [(lent, 0, 1), (-part, 1, months)]
    seeded = rates._newton(runs, rates._binary_root(runs))
    s0, s1, s2 = rates._moments(runs)
    taylor = rates._newton(runs, rates._first_guess(s0, s1, s2))
    assert seeded is not None and taylor is not None
    assert abs(seeded - taylor) < D("1e-20")


@settings(max_examples=200, deadline=None, database=None)
@given(
    principal=st.integers(min_value=100_00, max_value=2_000_000_00),
    months=st.integers(min_value=3, max_value=60),
    repaid_percent=st.integers(min_value=80, max_value=250),
    last_cents=st.integers(min_value=-5_000, max_value=5_000),
)
def test_the_level_shortcut_seeds_as_the_loop_over_runs_does(
    principal: int, months: int, repaid_percent: int, last_cents: int
) -> None:
    # Level flows (lent, then m equal payments and a different last one) take the
    # closed-form float steps; spelled as four runs they take the general loop.
    lent = D(principal).scaleb(-2)
    part = (lent * repaid_percent / 100 / months).quantize(D("0.01"))
    last = part + D(last_cents).scaleb(-2)
    assume(last > 0 and part * (months - 1) + last != lent)
    level = [(lent, 0, 1), (-part, 1, months - 1), (-last, months, 1)]
    assert rates._level_shape(level) is not None
    split = [(lent, 0, 1), (-part, 1, 1), (-part, 2, months - 2), (-last, months, 1)]
    assert rates._level_shape(split) is None
    fast, loop = rates._binary_root(level), rates._binary_root(split)
    assert fast is not None and loop is not None
    assert abs(fast - loop) < D("1e-9")  # seeds only: near v = 1 floats lose digits
    solved, reference = rates._newton(level, fast), rates._newton(split, loop)
    assert solved is not None and reference is not None
    assert abs(solved - reference) < D("1e-20")


def test_without_a_binary_seed_decimal_newton_still_solves(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = irr(FEE_PLAN)
    monkeypatch.setattr(rates, "_binary_root", lambda runs: None)
    assert abs(irr(FEE_PLAN) - expected) < D("1e-20")


def test_floats_that_overflow_give_no_seed() -> None:
    # 1e400 is beyond any float: the seed gives up and Decimal takes over.
    assert rates._binary_root([(D("1e400"), 0, 1), (D("-6e399"), 1, 2)]) is None
    assert irr([D("1e400"), D("-6e399"), D("-6e399")]).quantize(D("0.0001")) == D("0.1307")


@pytest.mark.parametrize(
    ("regular", "count", "last"),
    [("893.33", 12, "893.37"), ("500.00", 6, "500.00"), ("0.00", 3, "0.07"), ("12.00", 1, "12.00"), ("7", 1, "9")],
)
def test_payment_runs_are_the_runs_of_the_payments(regular: str, count: int, last: str) -> None:
    payments = [D(regular)] * (count - 1) + [D(last)]
    assert rates.payment_runs(D(regular), count, D(last)) == rates._runs(payments, 1)


def test_annuity_payment() -> None:
    assert annuity_payment(D("12000"), D("0.01"), 12).quantize(D("0.0001")) == D("1066.1855")
    assert annuity_payment(D("1200"), D("0"), 12) == D("100")


@settings(max_examples=300, deadline=None, database=None)
@given(
    principal=st.integers(min_value=100_00, max_value=2_000_000_00),
    weights=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=60),
    repaid_percent=st.integers(min_value=60, max_value=250),
    level=st.booleans(),
)
def test_irr_agrees_with_numpy_financial(principal: int, weights: list[int], repaid_percent: int, level: bool) -> None:
    # Plan-shaped flows: money lent at period 0, repaid over 1..60 periods (some may be
    # zero), in total 0.6 to 2.5 times the loan, so negative rates are covered too.
    if level:
        weights = [1] * len(weights)
    assume(sum(weights) > 0)
    lent = D(principal).scaleb(-2)
    repaid = lent * repaid_percent / 100
    flows = [lent] + [-(repaid * w / sum(weights)).quantize(D("0.01")) for w in weights]
    assume(sum(flows[1:]) < 0)
    expected = numpy_irr(flows)
    assume(not np.isnan(expected))
    assert abs(float(irr(flows)) - expected) < 1e-6


@settings(max_examples=60, deadline=None, database=None)
@given(
    amount=st.integers(min_value=1000_00, max_value=500_000_00),
    months=st.integers(min_value=1, max_value=60),
    low=st.integers(min_value=0, max_value=500),
    high=st.integers(min_value=0, max_value=500),
)
def test_apr_grows_with_the_fee_rate(amount: int, months: int, low: int, high: int) -> None:
    low, high = sorted((low, high))
    first = date(2027, 1, 31)

    def price(rate_bp: int) -> tuple[Decimal, Decimal, Decimal]:
        q = installment_plan(
            currency="CNY",
            amount=D(amount).scaleb(-2),
            months=months,
            pricing=Pricing.MONTHLY_FEE,
            rate=D(rate_bp).scaleb(-4),
            first_due=first,
        )
        return q.total_cost, q.apr, q.ear

    cost_low, apr_low, ear_low = price(low)
    cost_high, apr_high, ear_high = price(high)
    assert apr_low <= apr_high and ear_low <= ear_high
    if cost_high > cost_low:
        assert apr_low < apr_high
    # A monthly fee on the original principal always costs more than it says:
    # the APR exceeds 12 × the monthly rate once there is more than one installment.
    if high and months > 1:
        assert apr_high > D(high).scaleb(-4) * 12
