"""Case tasks: opened and closed with their case-file entry and audit event, numbers kept out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.cases.models import CaseEvent, CaseTask, TaskKind
from portal.cases.service import CaseError
from portal.cases.tasks import close_task, open_task, open_tasks
from portal.extensions import db
from portal.staff.models import Role
from tests.conftest import make_account, unit
from tests.staff_helpers import make_staff


def test_opening_a_task_writes_it_with_its_case_entry_and_audit_event(app, query):
    account_id = make_account(app)
    agent_id = make_staff(app, Role.AGENT)[0]
    due = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    from portal.audit.service import Actor

    with unit(app):
        task = open_task(
            account_id,
            TaskKind.CALLBACK,
            Actor.staff(agent_id),
            due_at=due,
            owner_id=agent_id,
            note="Call on 138 0013 8000 after work",
        )
        task_id = task.id

    task = query.one(select(CaseTask).where(CaseTask.id == task_id))
    assert (task.kind, task.due_at, task.owner_id, task.created_by) == ("callback", due, agent_id, f"staff:{agent_id}")
    assert "138" not in task.note and task.note.startswith("Call on")
    kinds = query(select(CaseEvent.kind).where(CaseEvent.account_id == account_id))
    assert kinds == ["task_opened"]
    actions = query(select(AuditEvent.action).where(AuditEvent.object_id == str(task_id)))
    assert actions == ["case.task_opened"]


def test_a_task_is_closed_once_and_leaves_the_open_list(app, query):
    account_id = make_account(app)
    from portal.audit.service import SYSTEM

    with unit(app):
        later = open_task(account_id, TaskKind.FOLLOW_UP, SYSTEM, due_at=datetime(2026, 12, 9, tzinfo=UTC))
        sooner = open_task(account_id, TaskKind.QUESTION, SYSTEM, reason="dispute")
        assert [t.id for t in open_tasks(account_id)] == [later.id, sooner.id]  # a due time first
        assert close_task(sooner, SYSTEM) is True
        assert close_task(sooner, SYSTEM) is False
        assert [t.id for t in open_tasks(account_id)] == [later.id]

    kinds = query(select(CaseEvent.kind).where(CaseEvent.account_id == account_id).order_by(CaseEvent.id))
    assert kinds == ["task_opened", "task_opened", "task_done"]


def test_a_task_refuses_an_unknown_kind_and_an_overlong_note(app):
    account_id = make_account(app)
    from portal.audit.service import SYSTEM

    with app.app_context():
        with pytest.raises(TypeError):
            open_task(account_id, "call", SYSTEM)  # type: ignore[arg-type]
        with pytest.raises(CaseError):
            open_task(account_id, TaskKind.FOLLOW_UP, SYSTEM, note="x" * 4001)
        db.session.rollback()
