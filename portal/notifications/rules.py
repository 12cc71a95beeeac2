"""Contact rules for collection messages: pure functions, no Flask, no database.

Rules (defaults are the stricter of the US and Chinese rules; see RULES.md):

* Nothing on a channel the cardholder opted out of (``optout_sms`` / ``optout_email``),
  nothing at all with ``do_not_contact``, ``dispute``, ``deceased`` or ``fraud``, nothing
  while a signed plan is active (CBRC Art. 70: collection stops unless the cardholder
  defaults) — except the reminders that belong to a plan or promise
  (``REMINDER_KINDS``): an active plan or an open promise no longer silences a reminder
  of its own payment. All the other rules hold for them.
* ``vulnerable`` (illness, a recent loss, mental-health or money-advice support told to
  care staff): no AUTOMATED collection message, such as the notice that a plan ended; a
  vulnerable person is reached by someone who can listen and adapt (FCA CONC 7.3 and the
  UK's guidance on vulnerable customers; the CBA's collection guidance asks the same
  care). Two kinds still go: the reminders of a payment they agreed to
  (``REMINDER_KINDS``: missing it would harm them more than the reminder does), and a
  plan link an agent sends (``PERSON_SENT_KINDS``), which a person decides on after
  talking to them; and care staff's own calls (``decide_call``) are the person contact
  the flag asks for. Offers stay open to them: forbearance is what they need most.
* ``deceased`` (bereavement) and ``fraud`` stop every collection AND service message
  (``NO_SERVICE_FLAGS``); the policy's blocking flags stop their offers too. The estate
  or the fraud team is dealt with by people, outside this portal's messages.
* Only inside the allowed hours in the cardholder's own time zone, ``start <= local
  time < end`` (default 08:00-21:00). A message outside them is held until the next
  window start, never dropped.
* At most ``weekly_cap`` collection messages in any 7 consecutive days (Regulation F
  presumes more than 7 in 7 days is harassment) and ``daily_cap`` per local calendar
  day. Messages already sent count at their send time, queued ones at their planned
  time; a message that would break a cap is blocked.

Phone calls care staff make (``portal.care.contact``) are collection contacts too: they
count toward both caps beside the messages (an SMS after a day of calls obeys the daily
cap), must fall inside the allowed hours, and at most ``daily_call_cap`` of them a local
day may go unanswered (China's collection guidance: 6), see ``decide_call``. A call the
cardholder asked for (a call-back) follows the service rules instead.

Messages a cardholder asked for (sign-in codes) are not collection messages and never
reach these rules. Service messages (the confirmation of something the cardholder did or
asked for: a request received or decided, a plan accepted, a promise recorded) follow
`decide_service`: contact hours and the cardholder's own "no messages" choices hold,
but a dispute or an active plan does not silence them and they count against no cap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK = timedelta(days=7)
# Flags that stop every collection message. Deceased and fraud also stop all offers.
NO_CONTACT_FLAGS = ("do_not_contact", "dispute", "deceased", "fraud")
# Flags that stop service messages too: the cardholder's own "no contact", and accounts
# whose holder cannot or must not be written to.
NO_SERVICE_FLAGS = ("do_not_contact", "deceased", "fraud")
CHANNELS = ("sms", "email")
# Collection messages about a payment the cardholder agreed to make (an installment of
# their plan, their promise to pay): an active plan does not block them.
PLAN_REMINDER, PROMISE_REMINDER = "plan_reminder", "promise_reminder"
REMINDER_KINDS = frozenset({PLAN_REMINDER, PROMISE_REMINDER})
# A vulnerable cardholder gets no automated collection message (see the module notes);
# these kinds are sent by a person who has spoken to them, or remind them of their own
# agreed payment.
VULNERABLE = "vulnerable"
# A call care staff make (``decide_call``) is a person's contact too.
CALL = "phone"
PERSON_SENT_KINDS = frozenset({"plan_link", CALL})

SEND, HOLD, BLOCK = "send", "hold", "block"
# Every reason ``decide`` and ``decide_service`` may block with (staff screens word each).
BLOCK_REASONS = frozenset(
    {*NO_CONTACT_FLAGS, *(f"optout_{channel}" for channel in CHANNELS), "active_plan", "weekly_cap", "daily_cap"}
    | {"unknown_channel", VULNERABLE}
)


@dataclass(frozen=True)
class ContactSettings:
    """The deployment's contact rules (``PORTAL_CONTACT_*``)."""

    start: time = time(8, 0)
    end: time = time(21, 0)
    weekly_cap: int = 7
    daily_cap: int = 3
    daily_call_cap: int = 6  # unanswered calls a local day

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("the contact window must start before it ends")
        if self.weekly_cap < 1 or self.daily_cap < 1 or self.daily_call_cap < 1:
            raise ValueError("contact caps must be at least 1")


@dataclass(frozen=True)
class ContactFacts:
    """What is known about the account when a message is queued or sent.

    ``others`` are the planned or actual send times (aware) of the account's other
    collection messages that count: sent, being sent, or queued.
    """

    time_zone: str
    flags: frozenset[str] = frozenset()
    has_active_plan: bool = False
    others: tuple[datetime, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Decision:
    """``send`` now, ``hold`` until ``send_at``, or ``block`` for ``reason``."""

    action: str
    send_at: datetime
    reason: str | None = None


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("contact rules need aware datetimes")
    return instant


def in_window(instant: datetime, time_zone: str, settings: ContactSettings) -> bool:
    """True when ``instant`` is inside the allowed hours in ``time_zone``."""
    local = _aware(instant).astimezone(ZoneInfo(time_zone))
    return settings.start <= local.time() < settings.end


def _window_start(day: date, zone: ZoneInfo, settings: ContactSettings) -> datetime:
    """The UTC instant of ``settings.start`` on local ``day``.

    A start time that falls into a spring-forward gap resolves (fold=0) to the first
    real wall-clock time after the gap, which is still inside the window.
    """
    return datetime.combine(day, settings.start, tzinfo=zone).astimezone(UTC)


def next_allowed(instant: datetime, time_zone: str, settings: ContactSettings) -> datetime:
    """``instant`` itself when inside the window, else the next window start (UTC)."""
    instant = _aware(instant)
    if in_window(instant, time_zone, settings):
        return instant.astimezone(UTC)
    zone = ZoneInfo(time_zone)
    local = instant.astimezone(zone)
    day = local.date()
    if local.time() >= settings.end:
        day += timedelta(days=1)
    candidate = _window_start(day, zone, settings)
    # Only a zone whose clocks jump across the whole window could miss; step a day on.
    while candidate < instant or not in_window(candidate, time_zone, settings):
        day += timedelta(days=1)
        candidate = _window_start(day, zone, settings)
    return candidate


def blocking_reason(channel: str, flags: Iterable[str], has_active_plan: bool, kind: str | None = None) -> str | None:
    """The rule that forbids a collection message of ``kind`` on ``channel`` now, if one
    does (an active plan does not forbid the ``REMINDER_KINDS``)."""
    flags = set(flags)
    for flag in NO_CONTACT_FLAGS:
        if flag in flags:
            return flag
    if f"optout_{channel}" in flags:
        return f"optout_{channel}"
    if VULNERABLE in flags and kind not in REMINDER_KINDS | PERSON_SENT_KINDS:
        return VULNERABLE
    if has_active_plan and kind not in REMINDER_KINDS:
        return "active_plan"
    return None


def cap_reason(at: datetime, time_zone: str, others: Iterable[datetime], settings: ContactSettings) -> str | None:
    """``weekly_cap`` or ``daily_cap`` when one more message at ``at`` breaks a cap.

    The weekly cap holds for every 7-day window that contains ``at``: the busiest such
    window starts at ``at`` or at one of the other messages before it.
    """
    at = _aware(at)
    times = sorted(_aware(t) for t in others)
    near = [t for t in times if at - WEEK < t < at + WEEK]
    if _breaks_weekly_cap(at, near, settings):
        return "weekly_cap"
    zone = ZoneInfo(time_zone)
    day = at.astimezone(zone).date()
    same_day = sum(1 for t in near if t.astimezone(zone).date() == day)
    if same_day + 1 > settings.daily_cap:
        return "daily_cap"
    return None


def _breaks_weekly_cap(at: datetime, near: list[datetime], settings: ContactSettings) -> bool:
    """One more contact at ``at`` makes some 7-day window hold more than ``weekly_cap``
    (``near``: the other contacts within a week of ``at``, sorted)."""
    starts = [t for t in near if t <= at] + [at]
    return any(sum(1 for t in near if start <= t < start + WEEK) + 1 > settings.weekly_cap for start in starts)


def decide(
    channel: str, now: datetime, facts: ContactFacts, settings: ContactSettings, kind: str | None = None
) -> Decision:
    """Whether a collection message of ``kind`` on ``channel`` may go at ``now``, wait, or not go.

    Flags and an active plan (but not for a plan's or promise's own reminder) block
    outright; otherwise the message is planned for the next allowed time (``now`` if
    inside the window) and blocked if that would break a cap.
    """
    now = _aware(now).astimezone(UTC)
    if channel not in CHANNELS:
        return Decision(BLOCK, now, "unknown_channel")
    reason = blocking_reason(channel, facts.flags, facts.has_active_plan, kind)
    if reason:
        return Decision(BLOCK, now, reason)
    send_at = next_allowed(now, facts.time_zone, settings)
    reason = cap_reason(send_at, facts.time_zone, facts.others, settings)
    if reason:
        return Decision(BLOCK, send_at, reason)
    if send_at > now:
        return Decision(HOLD, send_at, "outside_hours")
    return Decision(SEND, now)


def decide_service(channel: str, now: datetime, facts: ContactFacts, settings: ContactSettings) -> Decision:
    """Whether a service message on ``channel`` may go at ``now``, wait, or not go.

    Blocked by ``NO_SERVICE_FLAGS`` and the channel's opt-out; held outside contact
    hours; never blocked by a dispute, an active plan or the collection caps.
    """
    now = _aware(now).astimezone(UTC)
    if channel not in CHANNELS:
        return Decision(BLOCK, now, "unknown_channel")
    flags = set(facts.flags)
    for flag in (*NO_SERVICE_FLAGS, f"optout_{channel}"):
        if flag in flags:
            return Decision(BLOCK, now, flag)
    send_at = next_allowed(now, facts.time_zone, settings)
    if send_at > now:
        return Decision(HOLD, send_at, "outside_hours")
    return Decision(SEND, now)


def decide_call(
    now: datetime,
    facts: ContactFacts,
    unanswered: Iterable[datetime],
    settings: ContactSettings,
    requested: bool = False,
) -> Decision:
    """Whether care staff may ring the cardholder at ``now``: ``send`` or ``block``.

    A collection call obeys what a collection message does (flags, an active plan, the
    hours, the weekly cap over messages and calls, ``facts.others``) and, instead of the
    daily message cap, at most ``daily_call_cap`` unanswered calls (``unanswered``, their
    times) a local day. A call the cardholder asked for (``requested``: a call-back)
    follows the service rules: their own "no contact" choices and the hours.
    A call is never held: outside the hours the reason is ``outside_hours``.
    """
    now = _aware(now).astimezone(UTC)
    flags = set(facts.flags)
    if requested:
        reason = next((flag for flag in NO_SERVICE_FLAGS if flag in flags), None)
    else:
        reason = blocking_reason(CALL, flags, facts.has_active_plan, kind=CALL)
    if reason:
        return Decision(BLOCK, now, reason)
    if not in_window(now, facts.time_zone, settings):
        return Decision(BLOCK, now, "outside_hours")
    if requested:
        return Decision(SEND, now)
    near = sorted(t for t in (_aware(t) for t in facts.others) if now - WEEK < t < now + WEEK)
    if _breaks_weekly_cap(now, near, settings):
        return Decision(BLOCK, now, "weekly_cap")
    zone = ZoneInfo(facts.time_zone)
    today = now.astimezone(zone).date()
    if sum(1 for t in unanswered if _aware(t).astimezone(zone).date() == today) >= settings.daily_call_cap:
        return Decision(BLOCK, now, "daily_call_cap")
    return Decision(SEND, now)
