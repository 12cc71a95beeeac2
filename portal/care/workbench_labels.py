"""Translated labels of the care workbench's codes: task kinds, how a case got its owner, the queue's case states."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.care.labels import translated
from portal.cases.models import TaskKind

TASK_KINDS: dict[str, object] = {
    TaskKind.CALLBACK: _l("Call back"),
    TaskKind.FOLLOW_UP: _l("Follow up"),
    TaskKind.QUESTION: _l("Cardholder asked for a person"),
}

# How a case got its owner (the case file's "case owner" entries).
OWNED_HOW: dict[str, object] = {
    "assigned": _l("assigned by a supervisor"),
    "taken": _l("taken"),
    "next_case": _l("drawn by next case"),
}

# The case's state as the queue shows it (portal.care.queue_rows.row_state).
CASE_STATES: dict[str, object] = {
    "on_plan": _l("On a plan"),
    "plan_broken": _l("Plan broken"),
    "promise_pending": _l("Promise pending"),
    "request_pending": _l("Request pending"),
    "disputed": _l("Disputed"),
    "opted_out": _l("Opted out"),
}

TABLES = {"task_kind": TASK_KINDS, "owned_how": OWNED_HOW, "case_state": CASE_STATES}


def work_label(table: str, code: object) -> str:
    """Template helper: ``work_label('task_kind', 'callback')`` → "Call back"."""
    found = translated("work", table, TABLES[table]).get(str(code)) if code is not None else None
    return found if found is not None else str(code or "")
