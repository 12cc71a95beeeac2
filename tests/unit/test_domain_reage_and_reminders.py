"""Limits on new plans after a broken one (re-ageing), and the reminder cadence, in the domain."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from portal.domain.account import AccountSnapshot
from portal.domain.default_policy import default_policy
from portal.domain.offers import ineligibility, new_plan_possible_on, offers_for
from portal.domain.policy import OfferPolicy, ReminderCadence
from portal.domain.policy_validation import validate_policy
from portal.domain.reage import reage_possible_on
from portal.domain.reminder_cadence import due_dates_to_remind, offsets

POLICY = default_policy()
TODAY = date(2027, 6, 15)


def account(**changes: object) -> AccountSnapshot:
    fields: dict[str, object] = {
        "currency": "CNY",
        "principal": Decimal("9000"),
        "interest": Decimal("300"),
        "fees": Decimal("0"),
        "late_fees": Decimal("0"),
        "overdue_amount": Decimal("900"),
        "minimum_due": Decimal("500"),
        "days_past_due": 40,
        "due_date": date(2027, 7, 1),
    }
    fields.update(changes)
    return AccountSnapshot(**fields)  # type: ignore[arg-type]


# --- re-ageing ----------------------------------------------------------------------------


def test_no_new_plan_after_a_broken_one_is_never_limited():
    assert reage_possible_on([], TODAY, 1, 2) is None


def test_one_new_plan_in_12_months_waits_until_the_first_has_left_the_window():
    assert reage_possible_on([date(2027, 1, 10)], TODAY, 1, 2) == date(2028, 1, 10)
    # On that very day the earlier plan is 12 months old: allowed.
    assert reage_possible_on([date(2027, 1, 10)], date(2028, 1, 10), 1, 2) is None
    assert reage_possible_on([date(2027, 1, 10)], date(2028, 1, 9), 1, 2) == date(2028, 1, 10)


def test_two_in_5_years_counts_the_older_ones_too():
    history = [date(2024, 3, 1), date(2026, 2, 1)]
    # Neither is in the last 12 months, but two in 5 years: wait until the 2024 one is 5 years old.
    assert reage_possible_on(history, TODAY, 1, 2) == date(2029, 3, 1)
    assert reage_possible_on(history, date(2029, 3, 1), 1, 2) is None
    # A policy allowing three in 5 years lets this account choose now.
    assert reage_possible_on(history, TODAY, 1, 3) is None


def test_the_later_of_the_two_windows_decides():
    history = [date(2023, 1, 1), date(2027, 1, 1)]
    assert reage_possible_on(history, TODAY, 1, 2) == date(2028, 1, 1)


def test_offers_stop_at_the_limit_with_the_reage_limit_reason():
    limited = account(last_broken_plan_on=date(2026, 1, 5), new_plans_after_broken=(date(2026, 11, 1),))
    assert "reage_limit" in ineligibility(limited, POLICY, TODAY)
    assert offers_for(limited, POLICY, TODAY) == []
    assert new_plan_possible_on(limited, POLICY, TODAY) == date(2027, 11, 1)
    # A year later the same account may choose again.
    assert ineligibility(limited, POLICY, date(2027, 11, 1)) == []
    assert offers_for(limited, POLICY, date(2027, 11, 1))


def test_the_first_plan_after_a_break_is_allowed_once_the_cool_down_is_over():
    first = account(last_broken_plan_on=date(2027, 1, 5))
    assert ineligibility(first, POLICY, TODAY) == []
    assert new_plan_possible_on(first, POLICY, TODAY) is None


def test_the_cool_down_gives_its_own_date():
    cooling = account(last_broken_plan_on=date(2027, 6, 1))
    assert ineligibility(cooling, POLICY, TODAY) == ["cooling_down"]
    assert new_plan_possible_on(cooling, POLICY, TODAY) == date(2027, 8, 30)  # 90 days on


def test_history_without_a_broken_plan_is_not_limited():
    assert ineligibility(account(new_plans_after_broken=(date(2027, 6, 1),)), POLICY, TODAY) == []


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"max_new_plans_12_months": 0}, "max_new_plans_12_months", "out_of_range"),
        ({"max_new_plans_12_months": 13}, "max_new_plans_12_months", "out_of_range"),
        ({"max_new_plans_5_years": 61}, "max_new_plans_5_years", "out_of_range"),
        ({"max_new_plans_12_months": 3, "max_new_plans_5_years": 2}, "max_new_plans_12_months", "exceeds_limit"),
    ],
)
def test_new_plan_limits_are_validated(changes, field, code):
    problems = validate_policy(replace(POLICY, **changes))
    assert [(p.field, p.code) for p in problems] == [(field, code)]


def test_new_plan_limits_default_to_the_ffiec_guidance_and_round_trip():
    assert (POLICY.max_new_plans_12_months, POLICY.max_new_plans_5_years) == (1, 2)
    changed = replace(POLICY, max_new_plans_12_months=2, max_new_plans_5_years=4)
    assert OfferPolicy.from_dict(changed.to_dict()) == changed
    old = POLICY.to_dict()
    del old["max_new_plans_12_months"], old["max_new_plans_5_years"]
    assert OfferPolicy.from_dict(old) == POLICY


# --- reminder cadence ---------------------------------------------------------------------


def test_the_default_cadence_is_3_days_before_on_the_day_and_3_days_after():
    assert all(t.reminders == ReminderCadence(3, True, 3) for t in POLICY.tiers)
    assert offsets(ReminderCadence()) == (-3, 0, 3)
    assert due_dates_to_remind(TODAY, ReminderCadence()) == {
        date(2027, 6, 18): -3,
        TODAY: 0,
        date(2027, 6, 12): 3,
    }


def test_zero_means_no_reminder_at_that_point():
    cadence = ReminderCadence(days_before=0, on_due_date=False, days_after=5)
    assert offsets(cadence) == (5,)
    assert offsets(ReminderCadence(0, False, 0)) == ()


def test_a_cadence_round_trips_and_an_old_document_reads_the_defaults():
    tiers = tuple(replace(t, reminders=ReminderCadence(7, False, 1)) if t.name == "M2" else t for t in POLICY.tiers)
    changed = replace(POLICY, tiers=tiers)
    data = changed.to_dict()
    assert data["tiers"][1]["reminders"] == {"days_before": 7, "on_due_date": False, "days_after": 1}
    assert OfferPolicy.from_dict(data) == changed
    for tier in data["tiers"]:
        del tier["reminders"]
    assert all(t.reminders == ReminderCadence() for t in OfferPolicy.from_dict(data).tiers)


@pytest.mark.parametrize(
    ("cadence", "field", "code"),
    [
        (ReminderCadence(days_before=15), "days_before", "out_of_range"),
        (ReminderCadence(days_after=-1), "days_after", "negative"),
        (ReminderCadence(days_after=15), "days_after", "out_of_range"),
    ],
)
def test_a_cadence_out_of_bounds_is_refused(cadence, field, code):
    tiers = tuple(replace(t, reminders=cadence) if t.name == "M3" else t for t in POLICY.tiers)
    problems = validate_policy(replace(POLICY, tiers=tiers))
    assert [(p.field, p.code) for p in problems] == [(f"tiers[2].reminders.{field}", code)]
    assert (
        validate_policy(
            replace(POLICY, tiers=tuple(replace(t, reminders=ReminderCadence(14, False, 14)) for t in POLICY.tiers))
        )
        == []
    )
