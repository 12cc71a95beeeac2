"""Supervisors see webhooks the outbox gave up on and requeue them (CSRF, audited)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.integrations.core_banking.models import PlanEventKind
from portal.integrations.core_banking.plan_events import emit_plan_event
from portal.notifications.models import OutboxMessage
from portal.plans.models import Plan
from portal.staff.models import Role
from tests.conftest import CARD, csrf_token, make_account, unit
from tests.plan_factories import make_plan
from tests.staff_helpers import signed_in_staff

PAGE = "/care/core-system/dead-letters"


@pytest.fixture
def dead_letter(app, monkeypatch) -> int:
    """A webhook that failed its last attempt; returns its outbox id."""
    monkeypatch.setitem(app.config, "CORE_WEBHOOK_URL", "https://core.bank.example/hooks")
    plan_id = make_plan(app, make_account(app, reference="DEMO0001"), "installment", "en", months=3)
    with unit(app):
        emit_plan_event(db.session.get(Plan, plan_id), PlanEventKind.INSTALLMENT_PAID, installment=2)
        db.session.execute(
            update(OutboxMessage).values(status="failed", attempts=4, last_error="core system answered HTTP 503")
        )
        return db.session.execute(select(OutboxMessage.id)).scalar_one()


@pytest.mark.parametrize("role", [Role.AGENT, Role.POLICY_ADMIN, Role.AUDITOR])
def test_only_supervisors_open_the_dead_letters(app, client, dead_letter, role):
    signed_in_staff(app, client, role)
    assert client.get(PAGE).status_code == 403
    assert client.post(f"{PAGE}/{dead_letter}/requeue").status_code in (400, 403)


def test_a_supervisor_sees_the_dead_letter_without_personal_data_and_requeues_it(app, client, query, dead_letter):
    signed_in_staff(app, client, Role.SUPERVISOR)
    page = client.get(PAGE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Installment paid" in html and "installment 2" in html and "DEMO0001" in html
    assert "core system answered HTTP 503" in html
    assert CARD not in html and "Li Na" not in html and "+86 138" not in html
    assert "Core system deliveries" in html  # in the staff navigation

    # Without the CSRF token nothing changes.
    assert client.post(f"{PAGE}/{dead_letter}/requeue").status_code == 400
    assert query.one(select(OutboxMessage.status)) == "failed"

    done = client.post(f"{PAGE}/{dead_letter}/requeue", data={"csrf_token": csrf_token(html)}, follow_redirects=True)
    assert done.status_code == 200 and "queued again" in done.get_data(as_text=True)
    message = query.one(select(OutboxMessage))
    assert (message.status, message.attempts, message.last_error) == ("queued", 0, None)
    (audit,) = query(select(AuditEvent).where(AuditEvent.action == "outbox.requeued"))
    assert audit.object_id == str(dead_letter) and audit.actor_type == "staff"
    assert audit.before["attempts"] == 4 and audit.before["last_error"] == "core system answered HTTP 503"
    assert "Every plan event has been delivered" in done.get_data(as_text=True)

    # A second click (another tab) is told, not applied twice.
    again = client.post(f"{PAGE}/{dead_letter}/requeue", data={"csrf_token": csrf_token(html)}, follow_redirects=True)
    assert "no longer a dead letter" in again.get_data(as_text=True)
    assert len(query(select(AuditEvent).where(AuditEvent.action == "outbox.requeued"))) == 1


def test_only_webhooks_can_be_requeued_here(app, client, query, dead_letter):
    signed_in_staff(app, client, Role.SUPERVISOR)
    token = csrf_token(client.get(PAGE).get_data(as_text=True))
    with app.app_context():
        db.session.execute(update(OutboxMessage).values(channel="sms"))
        db.session.commit()
    assert client.post(f"{PAGE}/{dead_letter}/requeue", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{PAGE}/999999/requeue", data={"csrf_token": token}).status_code == 404
