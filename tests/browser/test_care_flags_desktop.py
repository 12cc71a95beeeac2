"""At 1366×900: an agent finds a case by its full card number, reads its missed due date,
and flags the cardholder as vulnerable with a note; the plan link steps back and says why.
A supervisor clears the flag with a note. A policy admin sees the demo policy's balance
band in the editor. Screenshots of the case file and the editor."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, open_page, screenshot, staff_signs_in

pytestmark = pytest.mark.browser

WIDE = {"viewport": {"width": 1366, "height": 900}}


def test_agent_flags_a_vulnerable_cardholder_and_a_supervisor_clears_it(browser, live_server):
    from portal.demo import DEMO_CARDHOLDERS

    zhang = next(d for d in DEMO_CARDHOLDERS if d.name == "Zhang Wei")  # 35 days past due
    card = zhang.card_number
    with open_page(browser, live_server, **WIDE) as page:
        staff_signs_in(page, "agent@example.com", "/care/")
        page.goto("/care/search")
        page.locator("#q").fill(f"{card[:4]} {card[4:8]} {card[8:12]} {card[12:]}")
        page.get_by_role("button", name="Search").click()
        page.wait_for_load_state()
        assert card not in page.url  # the form posts: the number is not in the address
        assert "1 account found" in page.locator("[role=status]").inner_text()
        page.locator("tbody a").first.click()
        page.wait_for_url("**/care/accounts/*")
        case_url = page.url
        figures = page.locator("#figures-title + .tiles").inner_text()
        assert "Missed due date" in figures and "Next due date" in figures
        assert page.get_by_role("link", name="Send a plan link").is_visible()

        flag_form = page.locator("form:has(input[name=flag][value=vulnerable])")
        flag_form.locator("#note-vulnerable").fill("Told us on the phone: in hospital until March")
        flag_form.get_by_role("button", name="Set").click()
        page.wait_for_url(case_url)
        assert "Flag set: Vulnerable: contact by a person only." in page.locator(".notice").first.inner_text()
        hold = page.locator(".link-hold")
        assert "talk to them first" in hold.inner_text()
        assert page.get_by_role("link", name="Send a plan link").count() == 0
        assert "in hospital until March" in page.locator("#timeline").inner_text()
        assert "Only a supervisor can clear" in flag_form.inner_text()
        assert axe_violations(page) == []
        screenshot(page, "care-flags-1-case-file-vulnerable")
        assert page.outside_requests == []  # type: ignore[attr-defined]

    with open_page(browser, live_server, **WIDE) as page:
        staff_signs_in(page, "supervisor@example.com", "/care/")
        page.goto(case_url)
        flag_form = page.locator("form:has(input[name=flag][value=vulnerable])")
        flag_form.locator("#note-vulnerable").fill("Back home and working; asked for normal contact")
        flag_form.get_by_role("button", name="Clear").click()
        page.wait_for_url(case_url)
        assert page.locator(".link-hold").count() == 0
        assert page.get_by_role("link", name="Send a plan link").is_visible()
        assert axe_violations(page) == []


def test_policy_editor_shows_the_demo_policys_balance_band(browser, live_server):
    with open_page(browser, live_server, **WIDE) as page:
        staff_signs_in(page, "policy@example.com", "/admin/")
        page.goto("/admin/policies/")
        page.get_by_role("button", name="New CNY draft from the active version").click()
        page.wait_for_url("**/edit")
        assert page.locator("#tiers-0-name").input_value() == "M1 small"
        assert page.locator("#tiers-0-balance_below").input_value() == "2000"
        assert page.locator("#tiers-1-balance_from").input_value() == "2000"
        assert page.locator("#tiers-1-balance_below").input_value() == ""
        # An overlapping band is refused next to its input.
        page.locator("#tiers-1-balance_from").fill("1500")
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_load_state()
        assert "are already in M1 small" in page.locator("#tiers-1-balance_from-error").inner_text()
        assert axe_violations(page) == []
        page.locator("#tiers-0-name").scroll_into_view_if_needed()
        screenshot(page, "policy-bands-editor")
        # The draft is left unsaved-invalid: the active policy other tests read is unchanged.
