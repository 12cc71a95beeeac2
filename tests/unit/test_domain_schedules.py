"""Hand-checked schedules for every plan type and convention, and due-date stepping."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domain.builders import _level_rows
from portal.domain.dates import add_months, monthly_dates
from portal.domain.money import CONTEXT
from portal.domain.quote import quote
from portal.domain.rates import in_context_annuity_payment
from portal.domain.schedule import Installment, PlanType, Quote

D = Decimal


def rows(q: Quote) -> list[tuple[str, str, str, str]]:
    """Installments as (due date, principal, charge, total) strings."""
    return [(str(i.due_date), str(i.principal), str(i.charge), str(i.total)) for i in q.installments]


def assert_sums(q: Quote) -> None:
    assert sum(i.principal for i in q.installments) == q.principal
    assert sum(i.charge for i in q.installments) == q.total_cost
    assert q.total_repaid == q.down_payment + sum(i.total for i in q.installments)
    assert all(i.total == i.principal + i.charge for i in q.installments)
    assert [i.number for i in q.installments] == list(range(1, len(q.installments) + 1))


# --- due dates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "count", "expected"),
    [
        (date(2027, 1, 31), 3, ["2027-01-31", "2027-02-28", "2027-03-31"]),
        (date(2028, 1, 31), 3, ["2028-01-31", "2028-02-29", "2028-03-31"]),
        (date(2027, 8, 31), 3, ["2027-08-31", "2027-09-30", "2027-10-31"]),
        (date(2027, 12, 31), 3, ["2027-12-31", "2028-01-31", "2028-02-29"]),
        (date(2027, 1, 30), 2, ["2027-01-30", "2027-02-28"]),
        (date(2027, 1, 15), 2, ["2027-01-15", "2027-02-15"]),
    ],
)
def test_monthly_dates_clamp_to_month_end_and_never_chain(first: date, count: int, expected: list[str]) -> None:
    assert [str(d) for d in monthly_dates(first, count)] == expected


def test_add_months_edges() -> None:
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert add_months(date(2028, 2, 29), 48) == date(2032, 2, 29)
    assert add_months(date(2100, 1, 31), 1) == date(2100, 2, 28)  # not a leap year
    assert add_months(date(2000, 1, 31), 1) == date(2000, 2, 29)  # a leap year
    assert add_months(date(2027, 3, 31), -1) == date(2027, 2, 28)
    assert add_months(date(2027, 1, 31), -13) == date(2025, 12, 31)
    assert add_months(date(2027, 5, 17), 0) == date(2027, 5, 17)


# --- installment, monthly fee on the original principal ---------------------------------


def test_fee_installment_10000_cny_at_0_6_percent_for_12_months() -> None:
    q = quote(
        "installment", amount="10000", currency="CNY", months=12, monthly_fee_rate="0.006", first_due=date(2027, 1, 31)
    )
    # 10000/12 = 833.333…: eleven parts of 833.33 and the remainder 833.37 last;
    # the fee is 10000 × 0.6 % = 60.00 every month, 720.00 in all.
    assert rows(q)[:3] == [
        ("2027-01-31", "833.33", "60.00", "893.33"),
        ("2027-02-28", "833.33", "60.00", "893.33"),
        ("2027-03-31", "833.33", "60.00", "893.33"),
    ]
    assert rows(q)[-1] == ("2027-12-31", "833.37", "60.00", "893.37")
    assert len(q.installments) == 12
    assert (q.principal, q.total_cost, q.total_repaid) == (D("10000.00"), D("720.00"), D("10720.00"))
    # The true annualised cost: about 13.03 % nominal and 13.84 % effective.
    assert q.apr.quantize(D("0.0001")) == D("0.1303")
    assert q.ear.quantize(D("0.0001")) == D("0.1384")
    assert q.plan is PlanType.INSTALLMENT
    assert_sums(q)


def test_fee_installment_with_down_payment_finances_the_rest() -> None:
    q = quote(
        "installment",
        amount="1200.00",
        currency="CNY",
        months=3,
        monthly_fee_rate="0.01",
        down_payment="300",
        first_due=date(2027, 1, 15),
    )
    # 900 financed: 300.00 a month principal, 9.00 fee a month.
    assert rows(q) == [
        ("2027-01-15", "300.00", "9.00", "309.00"),
        ("2027-02-15", "300.00", "9.00", "309.00"),
        ("2027-03-15", "300.00", "9.00", "309.00"),
    ]
    assert (q.down_payment, q.principal, q.total_repaid) == (D("300.00"), D("900.00"), D("1227.00"))
    assert_sums(q)


def test_fee_remainder_goes_to_the_last_fee_too() -> None:
    # Fee 1000.01 × 0.6 % = 6.00006 → 6.00 a month; total 1000.01 × 0.6 % × 7 =
    # 42.00042 → 42.00, so the last fee is 42.00 − 6 × 6.00 = 6.00. Principal 142.86
    # (1000.01/7 = 142.858…) six times, then 1000.01 − 857.16 = 142.85.
    q = quote(
        "installment", amount="1000.01", currency="CNY", months=7, monthly_fee_rate="0.006", first_due=date(2027, 1, 1)
    )
    assert rows(q)[0][1:] == ("142.86", "6.00", "148.86")
    assert rows(q)[-1][1:] == ("142.85", "6.00", "148.85")
    assert_sums(q)


def test_jpy_has_no_minor_unit() -> None:
    q = quote(
        "installment", amount="100000", currency="JPY", months=7, monthly_fee_rate="0.006", first_due=date(2027, 1, 31)
    )
    # 100000/7 = 14285.7 → 14286 six times, 14284 last; fee 600 a month.
    assert rows(q)[0] == ("2027-01-31", "14286", "600", "14886")
    assert rows(q)[1] == ("2027-02-28", "14286", "600", "14886")
    assert rows(q)[-1] == ("2027-07-31", "14284", "600", "14884")
    assert (q.total_cost, q.total_repaid) == (D("4200"), D("104200"))
    assert_sums(q)


def test_kwd_has_three_decimals() -> None:
    q = quote(
        "installment", amount="1000", currency="KWD", months=3, monthly_fee_rate="0.005", first_due=date(2028, 1, 31)
    )
    assert rows(q) == [
        ("2028-01-31", "333.333", "5.000", "338.333"),
        ("2028-02-29", "333.333", "5.000", "338.333"),
        ("2028-03-31", "333.334", "5.000", "338.334"),
    ]
    assert q.total_cost == D("15.000")


# --- installment, annuity at an annual rate on the declining balance ---------------------


def test_annuity_12000_cny_at_12_percent_for_12_months() -> None:
    q = quote("installment", amount="12000", currency="CNY", months=12, annual_rate="0.12", first_due=date(2028, 1, 31))
    # i = 1 % a month; payment 12000 × 0.01 / (1 − 1.01^−12) = 1066.1854 → 1066.19.
    # Month 1: interest 120.00, principal 946.19, balance 11053.81.
    # Month 2: interest 110.5381 → 110.54, principal 955.65, balance 10098.16.
    # Month 3: interest 100.9816 → 100.98, principal 965.21.
    assert rows(q)[:3] == [
        ("2028-01-31", "946.19", "120.00", "1066.19"),
        ("2028-02-29", "955.65", "110.54", "1066.19"),
        ("2028-03-31", "965.21", "100.98", "1066.19"),
    ]
    # The last repays what is left (1055.58) with its month's interest (10.5558).
    assert rows(q)[-1] == ("2028-12-31", "1055.58", "10.56", "1066.14")
    assert all(i.total == D("1066.19") for i in q.installments[:-1])
    assert (q.total_cost, q.total_repaid) == (D("794.23"), D("12794.23"))
    # A level annuity's APR is its nominal rate, give or take rounding.
    assert abs(q.apr - D("0.12")) < D("0.00001")
    assert_sums(q)


def test_annuity_bhd_three_decimals() -> None:
    q = quote("installment", amount="500", currency="BHD", months=6, annual_rate="0.10", first_due=date(2027, 6, 30))
    # 500 × (0.1/12) / (1 − (1 + 0.1/12)^−6) = 85.7806… → 85.781.
    assert rows(q) == [
        ("2027-06-30", "81.614", "4.167", "85.781"),
        ("2027-07-30", "82.294", "3.487", "85.781"),
        ("2027-08-30", "82.980", "2.801", "85.781"),
        ("2027-09-30", "83.672", "2.109", "85.781"),
        ("2027-10-30", "84.369", "1.412", "85.781"),
        ("2027-11-30", "85.071", "0.709", "85.780"),
    ]
    assert_sums(q)


def test_zero_rate_plan_costs_nothing_and_has_zero_apr() -> None:
    q = quote("installment", amount="999.99", currency="CNY", months=4, first_due=date(2027, 1, 1))
    assert rows(q)[0][1:] == ("250.00", "0.00", "250.00")
    assert rows(q)[-1][1:] == ("249.99", "0.00", "249.99")
    assert (q.total_cost, q.apr, q.ear) == (D("0"), D("0"), D("0"))


# --- personalised ------------------------------------------------------------------------


def test_personalised_60_months_interest_free_with_fees_waived() -> None:
    q = quote(
        "personalised",
        amount="30450",
        fees="300",
        late_fees="150",
        waiver="1",
        currency="CNY",
        months=60,
        first_due=date(2027, 1, 31),
    )
    # 450 of fees waived; 30000 over 60 months is 500.00 each, nothing charged.
    assert q.plan is PlanType.PERSONALISED
    assert (q.waived.fees, q.waived.late_fees, q.principal) == (D("300"), D("150"), D("30000"))
    assert len(q.installments) == 60
    assert {r[1:] for r in rows(q)} == {("500.00", "0.00", "500.00")}
    assert rows(q)[1][0] == "2027-02-28" and rows(q)[-1][0] == "2031-12-31"
    assert q.apr == 0 and q.total_repaid == D("30000")


def test_partial_waiver_rounds_down() -> None:
    q = quote(
        "installment",
        amount="1000",
        fees="0.05",
        late_fees="0.03",
        waiver="0.5",
        currency="CNY",
        months=1,
        first_due=date(2027, 1, 1),
    )
    # Half of 0.05 is 0.025 and of 0.03 is 0.015: rounded down, never over the share.
    assert (q.waived.fees, q.waived.late_fees) == (D("0.02"), D("0.01"))
    assert q.principal == D("999.97")


# --- relief ------------------------------------------------------------------------------


def test_relief_frozen_then_one_final_payment() -> None:
    q = quote(
        "relief",
        amount="1200",
        fees="100",
        late_fees="50",
        waiver="1",
        currency="CNY",
        relief_months=2,
        relief_rate="0",
        annual_rate="0.12",
        relief_payment="100",
        after_months=0,
        first_due=date(2027, 1, 31),
    )
    # 150 of fees waived leaves 1050; two interest-free payments of 100; the 850 left
    # is due at month 3 with one month's normal interest, 850 × 1 % = 8.50.
    assert rows(q) == [
        ("2027-01-31", "100.00", "0.00", "100.00"),
        ("2027-02-28", "100.00", "0.00", "100.00"),
        ("2027-03-31", "850.00", "8.50", "858.50"),
    ]
    # Interest not charged during relief: 1050 × 1 % + 950 × 1 % = 20.00.
    assert q.waived.interest == D("20.00")
    assert (q.waived.fees, q.waived.late_fees) == (D("100.00"), D("50.00"))
    assert (q.total_cost, q.total_repaid) == (D("8.50"), D("1058.50"))
    assert_sums(q)


def test_relief_reduced_rate_then_amortised() -> None:
    q = quote(
        "relief",
        amount="1050",
        currency="CNY",
        relief_months=2,
        relief_rate="0.06",
        annual_rate="0.12",
        relief_payment="100",
        after_months=2,
        first_due=date(2027, 1, 31),
    )
    # Relief at 0.5 % a month; the payment covers interest first: month 1 interest
    # 5.25, principal 94.75 → 955.25; month 2 interest 4.77625 → 4.78, principal
    # 95.22 → 860.03. Then 860.03 at 1 % over 2 months: payment 860.03 × 0.01 /
    # (1 − 1.01^−2) = 436.4759… → 436.48: interest 8.60, principal 427.88 → 432.15;
    # last: principal 432.15, interest 4.3215 → 4.32.
    assert rows(q) == [
        ("2027-01-31", "94.75", "5.25", "100.00"),
        ("2027-02-28", "95.22", "4.78", "100.00"),
        ("2027-03-31", "427.88", "8.60", "436.48"),
        ("2027-04-30", "432.15", "4.32", "436.47"),
    ]
    # Forgone: (10.50 − 5.25) + (9.5525 → 9.55 − 4.78) = 5.25 + 4.77.
    assert q.waived.interest == D("10.02")
    assert_sums(q)


def test_relief_payment_that_clears_the_balance_ends_early() -> None:
    q = quote(
        "relief",
        amount="250",
        currency="CNY",
        relief_months=6,
        relief_payment="100",
        annual_rate="0.2",
        after_months=12,
        first_due=date(2027, 1, 31),
    )
    assert rows(q) == [
        ("2027-01-31", "100.00", "0.00", "100.00"),
        ("2027-02-28", "100.00", "0.00", "100.00"),
        ("2027-03-31", "50.00", "0.00", "50.00"),
    ]


def test_relief_default_payment_amortises_over_the_whole_plan() -> None:
    q = quote(
        "relief",
        amount="1800",
        currency="CNY",
        relief_months=6,
        after_months=12,
        annual_rate="0.18",
        first_due=date(2027, 1, 31),
    )
    # Frozen interest: 1800 over 6 + 12 months is 100.00 a month during relief.
    assert [r[3] for r in rows(q)[:6]] == ["100.00"] * 6
    assert len(q.installments) == 18
    assert_sums(q)


# --- settlement --------------------------------------------------------------------------


def test_settlement_three_payments() -> None:
    q = quote(
        "settlement",
        amount="10000.01",
        currency="CNY",
        discount="0.3",
        payments=3,
        first_due=date(2027, 1, 31),
        deadline_days=30,
        today=date(2027, 1, 1),
    )
    # 10000.01 × 0.7 = 7000.007, rounded UP to 7000.01 so the discount stays ≤ 30 %;
    # 7000.01 / 3 = 2333.3366… → 2333.34 twice, 2333.33 last, monthly.
    assert rows(q) == [
        ("2027-01-31", "2333.34", "0.00", "2333.34"),
        ("2027-02-28", "2333.34", "0.00", "2333.34"),
        ("2027-03-31", "2333.33", "0.00", "2333.33"),
    ]
    assert (q.principal, q.waived.discount, q.total_cost) == (D("7000.01"), D("3000.00"), D("0"))
    assert (q.apr, q.ear) == (D("0"), D("0"))
    assert q.principal + q.waived.discount == q.amount
    assert_sums(q)


def test_settlement_single_payment_jpy() -> None:
    q = quote("settlement", amount="123457", currency="JPY", discount="0.25", first_due=date(2027, 2, 1))
    # 123457 × 0.75 = 92592.75 → 92593 (up): discount 30864 ≤ 25 % of the balance.
    assert rows(q) == [("2027-02-01", "92593", "0", "92593")]
    assert q.waived.discount == D("30864")


# --- annuity rows made without a cap, then with it if the loan ran out early ---------


def capped_rows(principal: Decimal, rate: Decimal, payment: Decimal, count: int) -> tuple[list[Installment], bool]:
    """Annuity rows as `builders._level_rows` defines them: each part capped at the balance."""
    dates = monthly_dates(date(2027, 1, 31), count)
    balance, early, made = principal, False, []
    for n, due in enumerate(dates[:-1], 1):
        interest = (balance * rate).quantize(D("0.01"), ROUND_HALF_UP)
        part = payment - interest
        if part >= balance:
            early, part = True, balance
        made.append(Installment(n, due, part, interest, part + interest))
        balance -= part
    interest = (balance * rate).quantize(D("0.01"), ROUND_HALF_UP)
    made.append(Installment(count, dates[-1], balance, interest, balance + interest))
    return made, early


@settings(max_examples=300, deadline=None, database=None)
@given(
    principal=st.integers(min_value=1, max_value=10_000_000_00),
    annual_bp=st.integers(min_value=0, max_value=3_600),
    months=st.integers(min_value=1, max_value=60),
    payment_permille=st.integers(min_value=0, max_value=3_000),
)
def test_level_rows_are_the_capped_rows(principal: int, annual_bp: int, months: int, payment_permille: int) -> None:
    # Payments from nothing to three times the level one: many loans run out early.
    lent = D(principal).scaleb(-2)
    monthly = D(annual_bp).scaleb(-4) / 12
    level = in_context_annuity_payment(lent, monthly, months) if monthly else lent / months
    payment = (level * payment_permille / 1000).quantize(D("0.01"), ROUND_HALF_UP)
    with localcontext(CONTEXT):
        made = _level_rows(lent, monthly, payment, monthly_dates(date(2027, 1, 31), months), D("0.01"), 1)
    assert made == capped_rows(lent, monthly, payment, months)
