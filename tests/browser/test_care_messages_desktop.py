"""What happened to each message, at a 1366×900 desk: an agent sends a plan link, the
cardholder replies STOP before the worker sends it, and the case file says the link was
blocked and why; a supervisor finds a blocked reminder on the delivery monitor, is
refused while the rule still holds, and requeues it once the rule no longer applies."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.audit.service import SYSTEM
from portal.demo import DEMO_CARDHOLDERS
from portal.extensions import db
from portal.notifications.delivery import deliver_due
from portal.notifications.models import OutboxMessage
from portal.notifications.service import queue_collection_message
from tests.browser.conftest import _LIVE_APPS, axe_violations, open_page, screenshot, staff_signs_in
from tests.conftest import unit

pytestmark = pytest.mark.browser

WORKBENCH = {"viewport": {"width": 1366, "height": 900}}
LINKED = DEMO_CARDHOLDERS[10]  # 周杰, Simplified Chinese, CNY, 210 days past due; no other browser test uses him
REMINDED = DEMO_CARDHOLDERS[16]  # Lee Siu Ming, English, HKD; no other browser test uses him
INBOUND_KEY = "browser-inbound-key"


@pytest.fixture
def desk(browser: Any, live_server: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    app = _LIVE_APPS[0]
    # Contact hours all day, so the test does not depend on the hour it runs at.
    monkeypatch.setitem(app.config, "CONTACT_START", time(0, 0))
    monkeypatch.setitem(app.config, "CONTACT_END", time(23, 59))
    monkeypatch.setitem(app.config, "SMS_INBOUND_KEY", INBOUND_KEY)
    with open_page(browser, live_server, **WORKBENCH) as page:
        yield page


def account_id_of(demo: Any) -> int:
    with unit(_LIVE_APPS[0]):
        return db.session.execute(
            select(CardAccount.id).where(CardAccount.reference == f"DEMO{demo.serial:04d}")
        ).scalar_one()


def set_flags(account_id: int, flags: list[str]) -> None:
    with unit(_LIVE_APPS[0]):
        db.session.get(CardAccount, account_id).flags = flags
        db.session.commit()


def test_a_link_blocked_by_a_stop_reply_says_so_on_the_case_file(desk):
    app = _LIVE_APPS[0]
    account_id = account_id_of(LINKED)
    staff_signs_in(desk, "agent@example.com", "/care/")
    desk.goto(f"/care/accounts/{account_id}/link")
    desk.get_by_label("Text message").check()
    desk.get_by_role("button", name="Preview the message").click()
    desk.wait_for_url("**/link")
    parts = desk.locator("#sms-count").inner_text()
    assert "3 text message parts" in parts and "UCS-2" in parts  # Chinese: 67 to a part
    screenshot(desk, "care-messages-0-preview-parts")
    desk.get_by_role("button", name="Send now").click()
    desk.wait_for_url(f"**/care/accounts/{account_id}#links")
    assert "Link created. Sending by text message now." in desk.locator(".notice").first.inner_text()

    # The cardholder replies STOP before the worker gets to the link's text.
    stop = app.test_client().post(
        "/hooks/sms/inbound", json={"from": LINKED.phone, "text": "退订"}, headers={"X-SMS-Key": INBOUND_KEY}
    )
    assert stop.get_json()["opted_out"] == 1
    with app.app_context():
        assert deliver_due("browser").blocked >= 1

    desk.reload()
    links = desk.locator("#links li").first
    text = links.inner_text()
    assert "Blocked: opted out of text messages" in text
    assert "Not sent: the cardholder opted out of text messages." in text and "Queued" not in text
    assert links.get_by_role("button", name="Revoke this link").count() == 0
    assert axe_violations(desk) == []
    desk.locator("#links").scroll_into_view_if_needed()
    screenshot(desk, "care-messages-1-blocked-link")

    # Trying again by text is refused at once, in words, without a form error.
    desk.goto(f"/care/accounts/{account_id}/link")
    desk.get_by_label("Text message").check()
    desk.get_by_role("button", name="Preview the message").click()
    desk.get_by_role("button", name="Send now").click()
    desk.wait_for_url(f"**/care/accounts/{account_id}/link")
    notice = desk.locator(".notice").first.inner_text()
    assert notice.startswith("Not sent: the cardholder opted out of text messages. No link was created")
    assert desk.locator(".error-summary").count() == 0
    assert desk.outside_requests == []  # type: ignore[attr-defined]


def test_a_supervisor_requeues_a_blocked_message_only_once_the_rule_is_gone(desk):
    app = _LIVE_APPS[0]
    account_id = account_id_of(REMINDED)
    set_flags(account_id, ["dispute"])
    with unit(app):
        found = db.session.get(CardAccount, account_id)
        message = queue_collection_message(found, "sms", "plan_broken", None, "Your plan has ended.", SYSTEM)
        db.session.commit()
        message_id = message.id
    row = desk.locator(f"#message-{message_id}")

    staff_signs_in(desk, "supervisor@example.com", "/care/")
    desk.get_by_role("link", name="Message delivery").click()
    desk.wait_for_url("**/care/messages/")
    desk.locator("nav .tabs").get_by_role("link", name="Blocked").click()
    desk.wait_for_url("**group=blocked*")
    assert "account in dispute" in row.inner_text() and "Plan broken" in row.inner_text()
    assert axe_violations(desk) == []
    screenshot(desk, "care-messages-2-monitor-blocked")

    row.get_by_role("button", name="Requeue").click()
    desk.wait_for_url("**group=blocked*")
    assert "Not requeued: the account is in dispute" in desk.locator(".notice").first.inner_text()
    assert row.count() == 1  # still blocked

    set_flags(account_id, [])  # the dispute is settled
    row.get_by_role("button", name="Requeue").click()
    desk.wait_for_url("**group=blocked*")
    assert "Queued again." in desk.locator(".notice").first.inner_text()
    assert row.count() == 0
    with unit(app):
        assert db.session.get(OutboxMessage, message_id).status == "queued"
    screenshot(desk, "care-messages-3-monitor-requeued")
    assert desk.outside_requests == []  # type: ignore[attr-defined]
