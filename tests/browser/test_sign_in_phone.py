"""A cardholder on a phone signs in with the code from the outbox and reads their account."""

from __future__ import annotations

import re

import pytest

from portal.demo import DEMO_CARDHOLDERS
from tests.browser.conftest import axe_violations, screenshot

pytestmark = pytest.mark.browser


def read_code_from_outbox(page) -> str:
    page.goto("/dev/outbox")
    first = page.locator(".outbox-body").first.inner_text()
    return re.search(r"(?<!\d)(\d{6})(?!\d)", first).group(1)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize(
    ("locale", "demo_index", "expect"),
    [
        ("zh_Hans", 1, ["逾期", "最低还款额", "¥"]),
        ("en", 0, ["Overdue now", "Minimum payment", "CN¥"]),
    ],
)
def test_sign_in_and_read_account(phone, locale, demo_index, expect):
    page = phone
    demo = DEMO_CARDHOLDERS[demo_index]
    page.goto("/sign-in")
    # The switcher goes /language/… → back to /sign-in: wait for that navigation itself,
    # since the URL before and after is the same.
    with page.expect_navigation(url="**/sign-in"):
        page.get_by_role("link", name={"zh_Hans": "简体中文", "en": "English"}[locale]).tap()
    assert page.locator("html").get_attribute("lang") == locale.replace("_", "-")
    assert axe_violations(page) == []
    assert no_horizontal_scroll(page)
    screenshot(page, f"{locale}-1-sign-in")

    page.locator("#card_number").fill(demo.card_number)
    page.locator("#date_of_birth").fill(demo.date_of_birth.isoformat())
    page.locator("button[type=submit]").tap()
    page.wait_for_url("**/sign-in/code")
    assert axe_violations(page) == []
    screenshot(page, f"{locale}-2-code")

    code = read_code_from_outbox(page)
    page.go_back()
    page.locator("#code").fill(code)
    page.locator("button[type=submit]").tap()
    page.wait_for_url("**/account")
    text = page.locator("main").inner_text()
    for fragment in expect:
        assert fragment in text
    assert axe_violations(page) == []
    assert no_horizontal_scroll(page)
    screenshot(page, f"{locale}-3-account")
    assert page.outside_requests == []


def test_wrong_code_message_is_accessible(phone):
    page = phone
    demo = DEMO_CARDHOLDERS[3]
    page.goto("/language/en?next=/sign-in")
    page.locator("#card_number").fill(demo.card_number)
    page.locator("#date_of_birth").fill(demo.date_of_birth.isoformat())
    page.locator("button[type=submit]").tap()
    page.locator("#code").fill("12345")
    page.locator("button[type=submit]").tap()
    assert "6 digits" in page.locator(".error-summary").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "en-4-code-error")


def test_pages_work_at_320px_without_javascript(browser, live_server):
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, java_script_enabled=False, base_url=live_server
    )
    page = context.new_page()
    page.goto("/language/zh_Hant?next=/sign-in")
    demo = DEMO_CARDHOLDERS[2]
    page.locator("#card_number").fill(demo.card_number)
    page.locator("#date_of_birth").fill(demo.date_of_birth.isoformat())
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/sign-in/code")
    page.goto("/dev/outbox")
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", page.locator(".outbox-body").first.inner_text()).group(1)
    page.goto("/sign-in/code")
    page.locator("#code").fill(code)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/account")
    assert "HK$" in page.locator("main").inner_text()
    # The layout must fit: nothing wider than the 320 px screen.
    widest = max(
        box["x"] + box["width"] for box in (el.bounding_box() for el in page.locator("main *, header *").all()) if box
    )
    assert widest <= 320
    screenshot(page, "zh_Hant-320-nojs-account")
    context.close()
