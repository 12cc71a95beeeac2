"""Contact rules at their edges: hours in the cardholder's zone, caps, flags, DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal import clock
from portal.db_types import utcnow
from portal.notifications.rules import (
    BLOCK,
    HOLD,
    SEND,
    ContactFacts,
    ContactSettings,
    blocking_reason,
    cap_reason,
    decide,
    decide_service,
    in_window,
    next_allowed,
)

DEFAULT = ContactSettings()
SH, HK, NY = "Asia/Shanghai", "Asia/Hong_Kong", "America/New_York"


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def decision_at(instant: datetime, zone: str = SH, **facts):  # type: ignore[no-untyped-def]
    return decide("sms", instant, ContactFacts(time_zone=zone, **facts), DEFAULT)


def test_defaults_are_the_stricter_of_us_and_china():
    assert (DEFAULT.start, DEFAULT.end, DEFAULT.weekly_cap, DEFAULT.daily_cap) == (time(8), time(21), 7, 3)


# --- hours ------------------------------------------------------------------------


@pytest.mark.parametrize("zone", [SH, HK, NY])
def test_hours_at_the_edges(zone):
    early = decision_at(local(zone, 2027, 6, 1, 7, 59, 59), zone)
    assert early.action == HOLD and early.reason == "outside_hours"
    assert early.send_at == local(zone, 2027, 6, 1, 8, 0)
    assert decision_at(local(zone, 2027, 6, 1, 8, 0), zone).action == SEND
    assert decision_at(local(zone, 2027, 6, 1, 20, 59, 59), zone).action == SEND
    late = decision_at(local(zone, 2027, 6, 1, 21, 0), zone)
    assert late.action == HOLD and late.send_at == local(zone, 2027, 6, 2, 8, 0)


def test_held_time_is_returned_in_utc():
    held = decision_at(local(SH, 2027, 6, 1, 23, 30))
    assert held.send_at.tzinfo == UTC and held.send_at == datetime(2027, 6, 2, 0, 0, tzinfo=UTC)


def test_the_same_instant_is_allowed_in_one_zone_and_held_in_another():
    instant = datetime(2027, 6, 1, 13, 0, tzinfo=UTC)  # 21:00 Shanghai, 09:00 New York
    assert decision_at(instant, SH).action == HOLD
    assert decision_at(instant, HK).action == HOLD
    assert decision_at(instant, NY).action == SEND


def test_held_over_spring_forward_lands_at_eight_local():
    # New York clocks jump from 02:00 to 03:00 on 2027-03-14.
    held = decision_at(local(NY, 2027, 3, 13, 22, 0), NY)
    assert held.send_at == local(NY, 2027, 3, 14, 8, 0)
    assert held.send_at.astimezone(ZoneInfo(NY)).hour == 8
    assert held.send_at == datetime(2027, 3, 14, 12, 0, tzinfo=UTC)  # EDT, UTC-4
    assert held.send_at - local(NY, 2027, 3, 13, 22, 0) == timedelta(hours=9)  # one hour fewer


def test_held_over_fall_back_lands_at_eight_local():
    # New York clocks go back from 02:00 to 01:00 on 2027-11-07.
    held = decision_at(local(NY, 2027, 11, 6, 21, 30), NY)
    assert held.send_at.astimezone(ZoneInfo(NY)).replace(tzinfo=None) == datetime(2027, 11, 7, 8, 0)
    assert held.send_at == datetime(2027, 11, 7, 13, 0, tzinfo=UTC)  # EST, UTC-5
    # Held in the repeated hour itself (01:30 EDT and 01:30 EST) both land at 08:00 EST.
    first = datetime(2027, 11, 7, 5, 30, tzinfo=UTC)
    second = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)
    assert decision_at(first, NY).send_at == decision_at(second, NY).send_at == datetime(2027, 11, 7, 13, 0, tzinfo=UTC)


def test_window_is_a_deployment_setting():
    china_only = ContactSettings(start=time(8), end=time(22))
    instant = local(SH, 2027, 6, 1, 21, 30)
    assert decide("sms", instant, ContactFacts(SH), DEFAULT).action == HOLD
    assert decide("sms", instant, ContactFacts(SH), china_only).action == SEND
    with pytest.raises(ValueError):
        ContactSettings(start=time(21), end=time(8))


def test_uses_the_frozen_portal_clock(frozen):
    frozen.set(local(SH, 2027, 6, 1, 6, 0))
    assert not in_window(utcnow(), SH, DEFAULT)
    assert next_allowed(utcnow(), SH, DEFAULT) == local(SH, 2027, 6, 1, 8, 0)
    frozen.set(local(SH, 2027, 6, 1, 9, 0))
    assert decision_at(utcnow()).action == SEND
    assert clock.now() == local(SH, 2027, 6, 1, 9, 0)


# --- caps -------------------------------------------------------------------------


def _days_before(now: datetime, count: int) -> tuple[datetime, ...]:
    return tuple(now - timedelta(days=i + 1) for i in range(count))


def test_weekly_cap_seventh_ok_eighth_blocked():
    now = local(SH, 2027, 6, 10, 10, 0)
    assert decision_at(now, others=_days_before(now, 6)).action == SEND  # the 7th in 7 days
    blocked = decision_at(now, others=(*_days_before(now, 7)[:6], now - timedelta(days=6, hours=23)))
    assert blocked.action == BLOCK and blocked.reason == "weekly_cap"  # the 8th


def test_weekly_cap_is_rolling_not_calendar():
    now = local(SH, 2027, 6, 10, 10, 0)
    exactly_a_week_ago = (now - timedelta(days=7),)
    others = _days_before(now, 6) + exactly_a_week_ago
    assert decision_at(now, others=others).action == SEND  # the oldest has just left the window
    # Messages already planned in the coming days count too.
    later = (*(now + timedelta(days=i + 1) for i in range(6)), now + timedelta(hours=1))
    assert decision_at(now, others=later).reason == "weekly_cap"


def test_weekly_cap_checks_every_window_that_holds_the_message():
    now = local(SH, 2027, 6, 10, 10, 0)
    # 4 in the past 3 days and 3 in the next 3 days: no single window (now-7d, now] has 7,
    # but [now-3d, now+4d) holds 7 others plus this one.
    past = (*(now - timedelta(days=d) for d in (1, 2, 3)), now - timedelta(hours=30))
    others = (*past, *(now + timedelta(days=d) for d in (1, 2, 3)))
    assert cap_reason(now, SH, others, DEFAULT) == "weekly_cap"
    assert cap_reason(now, SH, others[1:], DEFAULT) is None


def test_daily_cap_counts_the_cardholders_calendar_day():
    now = local(SH, 2027, 6, 10, 20, 0)
    two_today = (local(SH, 2027, 6, 10, 8, 0), local(SH, 2027, 6, 10, 12, 0))
    assert decision_at(now, others=two_today).action == SEND  # the 3rd today
    blocked = decision_at(now, others=(*two_today, local(SH, 2027, 6, 10, 15, 0)))
    assert blocked.action == BLOCK and blocked.reason == "daily_cap"  # the 4th today
    yesterday_late = (local(SH, 2027, 6, 9, 20, 59), *two_today)
    assert decision_at(local(SH, 2027, 6, 10, 8, 0), others=yesterday_late[:1] + two_today[:1]).action == SEND


def test_held_message_is_counted_on_the_day_it_will_go():
    tomorrow_morning = (local(SH, 2027, 6, 11, 8, 0),) * 3
    held = decision_at(local(SH, 2027, 6, 10, 22, 0), others=tomorrow_morning)
    assert held.action == BLOCK and held.reason == "daily_cap"
    assert decision_at(local(SH, 2027, 6, 10, 12, 0), others=tomorrow_morning).action == SEND


def test_caps_are_settings():
    strict = ContactSettings(weekly_cap=2, daily_cap=1)
    now = local(SH, 2027, 6, 10, 12, 0)
    assert decide("sms", now, ContactFacts(SH, others=(now - timedelta(hours=1),)), strict).reason == "daily_cap"
    assert decide("sms", now, ContactFacts(SH, others=_days_before(now, 2)), strict).reason == "weekly_cap"


# --- flags and plans --------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "flags", "reason"),
    [
        ("sms", {"optout_sms"}, "optout_sms"),
        ("email", {"optout_email"}, "optout_email"),
        ("sms", {"do_not_contact"}, "do_not_contact"),
        ("email", {"dispute"}, "dispute"),
        ("sms", {"deceased"}, "deceased"),
        ("sms", {"fraud"}, "fraud"),
        ("email", {"optout_sms"}, None),
        ("sms", {"optout_email", "vip"}, None),
    ],
)
def test_flags_block_their_channels(channel, flags, reason):
    assert blocking_reason(channel, flags, has_active_plan=False) == reason
    outcome = decide(channel, local(SH, 2027, 6, 1, 10, 0), ContactFacts(SH, flags=frozenset(flags)), DEFAULT)
    assert outcome.action == (BLOCK if reason else SEND) and outcome.reason == reason


def test_active_plan_blocks_even_at_night():
    outcome = decision_at(local(SH, 2027, 6, 1, 23, 0), has_active_plan=True)
    assert outcome.action == BLOCK and outcome.reason == "active_plan"


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        in_window(datetime(2027, 6, 1, 10), SH, DEFAULT)


# --- property: the planned time is always allowed and never in the past -----------

ZONES = [
    SH,
    HK,
    NY,
    "Europe/London",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/St_Johns",
    "Pacific/Apia",
    "Africa/Casablanca",
    "UTC",
]


@settings(max_examples=400, deadline=None)
@given(
    instant=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
    zone=st.sampled_from(ZONES),
    start_hour=st.integers(0, 22),
    length=st.integers(1, 23),
)
def test_planned_time_is_inside_the_window_and_not_before_now(instant, zone, start_hour, length):
    end_minutes = min(start_hour * 60 + length * 60, 23 * 60 + 59)
    rules = ContactSettings(start=time(start_hour), end=time(end_minutes // 60, end_minutes % 60))
    planned = next_allowed(instant, zone, rules)
    assert planned >= instant
    assert in_window(planned, zone, rules)
    assert planned - instant < timedelta(days=2)
    if in_window(instant, zone, rules):
        assert planned == instant


@settings(max_examples=200, deadline=None)
@given(
    instant=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)),
    zone=st.sampled_from(ZONES),
    offsets=st.lists(st.integers(-14 * 24 * 60, 14 * 24 * 60), max_size=12),
)
def test_a_sent_or_held_message_never_breaks_a_cap(instant, zone, offsets):
    others = tuple(instant + timedelta(minutes=m) for m in offsets)
    outcome = decide("sms", instant, ContactFacts(zone, others=others), DEFAULT)
    assert outcome.action in (SEND, HOLD) or outcome.reason in ("weekly_cap", "daily_cap")
    if outcome.action != BLOCK:
        at = outcome.send_at
        assert in_window(at, zone, DEFAULT) and at >= instant
        everyone = sorted((*others, at))
        for start in everyone:
            if start <= at < start + timedelta(days=7):  # every 7-day window holding this message
                assert sum(1 for t in everyone if start <= t < start + timedelta(days=7)) <= DEFAULT.weekly_cap
        day = at.astimezone(ZoneInfo(zone)).date()
        assert sum(1 for t in everyone if t.astimezone(ZoneInfo(zone)).date() == day) <= DEFAULT.daily_cap


# --- deployment settings ------------------------------------------------------------


def test_contact_rules_and_channels_come_from_the_environment(tmp_path):
    from portal.config import ConfigError, load_config

    defaults = load_config(tmp_path, {})
    assert (defaults["CONTACT_START"], defaults["CONTACT_END"]) == (time(8), time(21))
    assert (defaults["CONTACT_WEEKLY_CAP"], defaults["CONTACT_DAILY_CAP"]) == (7, 3)
    assert defaults["MESSAGE_BACKEND"] == "dev"
    custom = load_config(
        tmp_path,
        {
            "PORTAL_CONTACT_START": "09:00",
            "PORTAL_CONTACT_END": "20:30",
            "PORTAL_CONTACT_WEEKLY_CAP": "5",
            "PORTAL_CONTACT_DAILY_CAP": "2",
            "PORTAL_SMS_URL": "https://sms.example/send",
            "PORTAL_SMS_KEY": "k",
        },
    )
    assert (custom["CONTACT_START"], custom["CONTACT_END"]) == (time(9), time(20, 30))
    assert (custom["CONTACT_WEEKLY_CAP"], custom["CONTACT_DAILY_CAP"]) == (5, 2)
    assert custom["MESSAGE_BACKEND"] == "live" and custom["SMS_INBOUND_KEY"] == "k"
    for bad in (
        {"PORTAL_CONTACT_START": "8am"},
        {"PORTAL_CONTACT_START": "22:00"},
        {"PORTAL_CONTACT_DAILY_CAP": "0"},
        {"PORTAL_MESSAGE_BACKEND": "console"},
    ):
        with pytest.raises(ConfigError):
            load_config(tmp_path, bad)
    from portal.config import _messaging

    assert _messaging({}, production=True)["MESSAGE_BACKEND"] == "live"  # never the dev channel by default
    sms = {"PORTAL_SMS_URL": "https://sms.example/send", "PORTAL_SMS_KEY": "k"}
    with pytest.raises(ConfigError, match="PORTAL_PUBLIC_URL"):
        _messaging(sms, production=True)
    with pytest.raises(ConfigError, match="PORTAL_SMS_KEY"):
        _messaging({"PORTAL_SMS_URL": "https://sms.example/send"}, production=True)
    assert (
        _messaging({**sms, "PORTAL_PUBLIC_URL": "https://pay.bank.example/"}, production=True)["PUBLIC_URL"]
        == "https://pay.bank.example"
    )


def test_service_messages_keep_hours_and_opt_outs_but_not_collection_blocks():
    noon, night = local(SH, 2026, 12, 1, 12), local(SH, 2026, 12, 1, 23)
    busy = tuple(local(SH, 2026, 12, 1, 9) + timedelta(minutes=i) for i in range(7))

    def service(instant, **facts):  # type: ignore[no-untyped-def]
        return decide_service("sms", instant, ContactFacts(time_zone=SH, **facts), DEFAULT)

    for facts in ({"flags": frozenset({"dispute"})}, {"has_active_plan": True}, {"others": busy}):
        assert decision_at(noon, **facts).action == BLOCK
        assert service(noon, **facts).action == SEND
    assert service(night).action == HOLD and service(night).send_at == local(SH, 2026, 12, 2, 8)
    for flag in ("do_not_contact", "optout_sms", "deceased", "fraud"):
        blocked = service(noon, flags=frozenset({flag}))
        assert (blocked.action, blocked.reason) == (BLOCK, flag)
    assert decide_service("fax", noon, ContactFacts(time_zone=SH), DEFAULT).reason == "unknown_channel"


def test_an_active_plan_does_not_silence_the_reminders_of_a_plan_or_promise():
    from portal.notifications.rules import REMINDER_KINDS, blocking_reason

    assert {"plan_reminder", "promise_reminder"} == REMINDER_KINDS
    for kind in REMINDER_KINDS:
        assert blocking_reason("sms", [], True, kind) is None
        # Every other rule still holds for them.
        assert blocking_reason("sms", ["do_not_contact"], True, kind) == "do_not_contact"
        assert blocking_reason("sms", ["optout_sms"], True, kind) == "optout_sms"
    for kind in ("plan_link", "plan_broken", None):
        assert blocking_reason("sms", [], True, kind) == "active_plan"


def test_a_vulnerable_cardholder_gets_no_automated_collection_message():
    from portal.notifications.rules import blocking_reason

    vulnerable = ["vulnerable"]
    for kind in ("plan_broken", None, "some_new_campaign"):
        assert blocking_reason("sms", vulnerable, False, kind) == "vulnerable"
        assert blocking_reason("email", vulnerable, False, kind) == "vulnerable"
    # A reminder of a payment they agreed to, and a link an agent sends after talking to them, still go.
    for kind in ("plan_reminder", "promise_reminder", "plan_link"):
        assert blocking_reason("sms", vulnerable, False, kind) is None
    # The stricter flags still win, and an active plan still silences a plan link.
    assert blocking_reason("sms", [*vulnerable, "deceased"], False, "plan_reminder") == "deceased"
    assert blocking_reason("sms", [*vulnerable, "fraud"], False, "plan_link") == "fraud"
    assert blocking_reason("sms", vulnerable, True, "plan_link") == "active_plan"
    noon = local(SH, 2026, 12, 1, 12)
    outcome = decide("sms", noon, ContactFacts(SH, flags=frozenset(vulnerable)), DEFAULT, "plan_broken")
    assert (outcome.action, outcome.reason) == (BLOCK, "vulnerable")
    # A confirmation of what they did themselves is a service message: it is not held back.
    assert decide_service("sms", noon, ContactFacts(SH, flags=frozenset(vulnerable)), DEFAULT).action == SEND


def test_bereavement_and_fraud_stop_reminders_service_messages_and_offers():
    from portal.domain.policy import DEFAULT_BLOCKING_FLAGS
    from portal.notifications.rules import blocking_reason

    noon = local(SH, 2026, 12, 1, 12)
    for flag in ("deceased", "fraud"):
        for kind in ("plan_reminder", "promise_reminder", "plan_link", "plan_broken"):
            assert blocking_reason("sms", [flag], False, kind) == flag
        assert decide_service("email", noon, ContactFacts(SH, flags=frozenset({flag})), DEFAULT).reason == flag
        assert flag in DEFAULT_BLOCKING_FLAGS
    assert "vulnerable" not in DEFAULT_BLOCKING_FLAGS  # forbearance stays open to a vulnerable person
