"""What happened to each message: a link's status follows its message, the notice after
sending says what happened, a new link revokes the older ones, SMS parts are counted as
carriers count them, and supervisors watch and requeue undelivered messages."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.audit.models import AuditEvent
from portal.audit.service import SYSTEM, Actor
from portal.cases.models import CaseEvent
from portal.domain.sms import count_segments
from portal.extensions import db
from portal.integrations.channels import ChannelError, Envelope, Sent
from portal.links.models import PlanLink
from portal.links.service import issue_plan_link
from portal.notifications.delivery import deliver_due
from portal.notifications.models import SECRET_MASK, OutboxMessage
from portal.notifications.rules import BLOCK_REASONS, CHANNELS, ContactFacts, ContactSettings, decide
from portal.notifications.service import queue_collection_message
from portal.staff.models import Role
from tests.conftest import make_account, unit
from tests.staff_helpers import StaffAuth, signed_in_staff

SH = ZoneInfo("Asia/Shanghai")
CARDS = ["6222000000000017", "6222000000000025", "6222000000000033", "6222000000000041"]


class Capture:
    """An SMS or e-mail provider that takes every message (and keeps what it was given)."""

    def __init__(self) -> None:
        self.sent: list[Envelope] = []

    def send(self, envelope: Envelope) -> Sent:
        self.sent.append(envelope)
        return Sent(provider_id=f"p{len(self.sent)}")


class Refusing:
    """A provider that refuses every message for good (a permanent error)."""

    def send(self, envelope: Envelope) -> Sent:
        raise ChannelError("sms provider answered HTTP 400", transient=False)


def account(app: Any, n: int = 0, **fields: Any) -> int:
    return make_account(app, card=CARDS[n], reference=f"REF{n:03d}", name=f"Holder {n}", **fields)


def post(client: Any, path: str, **data: Any) -> Any:
    return client.post(path, data={"csrf_token": StaffAuth(client).token(), **data})


def send_link(client: Any, account_id: int, channel: str = "sms") -> Any:
    return post(client, f"/care/accounts/{account_id}/link", channel=channel, offer="", action="send")


def deliver(app: Any, channel: Any = None) -> Any:
    with app.app_context():
        provider = channel or Capture()
        return deliver_due("test", channels={"sms": provider, "email": provider})


def set_flags(app: Any, account_id: int, *flags: str) -> None:
    with unit(app):
        db.session.get(CardAccount, account_id).flags = list(flags)
        db.session.commit()


def links_panel(client: Any, account_id: int) -> str:
    html = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    start = html.index('id="links"')
    return re.sub(r"\s+", " ", html[start : start + 4000])


def queue_reminder(app: Any, account_id: int, channel: str = "sms") -> int:
    with unit(app):
        found = db.session.get(CardAccount, account_id)
        message = queue_collection_message(found, channel, "plan_broken", None, "Your plan has ended.", SYSTEM)
        db.session.commit()
        return message.id


# --- a link's status follows its message ---------------------------------------------


def test_a_link_sent_at_night_is_held_and_the_notice_says_until_when(app, client, frozen):
    frozen.set(datetime(2026, 11, 28, 22, 30, tzinfo=SH))
    account_id = account(app)
    signed_in_staff(app, client, Role.AGENT)
    response = send_link(client, account_id)
    assert response.status_code == 302
    page = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert (
        "Link created. Held until tomorrow at 08:00 (the cardholder&#39;s time, outside contact hours), "
        "then sent by text message." in page
    )
    panel = links_panel(client, account_id)
    assert "Held" in panel and "Goes tomorrow at 08:00 (the cardholder&#39;s time): outside contact hours." in panel
    assert "Queued" not in panel and "Revoke this link" in panel


def test_a_link_sent_in_contact_hours_says_it_is_sent(app, client, frozen):
    account_id = account(app)
    signed_in_staff(app, client, Role.AGENT)
    send_link(client, account_id)
    page = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert "Link created. Sending by text message now." in page and "on its way" not in page
    assert deliver(app).sent == 1
    assert "Sent" in links_panel(client, account_id)


def test_a_link_whose_message_was_blocked_when_sent_says_why(app, client, frozen):
    account_id = account(app)
    signed_in_staff(app, client, Role.AGENT)
    send_link(client, account_id)
    set_flags(app, account_id, "optout_sms")  # the cardholder replied STOP before it went
    assert deliver(app).blocked == 1
    panel = links_panel(client, account_id)
    assert "Blocked: opted out of text messages" in panel
    assert "Not sent: the cardholder opted out of text messages." in panel
    assert "Queued" not in panel and "Revoke this link" not in panel


def test_a_link_whose_message_failed_shows_the_providers_error(app, client, frozen):
    account_id = account(app)
    signed_in_staff(app, client, Role.AGENT)
    send_link(client, account_id)
    assert deliver(app, Refusing()).failed == 1
    panel = links_panel(client, account_id)
    assert "Failed" in panel and "The provider&#39;s error: sms provider answered HTTP 400" in panel
    assert "Revoke this link" not in panel


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("optout_sms", "the cardholder opted out of text messages"),
        ("dispute", "the account is in dispute, so collection messages stop"),
    ],
)
def test_a_blocked_send_is_a_notice_not_a_form_error_and_makes_no_link(app, client, query, frozen, flag, words):
    account_id = account(app, flags=[flag])
    signed_in_staff(app, client, Role.AGENT)
    response = send_link(client, account_id)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Not sent: {words}. No link was created; the attempt is on the case file." in page
    assert "Please check what you entered" not in page
    assert query(select(PlanLink)) == []
    assert query(select(OutboxMessage.blocked_reason)) == [flag]
    assert query(select(CaseEvent.kind).where(CaseEvent.kind == "message_blocked")) == ["message_blocked"]


def test_every_contact_rule_has_words() -> None:
    from portal.care.message_labels import BLOCKED, BLOCKED_BECAUSE

    assert not BLOCK_REASONS - BLOCKED.keys() and not BLOCK_REASONS - BLOCKED_BECAUSE.keys()
    # and the rules block with no other reason
    settings = ContactSettings(weekly_cap=1, daily_cap=1)
    now = datetime(2026, 11, 28, 12, 0, tzinfo=SH)
    seen = set()
    for flags in [
        (f,) for f in ("do_not_contact", "dispute", "deceased", "fraud", "optout_sms", "optout_email", "vulnerable")
    ]:
        for channel in (*CHANNELS, "fax"):
            seen.add(decide(channel, now, ContactFacts("Asia/Shanghai", frozenset(flags)), settings).reason)
    seen.add(decide("sms", now, ContactFacts("Asia/Shanghai", has_active_plan=True), settings).reason)
    seen.add(decide("sms", now, ContactFacts("Asia/Shanghai", others=(now,)), settings).reason)
    assert seen - {None} <= BLOCK_REASONS


# --- one live link per account -----------------------------------------------------


def test_a_new_link_revokes_the_older_open_links(app, client, query, frozen):
    frozen.set(datetime(2026, 11, 28, 22, 30, tzinfo=SH))  # held: nothing leaves tonight
    account_id = account(app)
    staff_id, *_ = signed_in_staff(app, client, Role.AGENT)
    send_link(client, account_id)
    send_link(client, account_id, "email")
    first, second = query(select(PlanLink).order_by(PlanLink.id))
    assert first.revoked_at is not None and first.revoked_by == f"staff:{staff_id}"
    assert second.revoked_at is None
    assert query(select(OutboxMessage.status).order_by(OutboxMessage.id)) == ["blocked", "queued"]
    [event] = query(select(CaseEvent).where(CaseEvent.kind == "link_revoked"))
    assert event.data == {"link": first.id, "replaced_by": second.id}
    [audit] = query(select(AuditEvent).where(AuditEvent.action == "link.revoked"))
    assert audit.object_id == str(first.id) and audit.after["replaced_by"] == second.id
    panel = links_panel(client, account_id)
    assert panel.count("Revoke this link") == 1 and "Revoked" in panel


def test_a_new_link_leaves_a_blocked_one_saying_why(app, client, query, frozen):
    account_id = account(app)
    signed_in_staff(app, client, Role.AGENT)
    send_link(client, account_id)
    set_flags(app, account_id, "optout_sms")
    deliver(app)
    send_link(client, account_id, "email")
    first, second = query(select(PlanLink).order_by(PlanLink.id))
    assert first.revoked_at is None and second.revoked_at is None
    assert "Blocked: opted out of text messages" in links_panel(client, account_id)


# --- SMS parts -------------------------------------------------------------------------


def parts_shown(client: Any, account_id: int) -> str:
    response = post(client, f"/care/accounts/{account_id}/link", channel="sms", offer="", action="preview")
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.search(r'<p class="sms-count".*?</p>', html, re.S).group(0))


@pytest.mark.parametrize(
    ("locale", "parts"), [("en", "2 text message parts"), ("zh_Hans", "3 text message parts"), ("zh_Hant", "3 text")]
)
def test_the_preview_counts_the_real_link_message_in_parts(app, client, frozen, locale, parts):
    account_id = account(app, locale=locale)
    signed_in_staff(app, client, Role.AGENT)
    shown = parts_shown(client, account_id)
    assert parts in shown
    assert ("GSM-7" if locale == "en" else "UCS-2") in shown


def test_a_narrow_no_break_space_in_an_english_time_does_not_double_the_parts(app, client, frozen, monkeypatch):
    # Where English dates follow en_US, Babel writes "8:00 PM" with U+202F before "PM".
    config = dict(app.config["JURISDICTIONS"])
    code = app.config["DEFAULT_JURISDICTION"]
    config[code] = dataclasses.replace(config[code], english_formats="en_US")
    monkeypatch.setitem(app.config, "JURISDICTIONS", config)
    account_id = account(app)
    signed_in_staff(app, client, Role.AGENT)
    shown = parts_shown(client, account_id)
    assert "2 text message parts" in shown and "GSM-7" in shown
    with unit(app):
        link = issue_plan_link(account_id, "sms", Actor("staff", "1"))
        stored = db.session.get(OutboxMessage, link.outbox_message_id).body
        db.session.commit()
    assert "\u202f" in stored  # as Babel wrote it
    provider = Capture()
    assert deliver(app, provider).sent == 1
    [text] = provider.sent
    assert "\u202f" not in text.body and " PM" in text.body
    assert count_segments(stored.replace(SECRET_MASK, "x" * 43)).segments == 4  # what it cost before
    assert count_segments(text.body).segments == 2


# --- the delivery monitor ------------------------------------------------------------


def test_the_monitor_is_for_supervisors_and_in_their_navigation(app, client, frozen):
    signed_in_staff(app, client, Role.AGENT)
    assert client.get("/care/messages/").status_code == 403
    assert "Message delivery" not in client.get("/care/").get_data(as_text=True)
    other = app.test_client()
    signed_in_staff(app, other, Role.SUPERVISOR)
    page = other.get("/care/").get_data(as_text=True)
    assert 'href="/care/messages/"' in page and "Message delivery" in page


def test_the_monitor_counts_by_state_and_channel_and_lists_held_messages(app, client, frozen, monkeypatch):
    monkeypatch.setitem(app.config, "CONTACT_DAILY_CAP", 100)
    monkeypatch.setitem(app.config, "CONTACT_WEEKLY_CAP", 100)
    frozen.set(datetime(2026, 11, 28, 22, 30, tzinfo=SH))
    account_id = account(app)
    for _ in range(27):
        queue_reminder(app, account_id)
    queue_reminder(app, account_id, "email")
    signed_in_staff(app, client, Role.SUPERVISOR)
    html = re.sub(r"\s+", " ", client.get("/care/messages/?group=held").get_data(as_text=True))
    assert 'aria-label="Held, Text message: 27"' in html and 'aria-label="Held, E-mail: 1"' in html
    assert "Held: 28 messages" in html and "Page 1 of 2" in html
    assert html.count('<tr id="message-') == 25
    assert "29 Nov 2026, 08:00" in html  # the cardholder's time it goes
    page_two = client.get("/care/messages/?group=held&page=2").get_data(as_text=True)
    assert page_two.count('<tr id="message-') == 3
    only_email = client.get("/care/messages/?group=held&channel=email").get_data(as_text=True)
    assert only_email.count('<tr id="message-') == 1
    assert client.get("/care/messages/?group=nonsense").status_code == 422


def test_a_dead_letter_shows_the_providers_error_and_can_be_requeued(app, client, query, frozen):
    account_id = account(app)
    message_id = queue_reminder(app, account_id)
    assert deliver(app, Refusing()).failed == 1
    staff_id, *_ = signed_in_staff(app, client, Role.SUPERVISOR)
    html = client.get("/care/messages/").get_data(as_text=True)  # opens on the dead letters
    assert f'id="message-{message_id}"' in html and "sms provider answered HTTP 400" in html
    response = post(client, f"/care/messages/{message_id}/requeue?group=dead")
    assert response.status_code == 302 and response.headers["Location"].endswith("/care/messages/?group=dead")
    message = query.one(select(OutboxMessage))
    assert (message.status, message.attempts, message.last_error) == ("queued", 0, None)
    [audit] = query(select(AuditEvent).where(AuditEvent.action == "outbox.requeued"))
    assert audit.actor_id == str(staff_id) and audit.before["last_error"] == "sms provider answered HTTP 400"
    assert deliver(app).sent == 1
    again = post(client, f"/care/messages/{message_id}/requeue")  # a second tab
    assert "no longer failed or blocked" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_requeue_never_gets_round_the_contact_rules(app, client, query, frozen):
    account_id = account(app)
    message_id = queue_reminder(app, account_id)
    set_flags(app, account_id, "dispute")
    assert deliver(app).blocked == 1
    signed_in_staff(app, client, Role.SUPERVISOR)
    refused = post(client, f"/care/messages/{message_id}/requeue")
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "Not requeued: the account is in dispute, so collection messages stop." in page
    assert query.one(select(OutboxMessage.status)) == "blocked"
    assert query(select(AuditEvent).where(AuditEvent.action == "outbox.requeued")) == []

    set_flags(app, account_id)  # the dispute is settled
    post(client, f"/care/messages/{message_id}/requeue")
    assert query.one(select(OutboxMessage.status)) == "queued"
    set_flags(app, account_id, "optout_sms")  # and the cardholder opts out before it goes
    assert deliver(app).blocked == 1  # the worker judges it again as it goes
    assert query.one(select(OutboxMessage.blocked_reason)) == "optout_sms"


def test_a_requeued_message_at_night_waits_for_contact_hours(app, client, query, frozen):
    account_id = account(app)
    message_id = queue_reminder(app, account_id)
    deliver(app, Refusing())
    frozen.set(datetime(2026, 11, 28, 23, 0, tzinfo=SH))
    signed_in_staff(app, client, Role.SUPERVISOR)
    response = post(client, f"/care/messages/{message_id}/requeue")
    assert "It waits for contact hours" in client.get(response.headers["Location"]).get_data(as_text=True)
    message = query.one(select(OutboxMessage))
    assert message.held_reason == "outside_hours" and message.send_after == datetime(2026, 11, 29, 8, 0, tzinfo=SH)


def test_a_requeue_goes_on_the_case_file_after_the_failure_it_answers(app, client, query, frozen):
    account_id = account(app)
    message_id = queue_reminder(app, account_id)
    deliver(app, Refusing())
    staff_id, *_ = signed_in_staff(app, client, Role.SUPERVISOR)
    post(client, f"/care/messages/{message_id}/requeue")
    kinds = list(query(select(CaseEvent.kind).where(CaseEvent.account_id == account_id).order_by(CaseEvent.id)))
    assert kinds[-2:] == ["message_failed", "message_requeued"]
    requeued = query.one(select(CaseEvent).where(CaseEvent.kind == "message_requeued"))
    assert requeued.actor_id == str(staff_id)
    data = requeued.data
    assert (data["message"], data["was"], data["held_reason"]) == (message_id, "failed", None)
    timeline = re.sub(r"\s+", " ", client.get(f"/care/accounts/{account_id}").get_data(as_text=True))
    assert "Message put back in the queue" in timeline and "It goes now." in timeline

    deliver(app, Refusing())  # it fails again; sent again at night, it waits for the morning
    frozen.set(datetime(2026, 11, 28, 23, 0, tzinfo=SH))
    signed_in_staff(app, client, Role.SUPERVISOR)
    post(client, f"/care/messages/{message_id}/requeue")
    timeline = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert "It waits for the cardholder's contact hours." in timeline


def test_a_plan_link_message_is_not_requeued_a_new_link_is_sent(app, client, query, frozen):
    account_id = account(app)
    signed_in_staff(app, client, Role.AGENT)
    send_link(client, account_id)
    deliver(app, Refusing())
    supervisor = app.test_client()
    signed_in_staff(app, supervisor, Role.SUPERVISOR)
    html = supervisor.get("/care/messages/?group=dead").get_data(as_text=True)
    assert f'href="/care/accounts/{account_id}/link"' in html and "Requeue message" not in html
    message_id = query.one(select(OutboxMessage.id))
    response = post(supervisor, f"/care/messages/{message_id}/requeue")
    assert "carried a one-time link or code" in supervisor.get(response.headers["Location"]).get_data(as_text=True)
    assert query.one(select(OutboxMessage.status)) == "failed"


def test_requeue_needs_the_csrf_token_and_a_real_message(app, client, frozen):
    signed_in_staff(app, client, Role.SUPERVISOR)
    assert client.post("/care/messages/1/requeue").status_code == 400
    assert post(client, "/care/messages/999999/requeue").status_code == 404


@pytest.mark.parametrize(
    ("locale", "at", "expected"),
    [
        ("en", datetime(2026, 11, 28, 20, 15, tzinfo=SH), "today at 20:15"),
        ("en", datetime(2026, 11, 29, 8, 0, tzinfo=SH), "tomorrow at 08:00"),
        ("en", datetime(2026, 12, 2, 8, 0, tzinfo=SH), "2 Dec 2026, 08:00"),
        ("zh_Hans", datetime(2026, 11, 29, 8, 0, tzinfo=SH), "明天 08:00"),
        (
            "zh_Hant",
            datetime(2026, 11, 28, 20, 15, tzinfo=SH),
            "今日 晚上8:15",
        ),  # Babel's short time in Traditional Chinese
    ],
)
def test_when_a_held_message_goes_is_said_in_the_cardholders_zone(app, locale, at, expected):
    from flask_babel import force_locale

    from portal.care.message_labels import when_text

    now = datetime(2026, 11, 28, 12, 0, tzinfo=SH)
    with app.test_request_context(), force_locale(locale):
        assert when_text(at, "Asia/Shanghai", now) == expected
        # 08:00 in Shanghai is 01:00 in London, the same day: the cardholder's zone decides
        assert when_text(datetime(2026, 11, 29, 8, 0, tzinfo=SH), "Europe/London", now) != when_text(
            datetime(2026, 11, 29, 8, 0, tzinfo=SH), "Asia/Shanghai", now
        )


def test_a_reminder_of_an_earlier_day_is_not_requeued_to_give_a_wrong_date(app, client, query, frozen):
    account_id = account(app)
    with unit(app):
        found = db.session.get(CardAccount, account_id)
        body = "Your plan payment of CNY 500.00 is due today, 28 Nov 2026."
        message_id = queue_collection_message(found, "sms", "plan_reminder", None, body, SYSTEM).id
        db.session.commit()
    deliver(app, Refusing())
    signed_in_staff(app, client, Role.SUPERVISOR)
    assert f"/care/messages/{message_id}/requeue" in client.get("/care/messages/?group=dead").get_data(as_text=True)
    frozen.set(datetime(2026, 11, 29, 9, 0, tzinfo=SH))  # the next morning, the cardholder's time
    client = app.test_client()
    signed_in_staff(app, client, Role.SUPERVISOR)
    html = client.get("/care/messages/?group=dead").get_data(as_text=True)
    assert f"/care/messages/{message_id}/requeue" not in html and "A reminder of an earlier day" in html
    response = post(client, f"/care/messages/{message_id}/requeue")
    assert "would now give the wrong date" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert query.one(select(OutboxMessage.status)) == "failed"
    assert query(select(AuditEvent).where(AuditEvent.action == "outbox.requeued")) == []


def timeline(client: Any, account_id: int) -> str:
    html = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    start = html.index("Timeline")
    return re.sub(r"\s+", " ", html[start : start + 6000])


def test_the_timeline_says_which_message_was_blocked_or_failed_in_words(app, client, frozen):
    blocked = account(app, flags=["optout_sms"])
    signed_in_staff(app, client, Role.AGENT)
    send_link(client, blocked)
    entry = timeline(client, blocked)
    assert "Plan link · Text message" in entry and "plan_link" not in entry

    failed = account(app, 1)
    send_link(client, failed)
    deliver(app, Refusing())
    entry = timeline(client, failed)
    assert "Message failed" in entry and "The provider said: sms provider answered HTTP 400" in entry
    assert "<dt>message</dt>" not in entry and "<dt>channel</dt>" not in entry


def test_the_timeline_says_a_link_was_replaced_in_words(app, client, frozen):
    account_id = account(app)
    signed_in_staff(app, client, Role.AGENT)
    send_link(client, account_id)
    send_link(client, account_id)
    entry = timeline(client, account_id)
    assert "Plan link revoked" in entry and "A newer link replaced it." in entry
    assert "replaced by" not in entry and "<dt>link</dt>" not in entry
