"""A policy admin opens the experiments page on a 320 px screen without JavaScript, in
Chinese, and meets a validation error: the page fits, and the form works without scripts.
Nothing is written, so the policies other browser tests see stay as they are."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, open_page, screenshot, staff_signs_in

pytestmark = pytest.mark.browser


def fits(page) -> bool:
    """Nothing scrolls sideways (a table scrolls inside its own ``.table-wrap``)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_experiments_page_at_320px_without_javascript(browser, live_server):
    with open_page(browser, live_server, viewport={"width": 320, "height": 640}, java_script_enabled=False) as page:
        staff_signs_in(page, "policy@example.com", "/admin/")
        page.goto("/language/zh_Hans?next=/admin/experiments/")
        page.wait_for_url("**/admin/experiments/")
        assert page.locator("h1").inner_text() == "实验"
        assert fits(page)
        page.locator("#name").fill("更短的冷静期")
        page.locator("#challenger").fill("1")
        page.locator("#share").fill("0.9")  # above the 0.5 a challenger may take
        page.get_by_role("button", name="提议此实验").click()
        page.wait_for_load_state()
        assert page.locator(".error-summary").is_visible()
        assert page.locator("#share").get_attribute("aria-invalid") == "true"
        assert fits(page)
        screenshot(page, "zh_Hans-320-nojs-experiments-error")
    with open_page(browser, live_server, viewport={"width": 320, "height": 640}) as page:
        staff_signs_in(page, "policy@example.com", "/admin/")
        page.goto("/admin/experiments/")
        assert axe_violations(page) == []
