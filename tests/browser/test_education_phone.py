"""A person on a phone reads the help topics: accessible, fits the screen, nothing from outside."""

from __future__ import annotations

import pytest

from portal.education.content import load_library
from tests.browser.conftest import axe_violations, open_page, screenshot

pytestmark = pytest.mark.browser

TOPICS = load_library()


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def check(page, name: str) -> None:
    assert axe_violations(page) == []
    assert no_horizontal_scroll(page)
    screenshot(page, name)


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_read_topics_on_a_phone(phone, locale):
    page = phone
    page.goto(f"/language/{locale}?next=/sign-in")
    page.get_by_role("link", name={"zh_Hans": "帮助", "en": "Help"}[locale], exact=True).tap()
    page.wait_for_url("**/learn")
    assert page.locator("html").get_attribute("lang") == locale.replace("_", "-")
    assert page.locator(".topic-list li").count() == len(TOPICS.topics(locale))
    check(page, f"{locale}-learn-1-list")

    rate = TOPICS.get(locale, "annualised-rate")
    page.get_by_role("link", name=rate.title).tap()
    page.wait_for_url("**/learn/annualised-rate")
    assert page.locator("h1").inner_text() == rate.title
    assert "13.03" in page.locator("main").inner_text()
    check(page, f"{locale}-learn-2-annualised-rate")

    cannot_pay = TOPICS.get(locale, "cannot-pay")
    page.goto("/learn/cannot-pay")
    assert page.locator("h1").inner_text() == cannot_pay.title
    related = page.locator("nav.related a")
    assert related.count() == len(cannot_pay.related)
    check(page, f"{locale}-learn-3-cannot-pay")

    related.first.tap()
    page.wait_for_url(f"**/learn/{cannot_pay.related[0]}")
    assert page.outside_requests == []


def test_topic_fits_320px_without_javascript(browser, live_server):
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, java_script_enabled=False, base_url=live_server
    )
    page = context.new_page()
    page.goto("/language/zh_Hant?next=/learn/plan-types")
    assert page.locator("h1").inner_text() == TOPICS.get("zh_Hant", "plan-types").title
    widest = max(
        box["x"] + box["width"] for box in (el.bounding_box() for el in page.locator("main *, header *").all()) if box
    )
    assert widest <= 320
    screenshot(page, "zh_Hant-320-nojs-learn-plan-types")
    page.goto("/learn")
    page.get_by_role("link", name=TOPICS.get("zh_Hant", "scams").title).click()
    page.wait_for_url("**/learn/scams")
    context.close()


def test_the_contact_guide_with_its_phone_lists_fits_320px_without_javascript(browser, live_server):
    with open_page(browser, live_server, viewport={"width": 320, "height": 640}, java_script_enabled=False) as page:
        page.goto("/language/zh_Hant?next=/learn/contact-us")
        assert page.locator("h1").inner_text() == TOPICS.get("zh_Hant", "contact-us").title
        main = page.locator("main").inner_text()
        assert "+852 3000 0000" in main and "金融糾紛調解中心" in main
        assert no_horizontal_scroll(page)
        screenshot(page, "zh_Hant-320-nojs-learn-contact-us")
        assert page.outside_requests == []
    with open_page(browser, live_server, viewport={"width": 320, "height": 640}) as page:
        page.goto("/language/zh_Hant?next=/learn/contact-us")
        assert axe_violations(page) == []
