"""A policy admin at a desktop drafts a change, meets a validation error, compares the
draft with the active version; a second admin reviews its impact. Screenshots at 1280×800.
Nothing is approved, so the active policy other browser tests see stays as it is."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DESKTOP, axe_violations, open_page, screenshot, staff_signs_in

pytestmark = pytest.mark.browser


def test_draft_validation_error_diff_and_impact(desktop, browser, live_server):
    page = desktop
    staff_signs_in(page, "policy@example.com", "/admin/")
    page.goto("/admin/policies/")
    assert axe_violations(page) == []
    page.get_by_role("button", name="New CNY draft from the active version").click()
    page.wait_for_url("**/edit")
    number = page.url.split("/")[-2]

    # A tenor over the 60-month cap in M3 (tier 3 of the demo policy: M1 small, M1, M2, M3 …)
    # and a negative minimum installment in M1 small.
    page.locator("#tiers-3-installment-tenors").fill("6, 12, 24, 36, 72")
    page.locator("#tiers-0-installment-min_installment").fill("-100")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    error = page.locator("#tiers-3-installment-tenors-error")
    assert "At most 60 months" in error.inner_text()
    assert page.locator("#tiers-3-installment-tenors").get_attribute("aria-invalid") == "true"
    assert "Must not be negative" in page.locator("#tiers-0-installment-min_installment-error").inner_text()
    summary = page.locator(".error-summary")
    assert summary.is_visible() and "M3 · Installment plan · Tenors offered" in summary.inner_text()
    assert axe_violations(page) == []
    page.locator("#tiers-3-installment-tenors").scroll_into_view_if_needed()
    screenshot(page, "policy-1-editor-validation-error")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.locator("#tiers-3-installment-tenors").fill("6, 12, 24, 36, 48")
    page.locator("#tiers-0-installment-min_installment").fill("150")
    page.locator("#cooldown_days").fill("60")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(f"**/admin/policies/{number}")
    assert "Draft saved." in page.locator(".notice").first.inner_text()

    page.get_by_role("link", name="Compare with the active version").click()
    page.wait_for_url("**/admin/policies/diff?*")
    changed = page.locator("tr.changed")
    assert changed.count() == 3
    assert "6, 12, 24, 36, 48" in page.locator("tr.changed", has_text="Tenors offered").inner_text()
    assert axe_violations(page) == []
    changed.first.scroll_into_view_if_needed()
    screenshot(page, "policy-2-diff")

    page.goto(f"/admin/policies/{number}")
    page.locator("#comment").fill("Longer M3 installments; shorter cool-down.")
    page.get_by_role("button", name="Submit for approval").click()
    page.wait_for_url(f"**/admin/policies/{number}")
    assert "Pending approval" in page.locator("h1").inner_text()

    # The second policy admin reviews the impact before deciding.
    with open_page(browser, live_server, **DESKTOP) as review:
        staff_signs_in(review, "policy2@example.com", "/admin/")
        review.goto(f"/admin/policies/{number}/review")
        assert review.locator(".impact-table").is_visible()
        assert review.get_by_role("button", name="Approve this version").is_visible()
        assert axe_violations(review) == []
        screenshot(review, "policy-3-review-impact")
    assert page.outside_requests == []  # type: ignore[attr-defined]
