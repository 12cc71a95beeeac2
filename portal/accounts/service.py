"""What a cardholder sees about their own account."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.extensions import db
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


def recent_payments(account_id: int, limit: int = 5) -> list[Payment]:
    """The account's latest payments in, newest first: those that count, and those the
    bank took back (shown as such, so a cardholder is never left wondering where one went)."""
    query = (
        select(Payment)
        .where(
            Payment.account_id == account_id,
            Payment.direction == Direction.CREDIT,
            Payment.reverses_id.is_(None),
            Payment.status.in_((PaymentStatus.POSTED, PaymentStatus.REVERSED)),
        )
        .order_by(Payment.paid_at.desc(), Payment.id.desc())
        .limit(limit)
    )
    return list(db.session.execute(query).scalars())
