"""Wherever a person reads who did something, staff appear by name and role, cardholders
as "Cardholder" and the portal as "System": never as an actor key such as ``staff:5``."""

from __future__ import annotations

import re
from decimal import Decimal

from portal.audit.actions import Action
from portal.audit.service import SYSTEM, Actor, record
from portal.cases.models import CaseEventKind
from portal.cases.service import add_event, record_budget
from portal.extensions import db
from portal.policies import workflow
from portal.policies.service import ensure_default_policy
from portal.staff.models import Role
from tests.conftest import make_account, unit
from tests.staff_helpers import StaffAuth, make_staff
from tests.web.test_care import decide, pending_personalised, policy, post  # noqa: F401 - policy is a fixture

KEY = re.compile(r"\b(staff|cardholder|system|anonymous):\w+")


def sign_in(client, staff) -> None:
    StaffAuth(client).sign_in(staff[1], staff[2], staff[3])


def test_the_case_file_names_the_agent_the_cardholder_and_the_system(app, client, policy, frozen):  # noqa: F811
    account_id = make_account(app, dpd=35)
    agent = make_staff(app, Role.AGENT, name="Zhou Min")
    sign_in(client, agent)
    assert (
        post(
            client, f"/care/accounts/{account_id}/notes", outcome="no_answer", channel="phone", text="rang"
        ).status_code
        == 302
    )
    with app.app_context():
        record_budget(account_id, {"earnings": "5000"}, Decimal("5000"), Actor.cardholder(account_id))
        add_event(account_id, CaseEventKind.MESSAGE_FAILED, SYSTEM, {"channel": "sms", "reason": "provider down"})
        db.session.commit()
    html = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    timeline = html[html.index('id="timeline"') :]
    assert "· Zhou Min (Agent)" in timeline
    assert "· Cardholder" in timeline and "· System" in timeline
    assert not KEY.search(timeline)


def test_a_plan_decision_names_the_supervisor(app, client, policy, frozen):  # noqa: F811
    account_id = make_account(app, dpd=70)
    plan_id = pending_personalised(app, account_id)
    supervisor = make_staff(app, Role.SUPERVISOR, name="Chen Jie")
    sign_in(client, supervisor)
    assert decide(client, plan_id, decision="approve", note="budget seen").status_code == 302
    html = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert "Decided by Chen Jie (Supervisor)" in html
    assert f"staff:{supervisor[0]}" not in html


def test_the_audit_viewer_shows_names_not_keys(app, client, frozen):
    admin = make_staff(app, Role.POLICY_ADMIN, name="Lin Hua")
    account_id = make_account(app)
    with app.app_context():
        record(Actor.staff(admin[0]), Action.Case.VIEWED, ("card_account", account_id))
        record(Actor.cardholder(account_id), Action.Promise.MADE, ("promise", 1))
        record(SYSTEM, Action.Message.SENT, ("outbox_message", 1))
        db.session.commit()
    sign_in(client, make_staff(app, Role.AUDITOR))  # the whole trail is for auditors
    html = client.get("/admin/audit/").get_data(as_text=True)
    table = html[html.index('class="audit-table"') :]
    assert "Lin Hua (Policy admin)" in table and "Cardholder" in table and "System" in table
    assert not KEY.search(table)
    # The filter still takes a key, and finds that person's events.
    only = client.get(f"/admin/audit/?actor=staff:{admin[0]}&action=case.").get_data(as_text=True)
    assert "1 event matches" in only


def test_policy_history_names_the_author_and_the_approver(app, client, frozen):
    author = make_staff(app, Role.POLICY_ADMIN, name="Wu Lei")
    checker = make_staff(app, Role.POLICY_ADMIN, name="Sun Yan")
    with unit(app):
        ensure_default_policy(SYSTEM)
        draft = workflow.create_draft(Actor.staff(author[0]), "CNY")
        pending = workflow.submit(draft.number, Actor.staff(author[0]), "tidy")
        workflow.approve(draft.number, Actor.staff(checker[0]), workflow.review_digest(pending))
        number = draft.number
    sign_in(client, checker)
    page = client.get(f"/admin/policies/{number}").get_data(as_text=True)
    assert "Wu Lei (Policy admin)" in page and "Sun Yan (Policy admin)" in page
    listing = client.get("/admin/policies/").get_data(as_text=True)
    assert "Wu Lei (Policy admin)" in listing and "System" in listing  # the default version's author
    assert not KEY.search(page[page.index("<h1") :]) and f"staff:{author[0]}" not in listing
