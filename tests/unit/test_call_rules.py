"""Care staff's calls under the contact rules (``rules.decide_call``): hours, flags, an
active plan, the weekly cap over messages and calls, at most six unanswered calls a day,
and a call the cardholder asked for under the service rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.notifications.rules import BLOCK, SEND, ContactFacts, ContactSettings, decide_call

NOON = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
SETTINGS = ContactSettings()
ZONE = "Asia/Shanghai"


def facts(**changes: object) -> ContactFacts:
    return ContactFacts(**{"time_zone": ZONE, **changes})  # type: ignore[arg-type]


def test_a_call_inside_the_hours_with_nothing_against_it_may_go():
    assert decide_call(NOON, facts(), [], SETTINGS).action == SEND


def test_a_call_outside_the_hours_is_blocked_not_held():
    late = datetime(2026, 11, 28, 13, 30, tzinfo=UTC)  # 21:30 in Shanghai
    decision = decide_call(late, facts(), [], SETTINGS)
    assert (decision.action, decision.reason) == (BLOCK, "outside_hours")


def test_the_seventh_unanswered_call_of_the_local_day_is_blocked():
    six = [NOON - timedelta(minutes=m) for m in range(1, 7)]
    assert decide_call(NOON, facts(), six[:5], SETTINGS).action == SEND
    decision = decide_call(NOON, facts(), six, SETTINGS)
    assert (decision.action, decision.reason) == (BLOCK, "daily_call_cap")
    yesterday = [t - timedelta(days=1) for t in six]
    assert decide_call(NOON, facts(), yesterday, SETTINGS).action == SEND  # a new local day


def test_messages_and_calls_share_the_weekly_cap():
    week = tuple(NOON - timedelta(days=d, hours=1) for d in range(7))
    decision = decide_call(NOON, facts(others=week), [], SETTINGS)
    assert (decision.action, decision.reason) == (BLOCK, "weekly_cap")


def test_flags_and_an_active_plan_stop_a_collection_call():
    assert decide_call(NOON, facts(flags=frozenset({"dispute"})), [], SETTINGS).reason == "dispute"
    assert decide_call(NOON, facts(has_active_plan=True), [], SETTINGS).reason == "active_plan"
    assert decide_call(NOON, facts(flags=frozenset({"optout_sms"})), [], SETTINGS).action == SEND  # texts only


def test_a_call_the_cardholder_asked_for_follows_the_service_rules():
    asked = facts(flags=frozenset({"dispute"}), has_active_plan=True, others=(NOON,) * 9)
    six = [NOON - timedelta(minutes=m) for m in range(1, 7)]
    assert decide_call(NOON, asked, six, SETTINGS, requested=True).action == SEND
    assert decide_call(NOON, facts(flags=frozenset({"do_not_contact"})), [], SETTINGS, requested=True).action == BLOCK
    late = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    assert decide_call(late, asked, [], SETTINGS, requested=True).reason == "outside_hours"


def test_a_vulnerable_cardholder_may_be_called_by_a_person():
    # The flag stops AUTOMATED collection messages; an agent's call is the contact it asks for.
    vulnerable = facts(flags=frozenset({"vulnerable"}))
    assert decide_call(NOON, vulnerable, [], SETTINGS).action == SEND
    on_plan = facts(flags=frozenset({"vulnerable"}), has_active_plan=True)
    assert decide_call(NOON, on_plan, [], SETTINGS).reason == "active_plan"  # the other rules still hold
    from portal.notifications.rules import decide

    assert decide("sms", NOON, vulnerable, SETTINGS, kind="plan_broken").reason == "vulnerable"  # automated: no
