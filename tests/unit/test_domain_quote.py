"""quote(): input checks with one-line QuoteErrors, and quote_to_json's exact shape."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from portal.domain.quote import QuoteError, quote, quote_to_json

FIRST = date(2027, 1, 31)


def installment(**changes: Any) -> Any:
    args: dict[str, Any] = {
        "amount": "10000",
        "currency": "CNY",
        "months": 12,
        "monthly_fee_rate": "0.006",
        "first_due": FIRST,
    }
    args.update(changes)
    return quote("installment", **args)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": "-1"}, "amount must be more than zero"),
        ({"amount": "0"}, "amount must be more than zero"),
        ({"amount": "abc"}, "amount is not a number"),
        ({"amount": "NaN"}, "amount must be finite"),
        ({"amount": 10000.0}, "amount must be a Decimal, int or numeric string, not float"),
        ({"amount": True}, "amount must be a Decimal, int or numeric string, not bool"),
        ({"amount": "10.001"}, "amount 10.001 has more decimals than CNY allows"),
        ({"currency": "JPY", "amount": "10.5"}, "amount 10.5 has more decimals than JPY allows"),
        ({"currency": "XYZ"}, "unknown currency 'XYZ'"),
        ({"currency": "cny"}, "unknown currency 'cny'"),
        ({"months": 0}, "months must be from 1 to 60, not 0"),
        ({"months": 61}, "months must be from 1 to 60, not 61"),
        ({"months": "12"}, "months must be a whole number"),
        ({"months": None}, "months is required for an installment plan"),
        ({"monthly_fee_rate": "0.0501"}, "monthly_fee_rate must be from 0 and at most 0.05"),
        ({"monthly_fee_rate": "-0.001"}, "monthly_fee_rate must be from 0 and at most 0.05"),
        ({"monthly_fee_rate": None, "annual_rate": "1.01"}, "annual_rate must be from 0"),
        ({"annual_rate": "0.1"}, "give monthly_fee_rate or annual_rate, not both"),
        ({"down_payment": "10000"}, "down_payment must be less than the amount to repay"),
        ({"down_payment": "-5"}, "down_payment must be zero or more"),
        ({"discount": "0.1"}, "discount does not apply to an installment plan"),
        ({"relief_months": 3}, "relief_months does not apply to an installment plan"),
        ({"waiver": "1.5"}, "waiver must be from 0 and at most 1"),
        ({"fees": "9000", "late_fees": "2000"}, "fees and late_fees must not exceed amount"),
        ({"amount": "0.05", "months": 12}, "amount is too small for that many installments"),
        ({"first_due": "2027-01-31"}, "first_due must be a date"),
        ({"today": date(2027, 2, 1)}, "first_due must not be before today"),
    ],
)
def test_bad_installment_input(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(QuoteError) as caught:
        installment(**changes)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_trailing_zeros_are_not_extra_decimals() -> None:
    assert installment(amount="10000.000").principal == Decimal("10000.00")
    assert quote("installment", amount="500.0", currency="JPY", months=1, first_due=FIRST).principal == Decimal("500")


def test_unknown_plan() -> None:
    with pytest.raises(QuoteError, match="unknown plan 'loan'"):
        quote("loan", amount="1", currency="CNY", first_due=FIRST)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, "discount is required for a settlement"),
        ({"discount": "1"}, "discount must be from 0 and below 1"),
        ({"discount": "0.2", "payments": 4}, "payments must be from 1 to 3, not 4"),
        ({"discount": "0.2", "payments": 0}, "payments must be from 1 to 3, not 0"),
        (
            {"discount": "0.2", "deadline_days": 10, "today": date(2027, 1, 1)},
            "first_due must be within 10 days of today",
        ),
        ({"discount": "0.2", "deadline_days": 10}, "deadline_days needs today"),
        ({"discount": "0.2", "months": 3}, "months does not apply to a settlement plan"),
        ({"discount": "0.2", "waiver": "0.5"}, "waiver and down_payment do not apply"),
    ],
)
def test_bad_settlement_input(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(QuoteError) as caught:
        quote("settlement", amount="5000", currency="CNY", first_due=FIRST, **changes)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"relief_months": None}, "relief_months is required for a relief plan"),
        ({"relief_months": 60}, "relief_months plus after_months must not exceed 60"),
        ({"relief_months": 50, "after_months": 11}, "relief_months plus after_months"),
        ({"relief_rate": "0.2"}, "relief_rate must not exceed annual_rate"),
        ({"relief_rate": "0.1", "relief_payment": "49.99"}, "relief_payment must cover the first month's interest"),
        ({"relief_payment": "0"}, "relief_payment must be more than zero"),
        ({"down_payment": "100"}, "down_payment does not apply to a relief plan"),
        ({"months": 6}, "months does not apply to a relief plan"),
        ({"payments": 2}, "payments does not apply to a relief plan"),
    ],
)
def test_bad_relief_input(changes: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {
        "amount": "6000",
        "currency": "CNY",
        "first_due": FIRST,
        "relief_months": 6,
        "annual_rate": "0.18",
    }
    args.update(changes)
    with pytest.raises(QuoteError) as caught:
        quote("relief", **args)
    assert str(caught.value).startswith(message)


def test_relief_interest_only_payment_is_allowed() -> None:
    # 6000 at 10 % a year: 50.00 interest in month 1; paying exactly that is allowed.
    q = quote(
        "relief",
        amount="6000",
        currency="CNY",
        first_due=FIRST,
        relief_months=2,
        relief_rate="0.1",
        annual_rate="0.18",
        relief_payment="50",
    )
    assert q.installments[0].principal == 0 and q.installments[0].charge == Decimal("50.00")


def test_quote_to_json_shape_and_strings() -> None:
    data = quote_to_json(installment())
    assert set(data) == {
        "installments",
        "total_repaid",
        "total_cost",
        "apr",
        "ear",
        "currency",
        "plan",
        "waived",
        "principal",
        "down_payment",
    }
    assert data["installments"][0] == {
        "number": 1,
        "due_date": "2027-01-31",
        "principal": "833.33",
        "charge": "60.00",
        "total": "893.33",
    }
    assert data["installments"][-1]["principal"] == "833.37"
    assert (data["total_repaid"], data["total_cost"]) == ("10720.00", "720.00")
    assert data["apr"].startswith("0.1303") and len(data["apr"].split(".")[1]) >= 6
    assert data["ear"].startswith("0.1384")
    assert (data["currency"], data["plan"], data["principal"], data["down_payment"]) == (
        "CNY",
        "installment",
        "10000.00",
        "0.00",
    )
    assert data["waived"] == {"interest": "0.00", "fees": "0.00", "late_fees": "0.00", "discount": "0.00"}
    json.dumps(data)  # plain JSON types only


def test_zero_rates_print_as_fixed_point() -> None:
    data = quote_to_json(quote("settlement", amount="100", currency="CNY", discount="0.1", first_due=FIRST))
    assert (data["apr"], data["ear"]) == ("0.00000000", "0.00000000")
    assert data["waived"]["discount"] == "10.00"


def test_inputs_accept_decimal_int_and_string_alike() -> None:
    a = installment(amount=Decimal("10000"), monthly_fee_rate=Decimal("0.006"))
    b = installment(amount=10000, monthly_fee_rate="0.0060")
    c = installment(amount=" 10000.00 ")
    assert a == b == c
