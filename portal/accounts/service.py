"""What a cardholder sees about their own account."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.agreements.models import Agreement
from portal.extensions import db
from portal.payments.models import Payment, counts_as_repayment
from portal.plans.models import Plan, PlanInstallment


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
    query = (
        select(Payment)
        .where(
            Payment.account_id == account_id,
            counts_as_repayment(),
        )
        .order_by(Payment.paid_at.desc())
        .limit(limit)
    )
    return list(db.session.execute(query).scalars())


@dataclass(frozen=True)
class PlanProgress:
    """How an open plan stands, for the account page: the next payment and how many are paid."""

    plan: Plan
    next_installment: PlanInstallment | None
    paid: int
    count: int
    agreement: Agreement | None


def plan_progress(plan: Plan) -> PlanProgress:
    """The next installment not yet paid in full, and how many are."""
    installments = sorted(plan.installments, key=lambda i: i.number)
    unpaid = [i for i in installments if i.paid < i.total]
    agreement = db.session.execute(select(Agreement).where(Agreement.plan_id == plan.id)).scalar_one_or_none()
    return PlanProgress(
        plan, unpaid[0] if unpaid else None, len(installments) - len(unpaid), len(installments), agreement
    )
