"""Properties every schedule keeps, whatever the plan, currency or amount."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domain.dates import add_months
from portal.domain.money import currency_places
from portal.domain.quote import QuoteError, quote
from portal.domain.schedule import MAX_PLAN_MONTHS, Quote

D = Decimal
CURRENCIES = st.sampled_from(["CNY", "JPY", "KWD", "USD", "HKD", "BHD"])
FIRST_DUES = st.dates(min_value=date(2026, 1, 1), max_value=date(2040, 12, 31))


def money(currency: str, minor: int) -> Decimal:
    return D(minor).scaleb(-currency_places(currency))


def rate(basis_points: int) -> Decimal:
    return D(basis_points).scaleb(-4)


def check(q: Quote) -> None:
    """Exact sums, nothing negative, at most 60 monthly due dates from the first."""
    rows = q.installments
    assert 1 <= len(rows) <= MAX_PLAN_MONTHS
    assert sum(r.principal for r in rows) == q.principal
    assert sum(r.charge for r in rows) == q.total_cost
    assert q.total_repaid == q.down_payment + sum(r.total for r in rows)
    assert q.principal + q.down_payment + q.waived.written_off == q.amount
    places = -currency_places(q.currency)
    for number, row in enumerate(rows, 1):
        assert row.number == number
        assert row.principal >= 0 and row.charge >= 0 and row.total > 0
        assert row.total == row.principal + row.charge
        assert row.due_date == add_months(q.first_due, number - 1)
        for value in (row.principal, row.charge, row.total):
            assert value.as_tuple().exponent == places
    for value in (q.waived.interest, q.waived.fees, q.waived.late_fees, q.waived.discount):
        assert value >= 0
    assert q.apr >= 0 and q.ear >= q.apr
    assert (q.apr == 0) == (q.total_cost == 0)


@settings(max_examples=150, deadline=None, database=None)
@given(
    currency=CURRENCIES,
    minor=st.integers(min_value=1, max_value=10**10),
    months=st.integers(min_value=1, max_value=MAX_PLAN_MONTHS),
    basis_points=st.integers(min_value=0, max_value=500),
    annual=st.booleans(),
    down_percent=st.integers(min_value=0, max_value=99),
    first=FIRST_DUES,
    personalised=st.booleans(),
)
def test_installment_schedules(
    currency: str,
    minor: int,
    months: int,
    basis_points: int,
    annual: bool,
    down_percent: int,
    first: date,
    personalised: bool,
) -> None:
    amount = money(currency, minor)
    down = money(currency, minor * down_percent // 100)
    pricing = {"annual_rate": rate(basis_points * 20)} if annual else {"monthly_fee_rate": rate(basis_points)}
    try:
        q = quote(
            "personalised" if personalised else "installment",
            amount=amount,
            currency=currency,
            months=months,
            down_payment=down,
            first_due=first,
            **pricing,
        )
    except QuoteError as error:
        # Only amounts too small to split into that many installments are refused.
        assert "too small" in str(error)
        assert (amount - down) < money(currency, months) * 2
        return
    check(q)


@settings(max_examples=120, deadline=None, database=None)
@given(
    currency=CURRENCIES,
    minor=st.integers(min_value=100, max_value=10**10),
    fee_share=st.integers(min_value=0, max_value=30),
    waiver=st.integers(min_value=0, max_value=100),
    relief_months=st.integers(min_value=1, max_value=24),
    after_months=st.integers(min_value=0, max_value=36),
    normal=st.integers(min_value=0, max_value=3000),
    cut=st.integers(min_value=0, max_value=100),
    first=FIRST_DUES,
)
def test_relief_schedules(
    currency: str,
    minor: int,
    fee_share: int,
    waiver: int,
    relief_months: int,
    after_months: int,
    normal: int,
    cut: int,
    first: date,
) -> None:
    fees = money(currency, minor * fee_share // 100)
    normal_rate = rate(normal)
    months = relief_months + max(after_months, 1)
    try:
        q = quote(
            "relief",
            amount=money(currency, minor),
            fees=fees,
            waiver=rate(waiver * 100),
            currency=currency,
            relief_months=relief_months,
            after_months=after_months,
            relief_rate=normal_rate * (100 - cut) / 100,
            annual_rate=normal_rate,
            first_due=first,
        )
    except QuoteError as error:
        assert "too small" in str(error)
        # Only amounts of a few minor units per month can round an installment to zero
        # (interest at the normal rate after relief can leave the last part empty).
        assert minor < months * 10
        return
    check(q)
    assert len(q.installments) <= relief_months + max(after_months, 1)
    # Relief never costs more than the normal rate would (once amounts are large enough
    # for rounding interest to the minor unit not to matter).
    if minor >= 10**6:
        assert q.apr <= normal_rate + D("0.0001")


@settings(max_examples=120, deadline=None, database=None)
@given(
    currency=CURRENCIES,
    minor=st.integers(min_value=3, max_value=10**10),
    discount=st.integers(min_value=0, max_value=99),
    payments=st.integers(min_value=1, max_value=3),
    first=FIRST_DUES,
)
def test_settlement_schedules(currency: str, minor: int, discount: int, payments: int, first: date) -> None:
    amount = money(currency, minor)
    share = D(discount) / 100
    try:
        q = quote("settlement", amount=amount, currency=currency, discount=share, payments=payments, first_due=first)
    except QuoteError as error:
        assert "too small" in str(error)
        return
    check(q)
    assert q.total_cost == 0 and q.apr == 0
    # The discount never exceeds the agreed share, and misses it by under one unit.
    assert q.waived.discount <= amount * share
    assert amount * share - q.waived.discount < money(currency, 1)
