"""A plan link end to end in real browsers: an agent sends it from the care desk, the
cardholder opens it on a phone, proves who they are, and reaches their account; a dead
link and the e-mail unsubscribe page are checked with axe-core.

The journey's use of the link after sign-in (pre-selected offer, funnel stamps through
``portal.links.views.link_for_session``) belongs to the journey and is checked there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from portal.demo import DEMO_CARDHOLDERS
from tests.browser.conftest import DESKTOP, axe_violations, open_page, screenshot, staff_signs_in

pytestmark = pytest.mark.browser

DEMO = DEMO_CARDHOLDERS[8]  # Sun Li, English, CNY, 130 days past due; no other browser test uses her


def check(page: Any, name: str) -> None:
    assert axe_violations(page) == [], name
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
    screenshot(page, name)


@pytest.fixture(scope="module")
def desk(browser: Any, live_server: str) -> Iterator[Any]:
    """An agent signed in once at a desktop (a TOTP code is accepted only once)."""
    with open_page(browser, live_server, **DESKTOP) as page:
        staff_signs_in(page, "agent@example.com", "/care/")
        yield page


def send_link(desk: Any, channel_label: str) -> None:
    desk.goto(f"/care/search?q={DEMO.name.replace(' ', '+')}")
    desk.locator("tbody tr a").first.click()
    desk.wait_for_url("**/care/accounts/*")
    desk.get_by_role("link", name="Send a plan link").click()
    desk.wait_for_url("**/link")
    desk.get_by_label(channel_label).check()
    desk.get_by_role("button", name="Preview the message").click()
    desk.wait_for_url("**/link")
    desk.get_by_role("button", name="Send now").click()
    desk.wait_for_url("**/care/accounts/*")


def newest_body(page: Any, pattern: str) -> str:
    page.goto("/dev/outbox")
    for body in page.locator(".outbox-body").all_inner_texts():
        if re.search(pattern, body):
            return body
    raise AssertionError(f"no outbox message matching {pattern}")


def test_agent_sends_a_link_and_the_cardholder_signs_in_through_it(desk, phone, live_server):
    send_link(desk, "Text message")
    assert "Plan links" in desk.locator("#links").inner_text() or desk.locator("#links li").count() >= 1

    page = phone
    sms = newest_body(page, r"/l/")
    token = re.search(r"/l/([A-Za-z0-9_-]+)", sms).group(1)
    page.goto(f"/l/{token}")
    page.wait_for_url("**/sign-in")
    assert DEMO.name not in page.content()  # nothing about the account before sign-in
    page.locator("#card_number").fill(DEMO.card_number)
    page.locator("#date_of_birth").fill(DEMO.date_of_birth.isoformat())
    page.locator("button[type=submit]").tap()
    page.wait_for_url("**/sign-in/code")
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", newest_body(page, r"sign-in code")).group(1)
    page.goto("/sign-in/code")
    page.locator("#code").fill(code)
    page.locator("button[type=submit]").tap()
    # No offer was pre-selected, so the link leads to the first step of the journey.
    page.wait_for_url(re.compile(r".*/plan$"))
    page.goto("/account")
    assert DEMO.name in page.content()
    check(page, "link-1-signed-in")

    # A damaged copy of the link gets the one friendly page, in a fresh phone session.
    page.context.clear_cookies()
    page.goto(f"/l/{token[:-2]}")
    assert page.locator("h1").inner_text() == "This link cannot be used"
    check(page, "link-2-unavailable")


def test_email_unsubscribe_page(desk, phone):
    send_link(desk, "E-mail")
    page = phone
    mail = newest_body(page, r"/unsubscribe/")
    path = re.search(r"https?://[^/\s]+(/unsubscribe/\S+)", mail).group(1)
    page.goto(path)
    check(page, "link-3-unsubscribe-confirm")
    with page.expect_navigation():
        page.get_by_role("button", name="Stop these e-mails").tap()
    assert page.locator("h1").inner_text() == "You will not get these e-mails any more"
    check(page, "link-4-unsubscribed")
