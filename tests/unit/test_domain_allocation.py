"""Allocation of payments to installments: oldest first, partials carried, credit kept, exact."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.allocation import Due, Part, allocate

D = Decimal


def monthly(*amounts: str) -> list[Due]:
    return [Due(n, date(2027, 1, 15) + timedelta(days=31 * (n - 1)), D(a)) for n, a in enumerate(amounts, 1)]


def test_oldest_due_is_paid_first_and_a_partial_is_carried_into_the_next_payment() -> None:
    result = allocate(monthly("100.00", "100.00", "100.00"), [D("60.00"), D("90.00")])
    assert result.paid == {1: D("100.00"), 2: D("50.00"), 3: D("0")}
    assert result.parts == (Part(0, 1, D("60.00")), Part(1, 1, D("40.00")), Part(1, 2, D("50.00")))
    assert result.credit == 0


def test_overpayment_is_kept_as_credit() -> None:
    result = allocate(monthly("100.00", "50.00"), [D("200.01")])
    assert result.paid == {1: D("100.00"), 2: D("50.00")}
    assert result.credit == D("50.01")


def test_due_order_wins_over_the_order_installments_are_listed_in() -> None:
    dues = monthly("10", "20")
    result = allocate(list(reversed(dues)), [D("15")])
    assert result.paid == {1: D("10"), 2: D("5")}


@pytest.mark.parametrize("bad", [D("0"), D("-1"), D("NaN")])
def test_a_payment_that_is_not_positive_is_refused(bad: Decimal) -> None:
    with pytest.raises(ValueError, match="positive"):
        allocate(monthly("10"), [bad])


def test_repeated_installment_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        allocate([Due(1, date(2027, 1, 1), D("1")), Due(1, date(2027, 2, 1), D("1"))], [D("1")])


cents = st.integers(min_value=1, max_value=10**9).map(lambda c: D(c).scaleb(-2))
dues_strategy = st.lists(st.integers(min_value=0, max_value=10**8).map(lambda c: D(c).scaleb(-2)), max_size=24).map(
    lambda amounts: [Due(n, date(2027, 1, 1) + timedelta(days=30 * n), a) for n, a in enumerate(amounts, 1)]
)


@given(dues_strategy, st.lists(cents, max_size=20))
def test_every_payment_is_accounted_for_exactly_and_nothing_is_negative(
    dues: list[Due], payments: list[Decimal]
) -> None:
    result = allocate(dues, payments)
    assert sum(result.paid.values(), D(0)) + result.credit == sum(payments, D(0))
    assert result.credit >= 0
    for due in dues:
        assert D(0) <= result.paid[due.number] <= due.amount
    for index, amount in enumerate(payments):
        assert sum((p.amount for p in result.parts if p.payment == index), D(0)) <= amount
    assert all(p.amount > 0 for p in result.parts)


@given(dues_strategy, st.lists(cents, max_size=20), st.randoms())
def test_what_each_installment_holds_does_not_depend_on_payment_order(
    dues: list[Due], payments: list[Decimal], random: object
) -> None:
    shuffled = list(payments)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    first, second = allocate(dues, payments), allocate(dues, shuffled)
    assert first.paid == second.paid and first.credit == second.credit


@given(dues_strategy, st.lists(cents, max_size=20))
def test_a_later_installment_holds_money_only_when_every_earlier_one_is_settled(
    dues: list[Due], payments: list[Decimal]
) -> None:
    result = allocate(dues, payments)
    for earlier, later in pairwise(dues):
        if result.paid[later.number] > 0:
            assert result.settled(earlier)
    if result.credit > 0:
        assert all(result.settled(d) for d in dues)
