"""An auditor reads the results on a 320 px screen: the funnel and outcomes pages fit,
their server-drawn charts show under the real Content-Security-Policy, and axe-core
finds nothing. Screenshots at 320×640."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.conftest import _LIVE_APPS, axe_violations, open_page, screenshot, staff_signs_in

pytestmark = pytest.mark.browser
NARROW = {"viewport": {"width": 320, "height": 640}, "has_touch": True, "is_mobile": True}


def fold_today() -> str:
    """The demo book folded as today's run would; the range that covers its history."""
    from portal.clock import now
    from portal.reporting.aggregate import rebuild, refresh, reporting_zone

    with _LIVE_APPS[0].app_context():
        today = now().astimezone(reporting_zone()).date()
        rebuild(today - timedelta(days=120), today - timedelta(days=2))
        refresh(today)
    return f"date_from={(today - timedelta(days=120)).isoformat()}&date_to={today.isoformat()}"


def test_results_pages_fit_a_narrow_screen_and_show_their_charts(browser, live_server):
    span = fold_today()
    # No bypass of the CSP here: the charts must show under the policy every page gets.
    context = browser.new_context(base_url=live_server, **NARROW)
    try:
        page = context.new_page()
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        staff_signs_in(page, "auditor@example.com", "/admin/")
        for path in (f"/admin/results/?{span}&split=tier", f"/admin/results/outcomes?{span}&split=channel"):
            page.goto(path)
            assert page.locator("script").count() == 0
            charts = page.locator(".report-chart img")
            assert charts.count() >= 1
            for n in range(charts.count()):
                assert charts.nth(n).evaluate("img => img.complete && img.naturalWidth > 0")
                assert charts.nth(n).bounding_box()["width"] <= 320
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= 320, f"{path} is {overflow} px wide"
        assert blocked == []
    finally:
        context.close()
    with open_page(browser, live_server, **NARROW) as page:
        staff_signs_in(page, "auditor@example.com", "/admin/")
        page.goto(f"/admin/results/?{span}&split=channel")
        assert "Link sent" in page.locator("table.report-table").inner_text()
        assert axe_violations(page) == []
        screenshot(page, "results-1-funnel-320")
        page.goto(f"/admin/results/outcomes?{span}")
        assert axe_violations(page) == []
        screenshot(page, "results-2-outcomes-320")
        assert page.outside_requests == []  # type: ignore[attr-defined]
