"""The key terms and the agreement preview on a phone, in each language: axe-core finds
nothing, nothing scrolls sideways at 320 px, and every column of the schedule is visible."""

from __future__ import annotations

import re

import pytest

from portal.demo import DEMO_CARDHOLDERS
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_journey_phone import sign_in

pytestmark = pytest.mark.browser

# 陳美玲 (HKD, 25 days past due) in each language: no other browser test gives her a plan.
CASES = [("en", 2), ("zh_Hans", 2), ("zh_Hant", 2)]


def check(page, name: str) -> None:
    assert axe_violations(page) == [], name
    for width in (390, 320):
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (name, width)
        screenshot(page, f"{name}-{width}")


@pytest.mark.parametrize(("locale", "index"), CASES)
def test_key_terms_and_the_agreement_preview_on_a_phone(phone, locale, index):
    page = phone
    sign_in(page, DEMO_CARDHOLDERS[index], locale)
    page.goto("/plan/offers?all=1")
    links = page.locator("article.offer a.button")
    assert links.count() >= 1
    links.first.tap()
    page.wait_for_url(re.compile(r".*/plan/offers/[0-9a-f]{64}$"))
    assert page.locator("section.key-terms").count() == 1
    assert page.locator("ul.terms-missed li").count() >= 4
    check(page, f"key-terms-{locale}-offer")
    # At 320 px every column of the schedule, the fee column too, is inside its box.
    assert page.evaluate("""() => [...document.querySelectorAll('.table-wrap')].every(w =>
        w.scrollWidth <= w.clientWidth)""")
    page.locator("a.preview-link").tap()
    page.wait_for_url(re.compile(r".*/agreement$"))
    assert page.locator(".agreement-preview h2").count() >= 8
    check(page, f"key-terms-{locale}-preview")
    assert page.outside_requests == []
