"""Judging a plan's installments, the plan itself and a promise to pay, on a given day.

The words are the agreement's (``portal.agreements.key_terms.missed_payment_terms``), and
the numbers are the rules frozen into the plan (``portal.domain.missed_payment``):

- an installment is **paid** once it holds its whole amount; until its due date it is
  **upcoming**; after it, unpaid, it is **late** while the grace days last (paying now
  still counts as on time), and **missed** after them;
- a plan is **completed** when every installment is paid, **broken** when
  ``break_missed_in_a_row`` installments in a row are missed or one unpaid installment is
  more than ``break_days_late`` days late, and **active** otherwise;
- a promise to pay is **kept** once what was paid since it was made reaches its amount,
  **broken** when its date has passed (and ``settle_days`` more, for a transfer booked a
  day later) without that, and **open** until then.

Pure: no Flask, no database; the servicing run, the pages and the CLI all ask here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from portal.domain.missed_payment import MissedPaymentRules

__all__ = [
    "Installment",
    "InstallmentState",
    "PlanHealth",
    "PlanVerdict",
    "PromiseVerdict",
    "installment_state",
    "judge_plan",
    "judge_promise",
]


class InstallmentState(StrEnum):
    PAID = "paid"
    UPCOMING = "upcoming"  # not yet past its due date
    LATE = "late"  # past its due date, unpaid, within the grace days
    MISSED = "missed"  # unpaid after the grace days


class PlanVerdict(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    BROKEN = "broken"


class PromiseVerdict(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"


@dataclass(frozen=True, slots=True)
class Installment:
    """One installment as judging sees it."""

    number: int
    due_date: date
    amount: Decimal
    paid: Decimal


def installment_state(item: Installment, day: date, rules: MissedPaymentRules) -> InstallmentState:
    """The state of ``item`` on ``day`` under ``rules``."""
    if item.paid >= item.amount:
        return InstallmentState.PAID
    if day <= item.due_date:
        return InstallmentState.UPCOMING
    if day <= item.due_date + timedelta(days=rules.grace_days):
        return InstallmentState.LATE
    return InstallmentState.MISSED


@dataclass(frozen=True, slots=True)
class PlanHealth:
    """A plan judged on one day: its verdict, why, and the progress the pages show."""

    verdict: PlanVerdict
    states: dict[int, InstallmentState]  # installment number → state
    paid_count: int
    count: int
    next_due: Installment | None  # the oldest installment not paid in full
    reason: str | None  # why it broke: "missed_in_a_row" or "days_late"

    @property
    def late_count(self) -> int:
        return sum(state == InstallmentState.LATE for state in self.states.values())

    @property
    def missed_count(self) -> int:
        return sum(state == InstallmentState.MISSED for state in self.states.values())


def judge_plan(installments: Sequence[Installment], day: date, rules: MissedPaymentRules) -> PlanHealth:
    """Judge a plan's ``installments`` on ``day`` by the plan's own frozen ``rules``."""
    order = sorted(installments, key=lambda i: (i.due_date, i.number))
    states = {i.number: installment_state(i, day, rules) for i in order}
    paid_count = sum(state == InstallmentState.PAID for state in states.values())
    next_due = next((i for i in order if states[i.number] != InstallmentState.PAID), None)
    reason = _break_reason(order, states, day, rules)
    if order and paid_count == len(order):
        verdict = PlanVerdict.COMPLETED
    elif reason is not None:
        verdict = PlanVerdict.BROKEN
    else:
        verdict = PlanVerdict.ACTIVE
    return PlanHealth(verdict, states, paid_count, len(order), next_due, reason)


def _break_reason(
    order: Sequence[Installment], states: dict[int, InstallmentState], day: date, rules: MissedPaymentRules
) -> str | None:
    run = 0
    for item in order:
        run = run + 1 if states[item.number] == InstallmentState.MISSED else 0
        if run >= rules.break_missed_in_a_row:
            return "missed_in_a_row"
    for item in order:
        if states[item.number] != InstallmentState.PAID and (day - item.due_date).days > rules.break_days_late:
            return "days_late"
    return None


def judge_promise(
    amount: Decimal, pay_by: date, paid_since_made: Decimal, day: date, settle_days: int = 0
) -> PromiseVerdict:
    """A promise of ``amount`` by ``pay_by``, of which ``paid_since_made`` has come in, on ``day``."""
    if paid_since_made >= amount:
        return PromiseVerdict.KEPT
    if day > pay_by + timedelta(days=settle_days):
        return PromiseVerdict.BROKEN
    return PromiseVerdict.OPEN
