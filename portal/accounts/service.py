"""What a cardholder sees about their own account."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_

from portal.accounts.models import CardAccount
from portal.db_types import one_of
from portal.payments.models import Direction, Payment, PaymentStatus


@dataclass(frozen=True)
class Stage:
    """A plain-words description of how far behind an account is."""

    key: str  # current, early, late, serious, default
    min_dpd: int


# Stages for explanations only; offer tiers are bank policy (see the policies package).
STAGES = (Stage("current", 0), Stage("early", 1), Stage("late", 30), Stage("serious", 90), Stage("default", 180))


def stage_for(days_past_due: int) -> Stage:
    return [stage for stage in STAGES if days_past_due >= stage.min_dpd][-1]


@dataclass(frozen=True)
class BalanceLine:
    key: str
    amount: Decimal


def balance_lines(account: CardAccount) -> list[BalanceLine]:
    return [
        BalanceLine("principal", account.principal),
        BalanceLine("interest", account.interest),
        BalanceLine("fees", account.fees),
        BalanceLine("late_fees", account.late_fees),
    ]


def shown_payments(payment: Any = Payment) -> ColumnElement[bool]:
    """The payments a cardholder is shown: money in, those that count and those the bank
    took back (shown as such, so a cardholder is never left wondering where one went).
    ``payment`` is ``Payment`` or an alias of it."""
    return and_(
        payment.direction == Direction.CREDIT,
        payment.reverses_id.is_(None),
        one_of(payment.status, (PaymentStatus.POSTED, PaymentStatus.REVERSED)),
    )


def newest_first(payment: Any = Payment) -> tuple[Any, ...]:
    return (payment.paid_at.desc(), payment.id.desc())
