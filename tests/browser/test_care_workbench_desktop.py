"""The care workbench at a 1366×900 desktop (issue 17): next case and assignment, a
call-back that comes due, a promise taken by phone. Screenshots of the queue and the
case file, and axe-core on each page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.browser.conftest import _LIVE_APPS, axe_violations, open_page, screenshot, staff_signs_in

pytestmark = pytest.mark.browser

AGENT, SUPERVISOR = "agent@example.com", "supervisor@example.com"
WORKBENCH = {"viewport": {"width": 1366, "height": 900}}


@pytest.fixture
def desk(browser: Any, live_server: str) -> Iterator[Any]:
    with open_page(browser, live_server, **WORKBENCH) as page:
        yield page


@pytest.fixture
def second_desk(browser: Any, live_server: str) -> Iterator[Any]:
    with open_page(browser, live_server, **WORKBENCH) as page:
        yield page


def staff_id(email: str) -> int:
    from portal.extensions import db
    from portal.staff.models import StaffUser

    with _LIVE_APPS[0].app_context():
        return db.session.query(StaffUser.id).filter(StaffUser.email == email).scalar()


def test_next_case_then_a_supervisor_assigns_it(desk, second_desk):
    page = desk
    staff_signs_in(page, AGENT, "/care/")
    page.get_by_role("link", name="M2").click()
    page.wait_for_url("**/care/?tier=M2*")
    headers = page.locator(".queue-table thead th").all_inner_texts()
    assert headers[5:] == ["State", "Last contact", "Owner", "Next action"]
    assert axe_violations(page) == []
    screenshot(page, "workbench-1-queue")

    page.get_by_role("button", name="Next case").click()
    page.wait_for_url("**/care/accounts/*")
    assert "This case is yours for the next 30 minutes." in page.locator("main").inner_text()
    assert "You own this case" in page.locator("#work").inner_text()
    assert "Tier M2" in page.locator(".case-head").inner_text()  # drawn from the tab the agent was on
    assert axe_violations(page) == []
    screenshot(page, "workbench-2-case-file")
    case_url = page.url.split("#")[0]

    # A supervisor gives the case to the agent for good.
    boss = second_desk
    staff_signs_in(boss, SUPERVISOR, "/care/")
    boss.goto(case_url)
    assert "Owned by Ada Agent" in boss.locator("#work").inner_text()
    boss.locator("#assign-staff").select_option(label="Ada Agent")
    boss.get_by_role("button", name="Assign", exact=True).click()
    boss.wait_for_url("**/care/accounts/*")
    assert "Case assigned." in boss.locator("main").inner_text()
    assert "held until" not in boss.locator("#work").inner_text()  # assigned: no lease to run out
    assert axe_violations(boss) == []

    page.goto("/care/")
    my_work = page.locator(".my-work").inner_text()
    reference = case_url.rsplit("/", 1)[1]
    assert "Yours" in my_work
    assert page.locator(f".my-work a[href='/care/accounts/{reference}#work']").count() == 1


def test_a_call_back_comes_due_in_my_work(desk):
    from portal.audit.service import Actor
    from portal.cases.models import TaskKind
    from portal.cases.tasks import open_task
    from portal.db_types import utcnow
    from tests.conftest import unit

    page = desk
    staff_signs_in(page, AGENT, "/care/")
    page.get_by_role("link", name="M3").click()
    page.wait_for_url("**/care/?tier=M3*")
    page.locator(".queue-table tbody tr a").first.click()
    page.wait_for_url("**/care/accounts/*")
    account_id = int(page.url.rsplit("/", 1)[1])

    # The agent agrees a call-back for tomorrow at 10:00 the cardholder's time.
    page.locator("#callback summary").click()
    page.get_by_label("Call back").check()
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    page.locator("#day").fill(tomorrow)
    page.locator("#at").fill("10:00")
    page.locator("#note").fill("Call after her morning shift")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/care/accounts/*")
    assert "Call-back set." in page.locator("main").inner_text()
    assert "Call after her morning shift" in page.locator("#work").inner_text()

    # Another call-back, agreed earlier, whose time has come (set in the past by the service).
    with unit(_LIVE_APPS[0]):
        agent = staff_id(AGENT)
        open_task(
            account_id,
            TaskKind.CALLBACK,
            Actor.staff(agent),
            due_at=utcnow() - timedelta(minutes=5),
            owner_id=agent,
            note="Ring back about the hardship plan",
        )
    page.goto("/care/")
    due = page.locator(".my-work li.task-due")
    assert due.count() >= 1
    assert "Call back" in due.first.inner_text() and "Due now" in due.first.inner_text()
    assert axe_violations(page) == []
    screenshot(page, "workbench-3-call-back-due")
    due.first.locator("a").click()
    page.wait_for_url("**/care/accounts/*")
    tasks = page.locator("#work .tasks").inner_text()
    assert "Ring back about the hardship plan" in tasks and "Due now" in tasks


def test_an_agent_records_a_promise_taken_by_phone(desk):
    page = desk
    staff_signs_in(page, AGENT, "/care/")
    page.locator("a[href='/care/?tier=M1']").click()  # the demo policy's M1 (2,000 and over), not "M1 small"
    page.wait_for_url("**/care/?tier=M1")
    page.locator(".queue-table tbody tr a").first.click()
    page.wait_for_url("**/care/accounts/*")

    page.locator("#phone-promise summary").click()
    hint = page.locator("#phone-promise .hint").inner_text()
    assert "at least" in hint
    page.locator("#amount").fill("0.01")
    page.locator("#pay_by").fill("2099-01-01")
    page.get_by_role("button", name="Record promise").click()
    errors = page.locator("#phone-promise .error").all_inner_texts()
    assert any("must be at least" in e for e in errors) or any("no later than" in e for e in errors)
    assert axe_violations(page) == []

    minimum = hint.split("at least ")[1].split(",")[0]
    from portal.db_types import utcnow

    page.locator("#amount").fill(minimum.replace("CN¥", "").replace("HK$", "").replace(",", ""))
    page.locator("#pay_by").fill((utcnow() + timedelta(days=3)).date().isoformat())
    page.get_by_role("button", name="Record promise").click()
    page.wait_for_url("**/care/accounts/*#work")
    assert "Promise recorded:" in page.locator("main").inner_text()
    promises = page.locator("section[aria-labelledby='promises-title']").inner_text()
    assert minimum in promises and "Open" in promises
    screenshot(page, "workbench-4-phone-promise")
