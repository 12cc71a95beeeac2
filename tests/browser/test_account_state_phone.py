"""The promise flow and the account page with a promise and with a plan, on a phone, in
English, Simplified and Traditional Chinese: axe-core clean, no sideways scroll at 320 px."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from portal.demo import DEMO_CARDHOLDERS
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_journey_phone import sign_in

pytestmark = pytest.mark.browser

# Accounts no other browser test changes, each with a plan it may take without approval.
CASES = [
    ("en", 6, "Your promise to pay", "Your plan"),  # Chan Ka Man, HKD, 77 days past due
    ("zh_Hans", 0, "您的还款承诺", "您的还款计划"),  # Li Na, CNY, 3 days past due
    ("zh_Hant", 5, "您的還款承諾", "您的還款計劃"),  # 黃志強, HKD, 64 days past due
]


def check(page, name: str) -> None:
    """axe-core and no sideways scroll at 390 px and at 320 px; a screenshot at each."""
    for width in (390, 320):
        page.set_viewport_size({"width": width, "height": 844})
        assert axe_violations(page) == [], f"{name} at {width}px"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{name} at {width}px"
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 390, "height": 844})


def amount_in(text: str) -> str:
    """The number in a formatted amount such as HK$1,234.50 or ¥1,234.50."""
    return re.search(r"[\d,]+(?:\.\d+)?", text).group(0).replace(",", "")


@pytest.mark.parametrize(("locale", "index", "promise_title", "plan_title"), CASES)
def test_promise_then_plan_on_the_account_page(phone, locale, index, promise_title, plan_title):
    page = phone
    demo = DEMO_CARDHOLDERS[index]
    sign_in(page, demo, locale)

    # The promise page states its limits before anything is typed.
    page.goto("/plan/promise")
    limits = page.locator("main section.card dd")
    assert limits.count() == 2
    minimum = amount_in(limits.nth(0).inner_text())
    check(page, f"locale-{locale}-1-promise")
    page.locator("#amount").fill(minimum)
    page.locator("#pay_by").fill((date.today() + timedelta(days=7)).isoformat())
    page.locator("main form button[type=submit]").tap()
    page.wait_for_url(re.compile(r".*/plan/promise/\d+$"))
    main = page.locator("main").inner_text()
    assert amount_in(page.locator("main .amount-big").inner_text()) == minimum
    assert "1 / 4" not in main and page.locator("main section.card").count() == 3  # promise, how to pay, next
    check(page, f"locale-{locale}-2-promise-made")

    page.goto("/account")
    assert promise_title in page.locator("main").inner_text()
    check(page, f"locale-{locale}-3-account-promise")

    # Take a plan that needs no approval; the account page then shows it, not "choose a plan".
    page.goto("/plan/offers")
    page.locator("article.offer a.button").first.tap()
    page.wait_for_url(re.compile(r".*/plan/offers/[0-9a-f]{64}$"))
    page.locator("main a.button[href$='/accept']").tap()
    page.wait_for_url("**/accept")
    page.locator("#full_name").fill(demo.name)
    page.locator("#consent").tap()
    page.locator("main form button[type=submit]").tap()
    page.wait_for_url("**/done")
    page.goto("/account")
    plan_card = page.locator("main section.highlight").first
    assert plan_title in plan_card.inner_text()
    assert page.locator("main a[href='/plan']").count() == 0  # no "choose a plan" button
    assert page.locator("main a[href$='/done']").count() == 1
    check(page, f"locale-{locale}-4-account-plan")
    assert page.outside_requests == []
