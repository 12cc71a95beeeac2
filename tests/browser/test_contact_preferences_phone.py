"""A cardholder on a 320 px phone, without JavaScript, turns collection texts off and on."""

from __future__ import annotations

import re
from typing import Any

import pytest

from portal.demo import DEMO_CARDHOLDERS
from tests.browser.conftest import axe_violations, screenshot

pytestmark = pytest.mark.browser

DEMO = DEMO_CARDHOLDERS[5]  # 黃志強, Traditional Chinese, HKD; no other browser test uses him


def sign_in(page: Any) -> None:
    page.goto("/language/zh_Hant?next=/sign-in")
    page.locator("#card_number").fill(DEMO.card_number)
    page.locator("#date_of_birth").fill(DEMO.date_of_birth.isoformat())
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/sign-in/code")
    page.goto("/dev/outbox")
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", page.locator(".outbox-body").first.inner_text()).group(1)
    page.goto("/sign-in/code")
    page.locator("#code").fill(code)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/account")


def fits_320(page: Any) -> bool:
    boxes = (el.bounding_box() for el in page.locator("main *, header *").all())
    return max(box["x"] + box["width"] for box in boxes if box) <= 320


def test_contact_preferences_without_javascript_at_320px(browser, live_server):
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, java_script_enabled=False, base_url=live_server
    )
    page = context.new_page()
    try:
        sign_in(page)
        page.get_by_role("link", name="更改我們聯絡您的方式").click()
        page.wait_for_url("**/account/contact")
        assert page.locator("#sms-0").is_checked()  # texts are on to start with
        page.get_by_label("不接收短訊").check()
        page.get_by_role("button", name="儲存我的選擇").click()
        page.wait_for_url("**/account/contact")
        assert "您的選擇已儲存。" in page.locator("main").inner_text()
        assert page.locator("#sms-1").is_checked()
        assert fits_320(page)
        screenshot(page, "zh_Hant-320-nojs-contact-preferences")
        # Back on, so the demo account is as it was for any later test.
        page.get_by_label("是，向我發送短訊").check()
        page.get_by_role("button", name="儲存我的選擇").click()
        page.wait_for_url("**/account/contact")
        assert page.locator("#sms-0").is_checked()
    finally:
        context.close()


def test_contact_preferences_page_has_no_axe_violations(browser, live_server):
    context = browser.new_context(viewport={"width": 320, "height": 640}, bypass_csp=True, base_url=live_server)
    page = context.new_page()
    try:
        sign_in(page)
        page.goto("/account")
        assert axe_violations(page) == []  # the account page with its new link
        page.goto("/account/contact")
        assert axe_violations(page) == []
        screenshot(page, "zh_Hant-320-contact-preferences")
    finally:
        context.close()
