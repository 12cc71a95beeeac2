"""Allocating payments to a plan's installments: oldest due first, exactly.

A plan's payments fill its installments in due order (then by number): each payment
first completes what an earlier one left partly paid, and what is left after the last
installment is the cardholder's credit, never lost and never negative. How much each
installment holds depends only on the total paid, not on the order payments arrived
in; which payment paid which installment follows the order of the payments given
(callers pass them by value date).

Pure: no Flask, no database. Amounts are ``Decimal``; nothing is rounded, so the parts
always add up to the payments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal.domain.money import ZERO


@dataclass(frozen=True)
class Due:
    """One installment as allocation sees it: what it asks for and when."""

    number: int
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class Part:
    """``amount`` of payment ``payment`` (its index in the input) went to installment ``number``."""

    payment: int
    number: int
    amount: Decimal


@dataclass(frozen=True)
class Allocation:
    paid: dict[int, Decimal]  # installment number → amount it holds (every installment listed)
    parts: tuple[Part, ...]
    credit: Decimal  # paid beyond the last installment

    def settled(self, due: Due) -> bool:
        """True when ``due`` is paid in full."""
        return self.paid[due.number] >= due.amount


def _check(dues: Sequence[Due], payments: Sequence[Decimal]) -> None:
    if len({d.number for d in dues}) != len(dues):
        raise ValueError("installment numbers must be unique")
    for due in dues:
        if not due.amount.is_finite() or due.amount < ZERO:
            raise ValueError(f"installment {due.number} asks for {due.amount}, not a non-negative amount")
    for amount in payments:
        if not amount.is_finite() or amount <= ZERO:
            raise ValueError(f"a payment of {amount} is not a positive amount")


def allocate(dues: Sequence[Due], payments: Sequence[Decimal]) -> Allocation:
    """Fill ``dues`` oldest first with ``payments`` (in the order given); the rest is credit.

    Raises ValueError for a non-positive payment, a negative installment or a repeated number.
    """
    _check(dues, payments)
    order = sorted(dues, key=lambda d: (d.due_date, d.number))
    paid = {d.number: ZERO for d in dues}
    parts: list[Part] = []
    credit = ZERO
    slot = 0  # the oldest installment not yet paid in full
    for index, amount in enumerate(payments):
        left = amount
        while left > ZERO and slot < len(order):
            due = order[slot]
            take = min(left, due.amount - paid[due.number])
            if take > ZERO:
                paid[due.number] += take
                parts.append(Part(index, due.number, take))
                left -= take
            if paid[due.number] >= due.amount:
                slot += 1
        credit += left
    return Allocation(paid, tuple(parts), credit)
