"""A person on a 320 px phone asks questions: a confident answer, a weak
match and a hand-over, in English and Traditional Chinese; axe-core clean, nothing from
outside, nothing wider than the screen; with JavaScript off the box still answers. A
policy admin then sees the unanswered ones."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DESKTOP, axe_violations, open_page, screenshot, staff_signs_in

pytestmark = pytest.mark.browser

NARROW = {"viewport": {"width": 320, "height": 640}, "has_touch": True, "is_mobile": True}

QUESTIONS = {
    "en": [
        ("confident", "why does a 0.6% monthly fee cost about 13% a year"),
        ("weak", "can I get a new card after this"),
        ("hand-over", "this is not my debt"),
        ("crisis", "I feel like ending my life"),
    ],
    "zh_Hant": [
        ("confident", "停息掛賬係咩"),
        ("weak", "點樣開儲蓄戶口"),
        ("hand-over", "我失咗業，俾唔到錢"),
    ],
}


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_box_answers_with_javascript_off(browser, live_server):
    with open_page(browser, live_server, **NARROW, java_script_enabled=False) as page:
        page.goto("/language/zh_Hant?next=/learn/overdue")
        page.locator("#ask-question").fill("APR係咩")
        page.locator(".ask-box button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator("main a[href='/learn/annualised-rate']").count() >= 1
        assert fits(page)


@pytest.mark.parametrize("locale", ["en", "zh_Hant"])
def test_questions_answered_on_a_320px_phone(browser, live_server, locale):
    with open_page(browser, live_server, **NARROW) as page:
        page.goto(f"/language/{locale}?next=/learn")
        for kind, question in QUESTIONS[locale]:
            page.locator("#ask-question").fill(question)
            page.locator(".ask-box button[type=submit]").click()
            page.wait_for_load_state()
            assert page.url.endswith("/ask")
            main = page.locator("main")
            if kind == "confident":
                assert main.locator("blockquote.passage").count() == 1
            elif kind == "weak":
                assert main.locator("section.weak").count() == 1
            elif kind == "crisis":
                assert main.locator("section.crisis").count() == 1
            else:
                assert main.locator("section.hand-over").count() == 1
            assert axe_violations(page) == [], f"{locale} {kind}"
            assert fits(page), f"{locale} {kind}"
            screenshot(page, f"{locale}-320-ask-{kind}")
        assert page.outside_requests == []


def test_a_policy_admin_reads_the_unanswered_questions(browser, live_server):
    with open_page(browser, live_server, **DESKTOP) as page:
        page.goto("/language/en?next=/learn")
        page.locator("#ask-question").fill("do you sell travel insurance")
        page.locator(".ask-box button[type=submit]").click()
        page.wait_for_load_state()
        staff_signs_in(page, "policy@example.com", "/admin/")
        page.goto("/admin/questions/")
        assert "do you sell travel insurance" in page.locator("main").inner_text()
        assert axe_violations(page) == []
        screenshot(page, "admin-unanswered-questions")
