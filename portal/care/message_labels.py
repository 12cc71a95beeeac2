"""Words for what happened to a message: why it was blocked, why and until when it waits,
what kind of message it is, and the notice staff read after sending a plan link.

Every contact-rule code (``portal.notifications.rules.BLOCK_REASONS``) has a short label
(a link's status, the delivery monitor) and a sentence (the notice after sending); a
test checks none is missing. Times are the cardholder's, in their account's time zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.care.labels import care_label, label
from portal.db_types import utcnow
from portal.formats import time_pattern
from portal.i18n import date_locale, local_datetime
from portal.links.models import LinkStatus
from portal.links.status import LinkState

# Short: "Blocked: <label>".
BLOCKED = {
    "do_not_contact": _l("do not contact"),
    "dispute": _l("account in dispute"),
    "deceased": _l("cardholder deceased"),
    "fraud": _l("fraud on the account"),
    "vulnerable": _l("vulnerable cardholder: a person contacts them"),
    "optout_sms": _l("opted out of text messages"),
    "optout_email": _l("opted out of e-mails"),
    "active_plan": _l("active plan"),
    "weekly_cap": _l("weekly contact limit reached"),
    "daily_cap": _l("daily contact limit reached"),
    "unknown_channel": _l("unknown channel"),
    "link_revoked": _l("link revoked"),
    "blocked": _l("a contact rule"),
}

# A sentence: "Not sent: <sentence>."
BLOCKED_BECAUSE = {
    "do_not_contact": _l("the cardholder asked not to be contacted"),
    "dispute": _l("the account is in dispute, so collection messages stop"),
    "deceased": _l("the cardholder is recorded as deceased"),
    "fraud": _l("the account is flagged for fraud"),
    "vulnerable": _l("the cardholder is vulnerable: a person contacts them, not an automated message"),
    "optout_sms": _l("the cardholder opted out of text messages"),
    "optout_email": _l("the cardholder opted out of e-mails"),
    "active_plan": _l("the account has an active plan, so collection messages stop"),
    "weekly_cap": _l("the cardholder has had as many messages as the rules allow in 7 days"),
    "daily_cap": _l("the cardholder has had as many messages as the rules allow today"),
    "unknown_channel": _l("that channel is unknown"),
    "link_revoked": _l("the link was revoked"),
    "blocked": _l("a contact rule forbids it"),
}

HELD = {
    "outside_hours": _l("outside contact hours"),
    "retry": _l("trying again after a failed attempt"),
}


# Short names for the delivery monitor's rows (the case timeline words them in full,
# portal.care.labels.MESSAGE_KINDS, where a row has no column to say what it is).
MESSAGE_KINDS = {
    "plan_link": _l("Plan link"),
    "signin_code": _l("Sign-in code"),
    "plan_reminder": _l("Installment reminder"),
    "promise_reminder": _l("Promise reminder"),
    "plan_broken": _l("Plan broken"),
    "request_received": _l("Request received"),
    "request_approved": _l("Request approved"),
    "request_declined": _l("Request declined"),
    "plan_accepted": _l("Plan accepted"),
    "promise_recorded": _l("Promise recorded"),
}


def blocked_label(code: str | None) -> str:
    return label(BLOCKED, code or "blocked")


def blocked_sentence(code: str | None) -> str:
    return label(BLOCKED_BECAUSE, code or "blocked")


def held_label(code: str | None) -> str:
    return label(HELD, code)


def kind_label(code: str | None) -> str:
    return label(MESSAGE_KINDS, code)


def when_text(at: datetime, tz: str, now: datetime | None = None) -> str:
    """``at`` in the zone ``tz`` as a person says it: "today at 20:15", "tomorrow at
    08:00", or the date and time further out (Babel formats, the active language)."""
    zone = ZoneInfo(tz)
    local, today = at.astimezone(zone), (now or utcnow()).astimezone(zone).date()
    babel_locale, pattern = time_pattern(date_locale(), "short")
    time = pattern.apply(local, babel_locale)
    if local.date() == today:
        return _("today at %(time)s", time=time)
    if local.date() == today + timedelta(days=1):
        return _("tomorrow at %(time)s", time=time)
    return local_datetime(at, "short", tz=tz)


def link_state_text(state: LinkState, tz: str, now: datetime | None = None) -> tuple[str, str | None]:
    """A link's status for staff: its label, and the detail (until when, why, the error)."""
    if state.code == LinkStatus.HELD:
        detail = _(
            "Goes %(when)s (the cardholder's time): %(reason)s.",
            when=when_text(state.until, tz, now) if state.until else "",
            reason=held_label(state.reason),
        )
        if state.error:
            detail += " " + _("Last error: %(error)s", error=state.error)
        return care_label("link_state", state.code), detail
    if state.code == LinkStatus.BLOCKED:
        return _("Blocked: %(reason)s", reason=blocked_label(state.reason)), _(
            "Not sent: %(reason)s. The link never reached the cardholder and cannot be opened.",
            reason=blocked_sentence(state.reason),
        )
    if state.code == LinkStatus.FAILED:
        return care_label("link_state", state.code), _(
            "Not sent. The provider's error: %(error)s", error=state.error or _("none given")
        )
    return care_label("link_state", state.code), None


def send_notice(state: LinkState, channel: str, tz: str, now: datetime | None = None) -> str:
    """What staff read after sending a link: what really happened to its message."""
    by = _("by text message") if channel == "sms" else _("by e-mail")
    if state.code == LinkStatus.HELD and state.until is not None:
        return _(
            "Link created. Held until %(when)s (the cardholder's time, %(reason)s), then sent %(by)s.",
            when=when_text(state.until, tz, now),
            reason=held_label(state.reason),
            by=by,
        )
    if state.code == LinkStatus.BLOCKED:
        return _("Not sent: %(reason)s.", reason=blocked_sentence(state.reason))
    if state.code == LinkStatus.FAILED:
        return _("Not sent. The provider's error: %(error)s", error=state.error or _("none given"))
    return _("Link created. Sending %(by)s now.", by=by)
