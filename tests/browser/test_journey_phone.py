"""From "I can't pay" to a signed plan on a phone: Simplified Chinese with the budget
check and an installment plan; English with interest relief. axe-core on every page."""

from __future__ import annotations

import re

import pytest

from portal.demo import DEMO_CARDHOLDERS
from tests.browser.conftest import axe_violations, screenshot

pytestmark = pytest.mark.browser


def check(page, name: str) -> None:
    assert axe_violations(page) == [], name
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
    screenshot(page, name)


def sign_in(page, demo, locale: str) -> None:
    page.goto(f"/language/{locale}?next=/sign-in")
    page.locator("#card_number").fill(demo.card_number)
    page.locator("#date_of_birth").fill(demo.date_of_birth.isoformat())
    page.locator("button[type=submit]").tap()
    page.wait_for_url("**/sign-in/code")
    page.goto("/dev/outbox")
    body = page.locator(".outbox-body").first.inner_text()
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", body).group(1)
    page.goto("/sign-in/code")
    page.locator("#code").fill(code)
    page.locator("button[type=submit]").tap()
    page.wait_for_url("**/account")


def test_installment_plan_in_simplified_chinese_with_budget_check(phone):
    page = phone
    demo = DEMO_CARDHOLDERS[1]  # 王小明, CNY, 12 days past due
    sign_in(page, demo, "zh_Hans")
    page.locator("main a.button").first.tap()
    page.wait_for_url("**/plan")
    check(page, "journey-zh-1-reason")
    page.locator("button[name=reason][value=income_fell]").tap()
    page.wait_for_url("**/plan/budget")
    check(page, "journey-zh-2-budget")
    page.locator("#earnings").fill("8000")
    page.locator("#housing").fill("2500")
    page.locator("#food_housekeeping").fill("1500")
    page.locator("#communications_leisure").fill("300")
    page.locator("main form button[type=submit]").tap()
    page.wait_for_url("**/plan/offers")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.locator("article.offer-fits").count() >= 1
    check(page, "journey-zh-3-offers")
    page.locator("article.offer-fits a.button").first.tap()
    page.wait_for_url(re.compile(r".*/plan/offers/[0-9a-f]{64}$"))
    check(page, "journey-zh-4-detail")
    page.locator("main a.button").last.tap()
    page.wait_for_url("**/accept")
    check(page, "journey-zh-5-sign")
    page.locator("#full_name").fill(demo.name)
    page.locator("#consent").tap()
    page.locator("main form button[type=submit]").tap()
    page.wait_for_url("**/done")
    text = page.locator("main").inner_text()
    assert "¥" in text
    check(page, "journey-zh-6-done")
    assert page.outside_requests == []


def test_interest_relief_in_english(phone):
    page = phone
    demo = DEMO_CARDHOLDERS[3]  # Zhang Wei, CNY, 35 days past due
    sign_in(page, demo, "en")
    page.goto("/plan")
    page.get_by_role("link", name="Skip this question").tap()
    page.wait_for_url("**/plan/budget")
    page.get_by_role("link", name="Skip and see all plans").tap()
    page.wait_for_url("**/plan/offers")
    check(page, "journey-en-1-offers")
    relief = page.locator("article.offer", has_text="Lower payments for a while")
    if relief.count() == 0:
        page.locator("a[href$='all=1']").tap()
        page.wait_for_url("**all=1")
        relief = page.locator("article.offer", has_text="Lower payments for a while")
    relief.first.locator("a.button").tap()
    page.wait_for_url(re.compile(r".*/plan/offers/[0-9a-f]{64}$"))
    check(page, "journey-en-2-detail")
    page.get_by_role("link", name="Choose this plan").tap()
    page.wait_for_url("**/accept")
    page.locator("main form button[type=submit]").tap()  # nothing filled in: errors first
    assert "Type your full name" in page.locator(".error-summary").inner_text()
    check(page, "journey-en-3-sign-errors")
    page.locator("#full_name").fill(demo.name.upper())
    page.locator("#consent").tap()
    page.locator("main form button[type=submit]").tap()
    page.wait_for_url("**/done")
    assert "Your plan is ready" in page.locator("main").inner_text()
    check(page, "journey-en-4-done")
    page.locator("input[name=rating][value='5']").tap()
    page.locator("#comment").fill("Clear and kind.")
    with page.expect_navigation():
        page.get_by_role("button", name="Send feedback").tap()
    assert "Thank you for your feedback" in page.locator("main").inner_text()
    assert page.outside_requests == []
