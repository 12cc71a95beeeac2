"""Promise-to-pay limits and the Standard Financial Statement affordability check."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from portal.domain.account import AccountSnapshot
from portal.domain.budget import Budget, affordable_payment, fits
from portal.domain.default_policy import default_policy
from portal.domain.money import CurrencyError
from portal.domain.offers import offers_for
from portal.domain.promise import PROMISE_CODES, check_promise

D = Decimal
POLICY = default_policy()  # promises within 14 days, of at least 20 % of the overdue amount
TODAY = date(2027, 1, 31)
ACCOUNT = AccountSnapshot("CNY", D("9000"), D("600"), D("250"), D("150"), D("3000.00"), D("300"), 45, date(2027, 1, 1))


def codes(amount: str, pay_by: date, account: AccountSnapshot = ACCOUNT) -> list[str]:
    found = check_promise(account, POLICY, D(amount), pay_by, TODAY)
    assert set(found) <= PROMISE_CODES
    return found


def test_promise_within_limits() -> None:
    assert codes("600", TODAY) == []  # exactly 20 % of 3000, due today
    assert codes("10000", TODAY + timedelta(days=14)) == []  # the whole balance, last day


@pytest.mark.parametrize(
    ("amount", "pay_by", "expected"),
    [
        ("599.99", TODAY, ["below_minimum"]),
        ("0", TODAY, ["amount_not_positive"]),
        ("-5", TODAY, ["amount_not_positive"]),
        ("600.001", TODAY, ["too_many_decimals"]),
        ("10000.01", TODAY, ["above_balance"]),
        ("600", TODAY - timedelta(days=1), ["date_in_past"]),
        ("600", TODAY + timedelta(days=15), ["date_too_far"]),
        ("1", TODAY + timedelta(days=30), ["below_minimum", "date_too_far"]),
    ],
)
def test_promise_problems(amount: str, pay_by: date, expected: list[str]) -> None:
    assert codes(amount, pay_by) == expected


def test_promise_refused_for_blocked_or_planned_accounts() -> None:
    assert codes("600", TODAY, replace(ACCOUNT, flags=frozenset({"deceased"}))) == ["blocked"]
    assert codes("600", TODAY, replace(ACCOUNT, has_active_plan=True)) == ["active_plan"]
    nothing = replace(ACCOUNT, overdue_amount=D(0))
    assert codes("600", TODAY, nothing) == ["nothing_overdue"]
    assert codes("600", TODAY, replace(ACCOUNT, currency="USD")) == ["currency"]


def test_minimum_share_rounds_up_to_the_minor_unit() -> None:
    odd = replace(ACCOUNT, overdue_amount=D("1000.01"))  # 20 % = 200.002 → 200.01
    assert codes("200.00", TODAY, odd) == ["below_minimum"]
    assert codes("200.01", TODAY, odd) == []


def test_snapshot_refuses_bad_data() -> None:
    with pytest.raises(ValueError, match="more decimals"):
        replace(ACCOUNT, fees=D("0.001"))
    with pytest.raises(ValueError, match="Decimal"):
        replace(ACCOUNT, fees=0.5)
    with pytest.raises(ValueError, match="negative"):
        replace(ACCOUNT, principal=D("-1"))
    with pytest.raises(CurrencyError):
        replace(ACCOUNT, currency="XXY")
    assert replace(ACCOUNT, fees=D("0.100")).fees == D("0.1")  # trailing zeros are fine
    assert ACCOUNT.balance == D("10000")


# --- budget ----------------------------------------------------------------------------


BUDGET = Budget(
    earnings=D("8000"),
    benefits=D("500"),
    pensions=D("0"),
    other_income=D("300"),
    housing=D("2500"),
    utilities=D("300"),
    transport=D("400"),
    care_health=D("200"),
    school=D("600"),
    insurance=D("150"),
    other_essentials=D("150"),
    food_housekeeping=D("1500"),
    communications_leisure=D("300"),
    personal=D("200"),
)


def test_budget_groups() -> None:
    assert BUDGET.income == D("8800")
    assert BUDGET.fixed_costs == D("4300")
    assert BUDGET.flexible_costs == D("2000")
    assert BUDGET.costs == D("6300")
    assert BUDGET.disposable == D("2500")
    assert affordable_payment(BUDGET, D("0.5")) == D("1250")
    assert affordable_payment(Budget(housing=D("100")), D("0.5")) == 0


def test_fits_compares_the_largest_monthly_payment() -> None:
    account = replace(ACCOUNT, days_past_due=10)  # M1: installments only
    offers = offers_for(account, POLICY, TODAY)
    largest = {o.terms.months: o.quote.max_payment for o in offers}
    assert largest[12] == D("893.33") + D("0.04")  # 10000 over 12: 833.37 + 60 last
    assert fits(offers[2], BUDGET, D("0.5"))  # 893.37 ≤ 1250
    assert not fits(offers[0], BUDGET, D("0.5"))  # 3393.34 > 1250
    assert fits(offers[1].quote, BUDGET, D("1"))  # a Quote will do too: 1726.67 ≤ 2500
    assert not fits(offers[1].quote, BUDGET, D("0.5"))
    assert not fits(offers[2], Budget(earnings=D("1000")), D("0.5"))


def test_budget_refuses_bad_figures() -> None:
    with pytest.raises(ValueError, match="housing"):
        Budget(housing=D("-1"))
    with pytest.raises(ValueError, match="earnings"):
        Budget(earnings=1000.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="share"):
        affordable_payment(BUDGET, D("1.5"))
