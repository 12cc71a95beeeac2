"""Judging installments, plans and promises by the rules frozen into a plan."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from portal.domain.missed_payment import MissedPaymentRules
from portal.domain.plan_health import (
    Installment,
    InstallmentState,
    PlanVerdict,
    PromiseVerdict,
    installment_state,
    judge_plan,
    judge_promise,
)

RULES = MissedPaymentRules(grace_days=10, break_missed_in_a_row=2, break_days_late=30)
D = Decimal


def plan(paid: list[str], start: date = date(2026, 1, 15)) -> list[Installment]:
    return [
        Installment(n + 1, date(start.year, start.month + n, start.day), D("100.00"), D(p)) for n, p in enumerate(paid)
    ]


def test_installment_moves_from_upcoming_to_late_to_missed_at_the_grace_edges() -> None:
    item = Installment(1, date(2026, 3, 1), D("100.00"), D("99.99"))
    assert installment_state(item, date(2026, 3, 1), RULES) == InstallmentState.UPCOMING
    assert installment_state(item, date(2026, 3, 2), RULES) == InstallmentState.LATE
    assert installment_state(item, date(2026, 3, 11), RULES) == InstallmentState.LATE
    assert installment_state(item, date(2026, 3, 12), RULES) == InstallmentState.MISSED
    paid = Installment(1, date(2026, 3, 1), D("100.00"), D("100.00"))
    assert installment_state(paid, date(2027, 1, 1), RULES) == InstallmentState.PAID


def test_plan_completes_when_every_installment_is_paid() -> None:
    health = judge_plan(plan(["100", "100", "100"]), date(2026, 2, 1), RULES)
    assert health.verdict == PlanVerdict.COMPLETED
    assert (health.paid_count, health.count, health.next_due) == (3, 3, None)


def test_plan_breaks_the_day_after_one_installment_is_more_than_the_days_late() -> None:
    items = plan(["0", "0", "0"])
    edge = items[0].due_date + timedelta(days=30)
    assert judge_plan(items, edge, RULES).verdict == PlanVerdict.ACTIVE
    broken = judge_plan(items, edge + timedelta(days=1), RULES)
    assert (broken.verdict, broken.reason) == (PlanVerdict.BROKEN, "days_late")


def test_plan_breaks_on_missed_installments_in_a_row_when_that_comes_first() -> None:
    rules = MissedPaymentRules(grace_days=0, break_missed_in_a_row=2, break_days_late=365)
    items = plan(["0", "0", "0"])
    assert judge_plan(items, items[1].due_date, rules).verdict == PlanVerdict.ACTIVE
    broken = judge_plan(items, items[1].due_date + timedelta(days=1), rules)
    assert (broken.verdict, broken.reason) == (PlanVerdict.BROKEN, "missed_in_a_row")
    # A paid installment between two missed ones breaks the run.
    apart = plan(["0", "100", "0"])
    assert judge_plan(apart, apart[2].due_date + timedelta(days=1), rules).verdict == PlanVerdict.ACTIVE


def test_progress_counts_paid_late_and_names_the_next_installment() -> None:
    items = plan(["100", "40", "0"])
    health = judge_plan(items, items[1].due_date + timedelta(days=3), RULES)
    assert (health.paid_count, health.late_count, health.missed_count) == (1, 1, 0)
    assert health.next_due == items[1]
    assert health.verdict == PlanVerdict.ACTIVE


@given(st.lists(st.sampled_from(["0", "50", "100"]), min_size=1, max_size=12), st.integers(0, 500))
def test_verdict_is_completed_exactly_when_all_is_paid(paid: list[str], offset: int) -> None:
    items = plan(paid, date(2026, 1, 1))
    health = judge_plan(items, date(2026, 1, 1) + timedelta(days=offset), RULES)
    assert (health.verdict == PlanVerdict.COMPLETED) == all(p == "100" for p in paid)
    assert health.paid_count + sum(s != InstallmentState.PAID for s in health.states.values()) == len(items)


def test_promise_is_kept_by_amount_and_broken_by_date() -> None:
    by = date(2026, 5, 10)
    assert judge_promise(D("50"), by, D("50"), date(2026, 5, 1)) == PromiseVerdict.KEPT
    assert judge_promise(D("50"), by, D("49.99"), by) == PromiseVerdict.OPEN
    assert judge_promise(D("50"), by, D("49.99"), by + timedelta(days=1)) == PromiseVerdict.BROKEN
    assert judge_promise(D("50"), by, D("0"), by + timedelta(days=1), settle_days=1) == PromiseVerdict.OPEN
