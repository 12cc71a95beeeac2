"""Reading the audit trail: filters, pages and a CSV export safe to open in a spreadsheet.

Pages and exports read on the read replica when there is one (``portal.replica``): the
trail only grows, so a replica a moment behind shows a true, slightly shorter trail.
Recording that an export was taken writes to the primary, as every write does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Select, func, select

from portal.audit.actions import Action, registered
from portal.audit.actors import ActorType, parse_actor_key
from portal.audit.models import AuditEvent
from portal.audit.service import Actor, record
from portal.extensions import db
from portal.replica import report_session
from portal.staff.models import Role, StaffUser

PER_PAGE = 50
CSV_HEADER = [
    "id",
    "occurred_at_utc",
    "occurred_at_local",
    "actor_type",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "ip",
    "prev_hash",
    "hash",
]
# A cell starting with one of these is a formula to Excel, LibreOffice and Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    """What the viewer asked for; empty fields do not filter.

    actor: ``staff:12``, ``cardholder:5``, ``system``, a bare id, or a staff e-mail.
    action: an exact action, or a prefix ending in ``.`` or ``*`` (``policy.``).
    start/end: aware instants, end exclusive (the view turns the viewer's dates into them).
    scope: ``""`` (the whole trail) or ``"policy"`` (:data:`POLICY_ACTIONS` only); set by
    the view from the viewer's role, never from the query string.
    """

    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    start: datetime | None = None
    end: datetime | None = None
    scope: str = ""


# The policy part of the trail, all a policy admin reads: policy and experiment decisions.
# Cardholder events (sign-ins and their IP addresses, payments, case work) and an
# account's arm at its first exposure (``experiment.assigned``) are for auditors only.
POLICY_ACTIONS: tuple[str, ...] = tuple(
    action.value for action in (*Action.Policy, *Action.Experiment) if action is not Action.Experiment.ASSIGNED
)
SCOPES: dict[str, tuple[str, ...]] = {"policy": POLICY_ACTIONS}


def scope_of(role: Role | None) -> str | None:
    """The part of the trail ``role`` may read: ``""`` all of it, ``"policy"``, or None."""
    if role is Role.AUDITOR:
        return ""
    if role is Role.POLICY_ADMIN:
        return "policy"
    return None


def _actor_condition(actor: str) -> Any:
    if "@" in actor:
        found = report_session().execute(select(StaffUser.id).where(StaffUser.email == actor.lower())).scalar()
        return (AuditEvent.actor_type == ActorType.STAFF) & (
            AuditEvent.actor_id == str(found if found is not None else "")
        )
    if actor in tuple(ActorType):
        return AuditEvent.actor_type == actor  # every actor of that type
    try:
        kind, ident = parse_actor_key(actor)
    except ValueError:
        return AuditEvent.actor_id == actor  # a bare id, of any type
    return (AuditEvent.actor_type == kind) & (AuditEvent.actor_id == ident)


def filtered(f: AuditFilter) -> Select[Any]:
    query = select(AuditEvent)
    if f.scope:
        query = query.where(AuditEvent.action.in_(SCOPES[f.scope]))
    if f.actor:
        query = query.where(_actor_condition(f.actor))
    if f.action:
        if f.action.endswith(("*", ".")):
            prefix = f.action.rstrip("*").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(AuditEvent.action.like(prefix + "%", escape="\\"))
        else:
            query = query.where(AuditEvent.action == f.action)
    if f.object_type:
        query = query.where(AuditEvent.object_type == f.object_type)
    if f.object_id:
        query = query.where(AuditEvent.object_id == f.object_id)
    if f.start is not None:
        query = query.where(AuditEvent.occurred_at >= f.start)
    if f.end is not None:
        query = query.where(AuditEvent.occurred_at < f.end)
    return query


def page_of(f: AuditFilter, page: int, per_page: int = PER_PAGE) -> tuple[list[AuditEvent], int]:
    """One page of matching events, newest first, and how many match in all."""
    query = filtered(f)
    reads = report_session()
    total = reads.execute(select(func.count()).select_from(query.subquery())).scalar() or 0
    events = reads.execute(query.order_by(AuditEvent.id.desc()).offset((page - 1) * per_page).limit(per_page)).scalars()
    return list(events), total


def actions(scope: str = "") -> list[str]:
    """Every registered action within ``scope`` (the filter's suggestions), from the
    registry: no scan of the trail, and an action nobody has done yet can still be looked for."""
    within = SCOPES.get(scope)
    return sorted(action.value for action in registered() if within is None or action.value in within)


def safe_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_rows(f: AuditFilter, zone: tzinfo, batch: int = 1000) -> Iterator[list[str]]:
    """The header, then every matching event oldest first, streamed from the database.

    The query runs on the first ``next()``, after the response's 200 has been sent: call
    :func:`try_filter` first, so that a query the database refuses is an error page rather
    than a download cut off mid-way.
    """
    yield CSV_HEADER
    query = filtered(f).order_by(AuditEvent.id).execution_options(yield_per=batch)
    for e in report_session().execute(query).scalars():
        yield [
            safe_cell(v)
            for v in (
                e.id,
                e.occurred_at.isoformat(),
                e.occurred_at.astimezone(zone).isoformat(),
                e.actor_type,
                e.actor_id,
                e.action,
                e.object_type,
                e.object_id,
                e.before,
                e.after,
                None if f.scope else e.ip,  # addresses are for auditors (the whole trail) only
                e.prev_hash,
                e.hash,
            )
        ]


def try_filter(f: AuditFilter) -> None:
    """Run the filter's query once (one row) so that its errors come before streaming starts."""
    report_session().execute(filtered(f).limit(1)).first()


def record_export(found: AuditFilter, actor: Actor) -> None:
    """Exporting the trail is itself audited, with the filter used: who took a copy of what."""
    asked = {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in asdict(found).items()
        if value
    }
    record(actor, Action.Audit.EXPORTED, None, after={"filter": asked})
    db.session.flush()
