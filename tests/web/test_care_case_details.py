"""The case file in words a person reads: the missed due date, a timeline without raw
keys, a plan link that steps back when it is not the next step, the cardholder's own
reason; and the vulnerability, bereavement and fraud flags with their notes."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.audit.models import AuditEvent
from portal.cases.models import CaseEvent
from portal.staff.models import Role
from tests.conftest import unit
from tests.staff_helpers import StaffAuth, signed_in_staff
from tests.web.test_care import account, agent, pending_request, post


@pytest.fixture
def policy(app):
    from portal.audit.service import SYSTEM
    from portal.extensions import db
    from portal.policies.service import ensure_default_policy

    with unit(app):
        ensure_default_policy(SYSTEM)
        db.session.commit()


def page(client, account_id):
    return client.get(f"/care/accounts/{account_id}").get_data(as_text=True)


def figure(html, label):
    found = re.search(rf"<dt>{re.escape(label)}</dt><dd>([^<]*)</dd>", html)
    return found.group(1) if found else None


def case_head(html):
    start = html.index('<header class="case-head">')
    return html[start : html.index("</header>", start)]


def main_link_button(html):
    return re.search(r'class="button" href="/care/accounts/\d+/link"', html) is not None


# --- dates ----------------------------------------------------------------------------


def test_an_account_35_days_late_shows_the_missed_due_date_not_the_next_one(app, client, policy, frozen):
    # Counted on 28 Nov 2026 (the frozen today): 35 days after 24 Oct. The core system's
    # due date is next month's statement.
    account_id = account(app, 0, dpd=35, due_date=date(2026, 12, 15), days_past_due_as_of=date(2026, 11, 28))
    agent(app, client)
    html = page(client, account_id)
    assert figure(html, "Missed due date") == "24 Oct 2026"
    assert figure(html, "Next due date") == "15 Dec 2026"
    assert figure(html, "Due date") is None


def test_days_past_due_counted_earlier_date_the_missed_due_date_from_that_day(app, client, policy, frozen):
    account_id = account(app, 0, dpd=10, due_date=date(2026, 11, 1), days_past_due_as_of=date(2026, 11, 11))
    agent(app, client)
    html = page(client, account_id)
    assert figure(html, "Missed due date") == "1 Nov 2026"
    assert figure(html, "Next due date") is None  # the stored due date is the missed one


def test_an_account_not_past_due_shows_its_due_date(app, client, policy, frozen):
    account_id = account(app, 0, dpd=0, due_date=date(2026, 12, 15))
    agent(app, client)
    html = page(client, account_id)
    assert figure(html, "Due date") == "15 Dec 2026" and figure(html, "Missed due date") is None


# --- timeline -------------------------------------------------------------------------


def test_timeline_names_links_and_messages_in_words(app, client, policy, query, frozen):
    from portal.audit.service import Actor
    from portal.extensions import db
    from portal.links.service import issue_plan_link, revoke_link
    from portal.notifications.models import OutboxMessage
    from portal.notifications.service import note_blocked

    account_id = account(app, 0, dpd=35)
    staff_id, *_ = agent(app, client)
    with unit(app):
        link = issue_plan_link(account_id, "sms", Actor("staff", str(staff_id)))
        message = db.session.get(OutboxMessage, link.outbox_message_id)
        note_blocked(message, "daily_cap", Actor("system", None))
        revoke_link(link.id, Actor("staff", str(staff_id)))
        db.session.commit()
    html = page(client, account_id)
    timeline = html[html.index('id="timeline"') :]
    assert "Plan link revoked" in timeline and "Text message link of 28 Nov 2026" in timeline
    assert "Message blocked" in timeline and "Plan link · Text message" in timeline
    assert "Daily contact limit reached" in timeline
    for raw in ("plan_link", ">link<", "link 1", "<dt>Message</dt>", "daily_cap"):
        assert raw not in timeline, raw


def test_the_reason_given_in_a_plan_request_fills_the_cases_reason(app, client, policy, query, frozen):
    account_id = account(app, 0, dpd=70)
    pending_request(app, account_id)  # the cardholder asks for a plan because of illness
    agent(app, client)
    html = page(client, account_id)
    head = case_head(html)
    assert "Illness or injury" in head and "given by the cardholder with a plan request" in head
    assert 'selected value="illness"' in html or 'value="illness" selected' in html
    # Staff who later learn more record a newer reason, which wins.
    assert post(client, f"/care/accounts/{account_id}/reason", reason="lost_job").status_code == 302
    head = case_head(page(client, account_id))
    assert "Lost their job" in head and "recorded by care staff" in head


# --- the plan link steps back ---------------------------------------------------------


def test_send_a_plan_link_is_the_main_action_on_an_ordinary_account(app, client, policy, frozen):
    account_id = account(app, 0, dpd=35)
    agent(app, client)
    html = page(client, account_id)
    assert main_link_button(html) and "not the next step" not in html


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("dispute", "every offer is paused until a supervisor clears it"),
        ("fraud", "Fraud is suspected"),
        ("deceased", "The cardholder has died"),
        ("vulnerable", "talk to them first"),
    ],
)
def test_a_plan_link_steps_back_on_a_flagged_account_and_says_why(app, client, policy, frozen, flag, words):
    account_id = account(app, 0, dpd=35, flags=[flag])
    agent(app, client)
    html = page(client, account_id)
    assert not main_link_button(html)
    assert words in html and "Sending a plan link is not the next step here." in html
    assert f'href="/care/accounts/{account_id}/link"' in html  # still reachable, quietly


def test_a_plan_link_steps_back_while_a_request_waits_or_a_plan_is_active(app, client, policy, query, frozen):
    from portal.extensions import db
    from portal.plans.models import Plan, PlanState

    account_id = account(app, 0, dpd=70)
    plan_id = pending_request(app, account_id)
    agent(app, client)
    assert "waiting for a supervisor" in page(client, account_id)
    with unit(app):
        db.session.get(Plan, plan_id).state = PlanState.ACTIVE
        db.session.commit()
    html = page(client, account_id)
    assert not main_link_button(html) and "on an active plan: collection stops" in html


# --- vulnerability, bereavement and fraud flags ---------------------------------------


@pytest.mark.parametrize("flag", ["vulnerable", "deceased", "fraud"])
def test_a_circumstance_flag_needs_a_note_to_be_set(app, client, policy, query, frozen, flag):
    account_id = account(app, 0)
    agent(app, client)
    refused = post(client, f"/care/accounts/{account_id}/flags", flag=flag, action="set", note="  ")
    assert refused.status_code == 422 and b"Write a note: what you learnt and from whom" in refused.data
    assert query.one(select(CardAccount.flags).where(CardAccount.id == account_id)) == []
    note = "Daughter called on 27 Nov: in hospital for a month"
    assert post(client, f"/care/accounts/{account_id}/flags", flag=flag, action="set", note=note).status_code == 302
    assert query.one(select(CardAccount.flags).where(CardAccount.id == account_id)) == [flag]
    event = query.one(select(CaseEvent).where(CaseEvent.kind == "flag_set"))
    assert event.data == {"flag": flag, "note": note}
    audit = query.one(select(AuditEvent).where(AuditEvent.action == "account.flag_set"))
    assert audit.after == {"flags": [flag], "reason": note}
    assert note in page(client, account_id)


def test_only_a_supervisor_clears_a_circumstance_flag_and_with_a_note(app, client, policy, query, frozen):
    account_id = account(app, 0, flags=["vulnerable", "fraud"])
    agent(app, client)
    html = page(client, account_id)
    assert html.count("Only a supervisor can clear") == 2
    refused = post(client, f"/care/accounts/{account_id}/flags", flag="fraud", action="clear", note="checked")
    assert refused.status_code == 403 and b"Only a supervisor can clear this flag." in refused.data

    StaffAuth(client).sign_out()
    signed_in_staff(app, client, Role.SUPERVISOR)
    assert "Why it no longer applies (required)" in page(client, account_id)
    assert post(client, f"/care/accounts/{account_id}/flags", flag="fraud", action="clear").status_code == 422
    cleared = post(
        client, f"/care/accounts/{account_id}/flags", flag="fraud", action="clear", note="Fraud team: not fraud"
    )
    assert cleared.status_code == 302
    assert query.one(select(CardAccount.flags).where(CardAccount.id == account_id)) == ["vulnerable"]
    event = query.one(select(CaseEvent).where(CaseEvent.kind == "flag_cleared"))
    assert event.data == {"flag": "fraud", "note": "Fraud team: not fraud"}


def test_a_vulnerable_cardholder_is_sent_no_broken_plan_notice_but_an_agents_link(app, client, policy, query, frozen):
    from portal.extensions import db
    from portal.notifications.models import OutboxMessage
    from portal.notifications.service import check_contact

    account_id = account(app, 0, dpd=35, flags=["vulnerable"])
    agent(app, client)
    with unit(app):
        held = db.session.get(CardAccount, account_id)
        assert check_contact(held, "sms", kind="plan_broken").reason == "vulnerable"
        assert check_contact(held, "sms", kind="plan_reminder").reason is None
    response = post(client, f"/care/accounts/{account_id}/link", channel="sms", offer="", action="send")
    assert response.status_code == 302, response.get_data(as_text=True)
    (message,) = query(select(OutboxMessage))
    assert message.kind == "plan_link" and message.status == "queued"
