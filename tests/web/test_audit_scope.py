"""Who reads which part of the audit trail: auditors all of it; policy admins the policy
part (policy and experiment decisions) only, whatever the query string asks for."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.audit.service import SYSTEM, Actor, record
from portal.extensions import db
from portal.staff.models import Role
from tests.staff_helpers import signed_in_staff

CARDHOLDER_IP = "203.0.113.77"


@pytest.fixture
def trail(app) -> None:
    with app.app_context():
        record(Actor.staff(1, "10.1.1.1"), Action.Policy.SUBMITTED, ("policy_version", 7))
        record(Actor.staff(2, "10.1.1.2"), Action.Experiment.STARTED, ("experiment", 3))
        record(SYSTEM, Action.Experiment.ASSIGNED, ("experiment", 3), after={"account_id": 5, "arm": "B"})
        record(Actor.cardholder(5, CARDHOLDER_IP), Action.SignIn.SUCCEEDED, ("card_account", 5))
        record(Actor.cardholder(5, CARDHOLDER_IP), Action.Promise.MADE, ("promise", 1))
        db.session.commit()


WRITTEN = ("policy.submitted", "experiment.started", "experiment.assigned", "signin.succeeded", "promise.made")


def actions_on(html: str) -> set[str]:
    """The actions of the trail's rows on the page."""
    table = html[html.index('class="audit-table"') :]
    return {action for action in WRITTEN if f"<code>{action}</code>" in table}


def test_auditors_read_the_whole_trail_with_addresses(app, client, trail):
    signed_in_staff(app, client, Role.AUDITOR)
    html = client.get("/admin/audit/").get_data(as_text=True)
    assert actions_on(html) == {
        "policy.submitted",
        "experiment.started",
        "experiment.assigned",
        "signin.succeeded",
        "promise.made",
    }
    assert CARDHOLDER_IP in html and "10.1.1.1" in html and "policy part of the trail" not in html


@pytest.mark.parametrize(
    "args",
    [
        "",
        "?action=signin.",
        "?action=signin.succeeded",
        "?actor=cardholder:5",
        "?actor=cardholder",
        "?object_type=card_account&object_id=5",
        "?scope=&action=promise.made",
        "?action=experiment.assigned",
    ],
)
def test_policy_admins_read_only_the_policy_part(app, client, trail, args):
    signed_in_staff(app, client, Role.POLICY_ADMIN)
    html = client.get(f"/admin/audit/{args}").get_data(as_text=True)
    assert actions_on(html) <= {"policy.submitted", "experiment.started"}
    assert CARDHOLDER_IP not in html and "policy part of the trail" in html
    assert "10.1.1.1" not in html  # nor a colleague's address: addresses are for auditors
    rows = list(csv.reader(io.StringIO(client.get(f"/admin/audit/export.csv{args}").get_data(as_text=True))))
    assert {row[5] for row in rows[1:]} <= {"policy.submitted", "experiment.started"}
    assert all(ip not in cell for row in rows for cell in row for ip in (CARDHOLDER_IP, "10.1.1.1"))


def test_a_policy_admin_sees_the_policy_events_and_their_export_is_recorded_as_such(app, client, trail, query):
    signed_in_staff(app, client, Role.POLICY_ADMIN)
    html = client.get("/admin/audit/").get_data(as_text=True)
    assert actions_on(html) == {"policy.submitted", "experiment.started"} and "2 events match" in html
    assert "signin.succeeded" not in html  # not even among the filter's suggestions
    client.get("/admin/audit/export.csv?action=policy.")
    exported = query.one(select(AuditEvent.after).where(AuditEvent.action == "audit.exported"))
    assert exported == {"filter": {"action": "policy.", "scope": "policy"}}
