"""Work on a case for care staff: call-backs, follow-ups and questions that need a person.

A task is opened with a case-file entry and an audit event in the caller's transaction and
closed the same way. Callers commit; the rules about who may open which task, and when
(contact hours for a call-back), belong to the callers, which know their audience.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select

from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.cases.models import CaseEventKind, CaseTask, TaskKind
from portal.cases.service import CaseError, add_event
from portal.db_types import utcnow
from portal.domain.scrub import scrub_numbers
from portal.extensions import db

MAX_NOTE = 4000


def open_task(
    account_id: int,
    kind: TaskKind,
    actor: Actor,
    *,
    due_at: datetime | None = None,
    owner_id: int | None = None,
    reason: str | None = None,
    note: str = "",
) -> CaseTask:
    """Open a task on the account's case; ``note`` is kept without card or phone numbers."""
    if not isinstance(kind, TaskKind):
        raise TypeError(f"unknown task kind {kind!r}: add it to TaskKind")
    note = scrub_numbers(note.strip())
    if len(note) > MAX_NOTE:
        raise CaseError("note_too_long")
    task = CaseTask(
        account_id=account_id,
        kind=kind.value,
        reason=reason,
        note=note,
        due_at=due_at,
        owner_id=owner_id,
        created_by=actor.key,
    )
    db.session.add(task)
    db.session.flush()
    facts = {
        "task": task.id,
        "kind": kind.value,
        "reason": reason,
        "due_at": due_at.isoformat() if due_at else None,
        "owner": owner_id,
    }
    add_event(account_id, CaseEventKind.TASK_OPENED, actor, facts)
    record(actor, Action.Case.TASK_OPENED, ("case_task", task.id), after=facts)
    refresh_next_action(account_id)
    return task


def close_task(task: CaseTask, actor: Actor) -> bool:
    """Mark ``task`` done; False (and nothing written) when it was done already."""
    if task.done_at is not None:
        return False
    task.done_at = utcnow()
    task.done_by = actor.key
    db.session.flush()
    add_event(task.account_id, CaseEventKind.TASK_DONE, actor, {"task": task.id, "kind": task.kind})
    record(actor, Action.Case.TASK_DONE, ("case_task", task.id), after={"done": True})
    refresh_next_action(task.account_id)
    return True


def refresh_next_action(account_id: int) -> None:
    """Keep the case's next action date (the care queue shows it, and "next case" reads
    it) equal to the earliest due time of its open tasks; a task due at once counts from
    when it was opened."""
    from portal.care.contact import case_state  # the care workbench's row; care imports cases

    due = func.min(func.coalesce(CaseTask.due_at, CaseTask.created_at))
    earliest = db.session.execute(
        select(due).where(CaseTask.account_id == account_id, CaseTask.done_at.is_(None))
    ).scalar()
    state = case_state(account_id)
    state.next_action_at = earliest
    state.updated_at = utcnow()
    db.session.flush()


class OpenTask(NamedTuple):
    """An open task as the case file's workbench panel reads it, from a row of its own
    statement rather than an ORM object."""

    id: int
    kind: str
    note: str
    due_at: datetime | None
    done_at: datetime | None = None  # open


def open_tasks(account_id: int) -> list[CaseTask]:
    """The account's open tasks, the most pressing first (a due time before none)."""
    query = (
        select(CaseTask)
        .where(CaseTask.account_id == account_id, CaseTask.done_at.is_(None))
        .order_by(CaseTask.due_at.is_(None), CaseTask.due_at, CaseTask.id)
    )
    return list(db.session.execute(query).scalars())
