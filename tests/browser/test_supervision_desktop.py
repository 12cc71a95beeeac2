"""A supervisor and a staff admin at 1366×900: the approvals queue with how long each
request has waited, and staff management (add an agent and see the enrolment link,
disable them, then a staff admin enables them and changes their role)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tests.browser.conftest import _LIVE_APPS, axe_violations, open_page, screenshot, staff_signs_in

pytestmark = pytest.mark.browser

WIDE = {"viewport": {"width": 1366, "height": 900}}
DEMO_INDEX = 10  # 周杰, CNY, 210 days past due; no other browser test uses him


@pytest.fixture
def wide(browser: Any, live_server: str) -> Any:
    with open_page(browser, live_server, **WIDE) as page:
        yield page


def request_waiting_four_days() -> str:
    """周杰 asks for a plan that needs approval; the request is dated four calendar days
    back, which is at least two business days whatever today is."""
    from sqlalchemy import select

    from portal.accounts.models import CardAccount
    from portal.audit.service import Actor
    from portal.db_types import utcnow
    from portal.demo import DEMO_CARDHOLDERS
    from portal.extensions import db
    from portal.offers.adapter import offers_for_account
    from portal.plans.models import Plan
    from portal.plans.requests import request_plan
    from tests.conftest import unit

    reference = f"DEMO{DEMO_CARDHOLDERS[DEMO_INDEX].serial:04d}"
    with unit(_LIVE_APPS[0]):
        account = db.session.execute(select(CardAccount).where(CardAccount.reference == reference)).scalar_one()
        _, offers = offers_for_account(account, utcnow().date())
        offer = next(o for o in offers if o.needs_approval)
        actor = Actor("cardholder", str(account.id))
        plan, _created = request_plan(account.id, offer.fingerprint, "illness", actor, utcnow().date(), "zh_Hans")
        db.session.get(Plan, plan.id).created_at = utcnow() - timedelta(days=4)
        db.session.commit()
        return reference


def test_a_supervisor_sees_how_long_requests_have_waited(wide):
    page = wide
    reference = request_waiting_four_days()
    staff_signs_in(page, "supervisor@example.com", "/care/")
    nav_link = page.locator("nav.sidenav a[href$='/care/approvals']")
    assert re.fullmatch(r"Approvals\s+\d+\s+waiting", nav_link.inner_text().strip())
    nav_link.click()
    page.wait_for_url("**/care/approvals")
    panel = page.locator("section.panel", has_text=reference)
    waited = panel.locator(".waited").inner_text()
    assert "Past the service level" in waited and re.search(r"Waiting for \d+ business days", waited)
    assert "within 1 business day" in page.locator("main").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "supervision-1-approvals")
    assert page.outside_requests == []  # type: ignore[attr-defined]


def test_staff_management_add_disable_enable_and_change_role(wide, browser, live_server):
    page = wide
    staff_signs_in(page, "supervisor@example.com", "/care/")
    page.locator("nav.sidenav").get_by_role("link", name="Staff").click()
    page.wait_for_url("**/admin/staff/")
    assert axe_violations(page) == []
    # A supervisor may add agents only.
    assert page.locator("#role option").all_inner_texts() == ["Agent"]
    page.locator("#email").fill("bo.chen@bank.example")
    page.locator("#name").fill("Bo Chen")
    page.get_by_role("button", name="Add and show the enrolment link").click()
    page.wait_for_load_state()
    link = page.locator("#enrolment-link").inner_text()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/care/enrol/[\w-]{40,}", link)
    assert "Bo Chen has been added" in page.locator("main").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "supervision-2-staff-added")

    row = page.locator("tr", has_text="bo.chen@bank.example")
    assert "Waiting for enrolment" in row.inner_text()
    # Another supervisor's row has no buttons for a supervisor.
    assert page.locator("tr", has_text="policy@example.com").locator("button").count() == 0
    row.get_by_role("button", name="Disable Bo Chen").click()
    page.wait_for_url("**/admin/staff/")
    assert "Bo Chen can no longer sign in" in page.locator("main").inner_text()
    assert "Disabled" in page.locator("tr", has_text="bo.chen@bank.example").inner_text()
    # The enrolment link no longer opens for a disabled member of staff.
    assert page.request.get(link).status == 404

    with open_page(browser, live_server, **WIDE) as admin:
        staff_signs_in(admin, "admin@example.com", "/admin/staff/")
        row = admin.locator("tr", has_text="bo.chen@bank.example")
        row.get_by_role("button", name="Enable Bo Chen").click()
        admin.wait_for_url("**/admin/staff/")
        row = admin.locator("tr", has_text="bo.chen@bank.example")
        row.get_by_label("New role for Bo Chen").select_option("supervisor")
        row.get_by_role("button", name="Change role").click()
        admin.wait_for_url("**/admin/staff/")
        assert "Bo Chen is now: Supervisor." in admin.locator("main").inner_text()
        row = admin.locator("tr", has_text="bo.chen@bank.example")
        assert "Supervisor" in row.locator("td").first.inner_text()
        # Their own row offers them nothing to change.
        assert "Your own account" in admin.locator("tr", has_text="admin@example.com").inner_text()
        assert axe_violations(admin) == []
        screenshot(admin, "supervision-3-staff-admin")
        assert admin.outside_requests == []  # type: ignore[attr-defined]
