"""A care agent at a desktop: signs in with password and authenticator code, works the
queue, opens a case file and adds a note. Screenshots at 1280×800."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from portal.staff.service import DEMO_STAFF
from tests.browser.conftest import axe_violations, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def desktop(browser: Any, live_server: str) -> Iterator[Any]:
    """A 1280×800 desktop window. CSP is bypassed only so the test can inject axe-core."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True, base_url=live_server)
    page = context.new_page()
    page.outside_requests = []  # type: ignore[attr-defined]
    page.on("request", lambda request: page.outside_requests.append(request.url)  # type: ignore[attr-defined]
            if request.url.startswith("http") and "127.0.0.1" not in request.url else None)
    yield page
    context.close()


def test_agent_works_the_queue_and_a_case_file(desktop):
    page = desktop
    agent = next(s for s in DEMO_STAFF if s.role.value == "agent")
    page.goto("/care/sign-in")
    assert axe_violations(page) == []
    # Other browser tests sign the demo agent in too, and a code is accepted once: if this
    # step's code was used, the next one (inside the window) is still good.
    for step in (0, 1):
        page.locator("#email").fill(agent.email)
        page.locator("#password").fill(agent.password)
        page.locator("#code").fill(pyotp.TOTP(agent.totp_secret).at(time.time() + 30 * step))
        page.locator("button[type=submit]").click()
        page.wait_for_load_state()
        if page.url.endswith("/care/"):
            break
    assert page.url.endswith("/care/"), "the demo agent could not sign in"

    page.get_by_role("link", name="M2").click()
    page.wait_for_url("**/care/?tier=M2*")
    rows = page.locator("tbody tr")
    assert rows.count() >= 2
    days = [int(rows.nth(i).locator("td").nth(3).inner_text()) for i in range(rows.count())]
    assert days == sorted(days, reverse=True) and all(30 <= d <= 59 for d in days)
    assert axe_violations(page) == []
    screenshot(page, "care-1-queue-m2")

    rows.first.locator("a").click()
    page.wait_for_url("**/care/accounts/*")
    page.locator("#outcome").select_option("hardship_disclosed")
    page.locator("#text").fill("Lost her job in October; new job starts in January. <b>Asked</b> for a lower payment.")
    page.get_by_role("button", name="Add note").click()
    page.wait_for_url("**/care/accounts/*")
    page.locator("#reason").select_option("lost_job")
    page.get_by_role("button", name="Save reason").click()
    page.wait_for_url("**/care/accounts/*")
    timeline = page.locator("#timeline").inner_text()
    assert "Hardship disclosed" in timeline and "<b>Asked</b>" in timeline and "Lost their job" in timeline
    assert axe_violations(page) == []
    screenshot(page, "care-2-case-file")

    page.get_by_role("link", name="Send a plan link").click()
    page.wait_for_url("**/link")
    assert axe_violations(page) == []
    page.get_by_label("Text message").check()
    page.get_by_role("button", name="Preview the message").click()
    page.wait_for_url("**/link")
    preview = page.locator(".preview")
    assert preview.get_attribute("lang") == "zh-Hans" and "/l/" in preview.inner_text()
    assert axe_violations(page) == []
    screenshot(page, "care-3-send-link-preview")
    assert page.outside_requests == []  # type: ignore[attr-defined]
