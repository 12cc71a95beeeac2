"""Nobody meets a dead end, on a phone: the demo cardholders at 95 and 400 days past due,
whose every offer needs approval, ask for a plan; a supervisor declines one request with a
reason and approves another at a changed monthly amount with a pause; each decision
reaches the outbox; the cardholder withdraws a request, sees why one was declined, and
signs the approved plan. axe-core on every new page, no sideways scrolling at 320 px, and
the new pages photographed in all three languages at 390 and 320 px."""

from __future__ import annotations

import re
from typing import Any

import pytest

from portal.demo import DEMO_CARDHOLDERS
from tests.browser.conftest import ARTIFACTS, DESKTOP, axe_violations, open_page, screenshot, staff_signs_in
from tests.browser.test_journey_phone import sign_in

pytestmark = pytest.mark.browser

DAYS_95 = DEMO_CARDHOLDERS[7]  # 赵敏, Simplified Chinese, CNY: relief and settlements, all need approval
DAYS_400 = DEMO_CARDHOLDERS[11]  # Maria Ho, English, HKD: settlements and the personalised plan
LOCALES = ("en", "zh_Hans", "zh_Hant")
WIDTHS = (390, 320)


def check(page: Any, name: str) -> None:
    assert axe_violations(page) == [], name
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
    screenshot(page, name)


def in_every_language(page: Any, path: str, name: str, back: str) -> None:
    """Check and photograph ``path`` in each language at each phone width, then return
    to the cardholder's own language ``back``."""
    for locale in LOCALES:
        page.goto(f"/language/{locale}?next={path}")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 844})
            check(page, f"approvals/{name}-{locale}-{width}")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/language/{back}?next={path}")


def outbox_has(page: Any, text: str) -> str:
    page.goto("/dev/outbox")
    bodies = [b for b in page.locator(".outbox-body").all_inner_texts() if text in b]
    assert bodies, f"no message with {text!r} in the outbox"
    return bodies[0]


def request_offer(page: Any, offer_title: str, reason: str, monthly: str | None = None) -> None:
    """From the full list of offers, ask for the one titled ``offer_title``."""
    page.goto("/plan/offers?all=1")
    page.locator("article.offer", has_text=offer_title).first.locator("a.button").tap()
    page.wait_for_url(re.compile(r".*/plan/offers/[0-9a-f]{64}$"))
    page.locator("main a[href$='/request']").tap()
    page.wait_for_url("**/request")
    if page.locator(f"#reason-{reason}").count():
        page.locator(f"#reason-{reason}").check()
    if monthly is not None:
        page.locator("#monthly").fill(monthly)
    page.locator("#confirm").check()
    page.locator("main form button[type=submit]").tap()
    page.wait_for_url("**/plan")


def supervisor_decides(browser: Any, base_url: str, holder: str, name: str, **choices: str) -> None:
    with open_page(browser, base_url, **DESKTOP) as desk:
        staff_signs_in(desk, "supervisor@example.com", "/care/")
        desk.goto("/care/approvals")
        section = desk.locator("section.panel", has_text=holder)
        assert section.count() == 1
        check(desk, f"approvals/care-{name}")
        section.locator(f"input[value={choices.pop('decision')}]").check()
        for field, value in choices.items():
            target = section.locator(f"[name$='-{field}']")
            if field == "decline_reason":
                target.select_option(value)
            else:
                target.fill(value)
        section.locator("button[type=submit]").click()
        desk.wait_for_url("**/care/approvals")
        assert desk.locator("section.panel", has_text=holder).count() == 0


def test_95_days_a_declined_request_says_why_then_an_approved_one_is_signed(phone, browser, live_server):
    page = phone
    sign_in(page, DAYS_95, "zh_Hans")
    request_offer(page, "暂时减少还款", "illness")
    check(page, "approvals/95-status-pending")
    supervisor_decides(
        browser,
        live_server,
        DAYS_95.name,
        "95-decline",
        decision="decline",
        decline_reason="income_too_low",
        note="请先看看分期结清。",
    )
    assert "未能批准" in outbox_has(page, "未能批准")
    page.goto("/plan")
    text = page.locator("main").inner_text()
    assert "您目前的收入不足以支持这个计划" in text and "请先看看分期结清" in text
    in_every_language(page, "/plan", "95-declined", "zh_Hans")

    request_offer(page, "以较少金额协商结清", "illness")
    supervisor_decides(browser, live_server, DAYS_95.name, "95-approve", decision="approve")
    assert "/sign" in outbox_has(page, "已获批准")
    page.goto("/plan")
    page.locator("main a[href$='/sign']").tap()
    page.wait_for_url("**/sign")
    page.locator("#full_name").fill(DAYS_95.name)
    page.locator("#consent").check()
    page.locator("main form button[type=submit]").tap()
    page.wait_for_url("**/done")
    assert "/agreements/" in outbox_has(page, "还款计划已达成")
    assert page.outside_requests == []


def test_400_days_withdraw_then_a_personalised_plan_approved_at_another_amount(phone, browser, live_server):
    page = phone
    sign_in(page, DAYS_400, "en")
    page.goto("/plan/budget")
    page.locator("#earnings").fill("9000")
    page.locator("#housing").fill("6000")
    page.locator("#food_housekeeping").fill("2400")
    page.locator("main form button[type=submit]").tap()
    page.wait_for_url("**/plan/offers")
    page.locator("article.offer", has_text="A longer plan for hard times").first.locator("a.button").tap()
    page.locator("main a[href$='/request']").tap()
    page.wait_for_url("**/request")
    assert page.locator("#monthly").input_value() == "300.00"  # half of 600 left each month
    in_every_language(page, page.url.split(live_server, 1)[1], "400-request", "en")

    page.locator("#reason-income_fell").check()
    page.locator("#monthly").fill("200")
    page.locator("#confirm").check()
    page.locator("main form button[type=submit]").tap()
    page.wait_for_url("**/plan")
    assert "HK$200.00" in page.locator("main").inner_text()
    in_every_language(page, "/plan", "400-status-pending", "en")
    outbox_has(page, "we have your request")

    page.goto("/plan")
    page.locator("form[action$='/withdraw'] button").tap()
    page.wait_for_url("**/plan/offers")
    assert "was withdrawn" in page.locator("main").inner_text()
    check(page, "approvals/400-withdrawn")

    request_offer(page, "A longer plan for hard times", "income_fell", monthly="200")
    supervisor_decides(
        browser, live_server, DAYS_400.name, "400-approve", decision="approve", monthly="250", pause_months="2"
    )
    message = outbox_has(page, "was approved")
    assert "36 payments, the first of HK$245.56" in message and "/sign" in message
    page.goto("/plan")
    text = page.locator("main").inner_text()
    assert "Payment pause at the start" in text and "2 months" in text
    in_every_language(page, "/plan", "400-status-approved", "en")
    page.locator("main a[href$='/sign']").tap()
    page.wait_for_url("**/sign")
    check(page, "approvals/400-sign")
    page.locator("#full_name").fill(DAYS_400.name)
    page.locator("#consent").check()
    page.locator("main form button[type=submit]").tap()
    page.wait_for_url("**/done")
    assert "/agreements/" in outbox_has(page, "your repayment plan is agreed")
    assert (ARTIFACTS / "approvals").is_dir()
