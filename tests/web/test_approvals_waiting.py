"""Approvals as a queue: how long each request has waited, oldest first, the service
level, and the count of waiting requests on the navigation of those who approve."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from portal.staff.loader import load_staff
from portal.staff.models import Role
from tests.conftest import counted_get
from tests.staff_helpers import signed_in_staff
from tests.web.test_care import account, pending_personalised, policy  # noqa: F401 - a fixture

MONDAY_10 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
WEDNESDAY_9 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
WEDNESDAY_NOON = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)


def two_requests(app, frozen) -> tuple[int, int]:
    """Holder 0's request made on Monday, Holder 1's on Wednesday; the newer one is
    written first, so its id is the smaller."""
    newer, older = account(app, 1, dpd=70), account(app, 0, dpd=70)
    frozen.set(WEDNESDAY_9)
    newer_plan = pending_personalised(app, newer)
    frozen.set(MONDAY_10)
    older_plan = pending_personalised(app, older)
    frozen.set(WEDNESDAY_NOON)
    return older_plan, newer_plan


def panels(html: str) -> list[str]:
    return re.findall(r'<section class="panel[^"]*" aria-labelledby="plan-\d+-title">.*?</section>', html, re.S)


def test_requests_show_their_business_waiting_time_oldest_first(app, client, policy, frozen):  # noqa: F811
    older, newer = two_requests(app, frozen)
    signed_in_staff(app, client, Role.SUPERVISOR)
    html = client.get("/care/approvals").get_data(as_text=True)
    first, second = panels(html)
    assert f"plan-{older}-title" in first and "Holder 0" in first
    assert "Waiting for 2 business days" in first
    assert f"plan-{newer}-title" in second and "Waiting for 3 hours" in second
    assert "2 requests are waiting" in html and "within 1 business day" in html


def test_a_request_past_the_service_level_is_marked_in_words(app, client, policy, frozen):  # noqa: F811
    two_requests(app, frozen)
    signed_in_staff(app, client, Role.SUPERVISOR)
    first, second = panels(client.get("/care/approvals").get_data(as_text=True))
    assert "panel-late" in first and "Past the service level" in first
    assert "panel-late" not in second and "Past the service level" not in second
    assert "1 has waited longer than that" in client.get("/care/approvals").get_data(as_text=True)


def test_the_service_level_is_the_deployments(app, client, policy, frozen):  # noqa: F811
    two_requests(app, frozen)
    app.config["APPROVAL_SERVICE_DAYS"] = 3
    signed_in_staff(app, client, Role.SUPERVISOR)
    html = client.get("/care/approvals").get_data(as_text=True)
    assert "Past the service level" not in html and "within 3 business days" in html


def test_a_weekend_does_not_make_a_request_late(app, client, policy, frozen):  # noqa: F811
    account_id = account(app, 0, dpd=70)
    frozen.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))  # Friday 17:00 in Shanghai
    pending_personalised(app, account_id)
    frozen.set(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))  # Monday 09:00: 16 business hours
    signed_in_staff(app, client, Role.SUPERVISOR)
    html = client.get("/care/approvals").get_data(as_text=True)
    assert "Waiting for 16 hours" in html and "Past the service level" not in html


def test_the_waiting_time_is_in_the_staff_members_language(app, client, policy, frozen):  # noqa: F811
    two_requests(app, frozen)
    signed_in_staff(app, client, Role.SUPERVISOR)
    client.get("/language/zh_Hans")
    html = client.get("/care/approvals").get_data(as_text=True)
    assert "3小时" in html.replace(" ", "")


def test_supervisors_see_the_count_of_waiting_requests_on_the_navigation(app, client, policy, frozen):  # noqa: F811
    two_requests(app, frozen)
    signed_in_staff(app, client, Role.SUPERVISOR)
    html, statements = counted_get(app, client, "/care/")
    link = re.search(r'<a href="/care/approvals"[^>]*>.*?</a>', html, re.S)
    assert link and '<span class="count">2<span class="visually-hidden"> waiting</span></span>' in link.group(0)
    # Counted in the statement that loads the member of staff: no query of its own.
    assert not [s for s in statements if "pending_approval" in s and "staff_users" not in s]


def test_agents_see_no_approvals_and_are_not_counted_for(app, client, policy, frozen):  # noqa: F811
    two_requests(app, frozen)
    agent_id, *_ = signed_in_staff(app, client, Role.AGENT)
    supervisor_id, *_ = signed_in_staff(app, app.test_client(), Role.SUPERVISOR)
    html = client.get("/care/").get_data(as_text=True)
    assert "/care/approvals" not in html
    with app.app_context():
        assert load_staff(agent_id).pending_approvals is None
        assert load_staff(supervisor_id).pending_approvals == 2


def test_no_count_shows_when_nothing_waits(app, client, policy, frozen):  # noqa: F811
    signed_in_staff(app, client, Role.SUPERVISOR)
    html = client.get("/care/").get_data(as_text=True)
    link = re.search(r'<a href="/care/approvals"[^>]*>.*?</a>', html, re.S)
    assert link and "count" not in link.group(0)


def test_a_request_not_yet_a_business_day_old_never_reads_as_24_hours(app, client, policy, frozen):  # noqa: F811
    holder = account(app, 0, dpd=70)
    frozen.set(MONDAY_10)
    pending_personalised(app, holder)
    frozen.set(datetime(2026, 12, 1, 1, 40, tzinfo=UTC))  # Tuesday 09:40 in Shanghai: 23 h 40 min later
    signed_in_staff(app, client, Role.SUPERVISOR)
    [panel] = panels(client.get("/care/approvals").get_data(as_text=True))
    assert "Waiting for 23 hours" in panel and "Past the service level" not in panel
    frozen.set(datetime(2026, 12, 1, 1, 59, tzinfo=UTC))  # 09:59 the next day
    client = app.test_client()
    signed_in_staff(app, client, Role.SUPERVISOR)
    [panel] = panels(client.get("/care/approvals").get_data(as_text=True))
    assert "Waiting for 24 hours" not in panel and "Waiting for 1 business day" not in panel
    assert "Waiting for 23 hours" in panel


def test_the_approvals_page_costs_the_same_statements_for_one_request_or_many(app, client, policy, frozen):  # noqa: F811
    holders = [account(app, n, dpd=70) for n in range(4)]
    signed_in_staff(app, client, Role.SUPERVISOR)
    pending_personalised(app, holders[0])
    _, one = counted_get(app, client, "/care/approvals")
    for holder in holders[1:]:
        pending_personalised(app, holder)
    html, four = counted_get(app, client, "/care/approvals")
    assert len(panels(html)) == 4
    assert len(four) == len(one), four
