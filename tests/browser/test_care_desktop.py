"""A care agent at a desktop: signs in with password and authenticator code, works the
queue, opens a case file and adds a note. Screenshots at 1280×800."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, screenshot, staff_signs_in

pytestmark = pytest.mark.browser

AGENT = "agent@example.com"


def test_agent_works_the_queue_and_a_case_file(desktop):
    page = desktop
    page.goto("/care/sign-in")
    assert axe_violations(page) == []
    staff_signs_in(page, AGENT, "/care/")

    page.get_by_role("link", name="M2").click()
    page.wait_for_url("**/care/?tier=M2*")
    rows = page.locator("tbody tr")
    assert rows.count() >= 2
    column = page.locator("thead th").all_inner_texts().index("Days past due")  # the workbench added columns
    days = [int(rows.nth(i).locator("td").nth(column).inner_text()) for i in range(rows.count())]
    assert days == sorted(days, reverse=True) and all(30 <= d <= 59 for d in days)
    assert axe_violations(page) == []
    screenshot(page, "care-1-queue-m2")

    rows.first.locator("a").click()
    page.wait_for_url("**/care/accounts/*")
    page.locator("#outcome").select_option("hardship_disclosed")
    # She called us: a call of ours would be refused outside her contact hours, and this
    # test runs on the real clock at any hour.
    page.locator("#channel").select_option("phone_in")
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
