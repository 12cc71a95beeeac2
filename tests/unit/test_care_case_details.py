"""What the case file says in words: the missed due date, why a plan link waits, the reason."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from portal.care.case_details import DueDates, case_reason, due_dates, link_hold
from portal.plans.models import PlanState

TODAY = date(2026, 11, 28)


def test_the_missed_due_date_counts_back_from_the_day_dpd_was_counted():
    assert due_dates(date(2026, 12, 15), 35, TODAY, TODAY) == DueDates(date(2026, 10, 24), date(2026, 12, 15))
    # Counted ten days ago: the missed date does not drift as days pass without a new count.
    assert due_dates(date(2026, 11, 1), 10, date(2026, 11, 11), TODAY) == DueDates(date(2026, 11, 1), None)
    # Never dated: counted today.
    assert due_dates(date(2026, 12, 15), 1, None, TODAY).missed == date(2026, 11, 27)


def test_an_account_not_past_due_has_only_its_due_date():
    assert due_dates(date(2026, 12, 15), 0, TODAY, TODAY) == DueDates(None, date(2026, 12, 15))


@given(st.integers(min_value=1, max_value=3000), st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)))
def test_the_missed_due_date_is_never_in_the_future_and_dpd_days_before_the_count(dpd, due):
    dues = due_dates(due, dpd, TODAY, TODAY)
    assert dues.missed is not None and dues.missed < TODAY and (TODAY - dues.missed).days == dpd
    assert dues.next_due is None or dues.next_due > dues.missed


def plan(state):
    return SimpleNamespace(state=state)


def test_a_plan_link_waits_for_flags_first_then_open_plans():
    assert link_hold([], []) is None
    assert link_hold(None, [plan(PlanState.BROKEN), plan(PlanState.COMPLETED)]) is None
    assert link_hold(["optout_sms"], []) is None  # the other channel may still do
    assert link_hold(["vulnerable", "dispute"], [plan(PlanState.ACTIVE)]) == "dispute"
    assert link_hold(["fraud", "deceased"], []) == "fraud"
    assert link_hold([], [plan(PlanState.BROKEN), plan(PlanState.ACTIVE)]) == "active_plan"
    assert link_hold([], [plan(PlanState.PENDING_APPROVAL)]) == "request_pending"
    assert link_hold([], [plan(PlanState.PENDING_SIGNATURE)]) == "awaiting_signature"


def event(kind, **data):
    return SimpleNamespace(kind=kind, data=data)


def test_the_newest_reason_wins_whoever_gave_it():
    staff, request = event("reason", reason="illness"), event("plan_requested", type="installment", reason="lost_job")
    assert case_reason([request, staff]) == ("lost_job", "plan_requested")
    assert case_reason([staff, request]) == ("illness", "reason")
    # Events without a known reason are passed over.
    assert case_reason([event("note", text="hi"), event("plan_requested", reason="made_up"), staff]) == (
        "illness",
        "reason",
    )
    assert case_reason([]) == (None, None)
