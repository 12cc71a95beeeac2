"""Actors as a person reads them: staff by name and role, everyone else by what they are.

Pages never show an actor key (``staff:5``): they look every key up here, in one query
for all the staff on the page. Call during a request (the labels are translated).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.audit.actors import ActorType, parse_actor_key
from portal.extensions import db
from portal.staff.models import Role, StaffUser

ACTOR_TYPES = {
    ActorType.CARDHOLDER: _l("Cardholder"),
    ActorType.STAFF: _l("Staff"),
    ActorType.SYSTEM: _l("System"),
    ActorType.ANONYMOUS: _l("Anonymous"),
}

ROLES = {
    Role.AGENT: _l("Agent"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.POLICY_ADMIN: _l("Policy admin"),
    Role.AUDITOR: _l("Auditor"),
    Role.STAFF_ADMIN: _l("Staff admin"),
}


def actor_names(keys: Iterable[str | None]) -> dict[str, str]:
    """Actor keys → what a person reads: ``Wang Fang (Supervisor)``, ``Cardholder``,
    ``System``. A key that names no known actor reads as itself."""
    parsed: dict[str, tuple[ActorType, str | None]] = {}
    names: dict[str, str] = {}
    for key in {k for k in keys if k}:
        try:
            parsed[key] = parse_actor_key(key)
        except ValueError:
            names[key] = key
    staff_ids = {int(ident) for kind, ident in parsed.values() if kind == ActorType.STAFF and ident}
    staff: dict[str, tuple[str, str]] = {}
    if staff_ids:
        rows = db.session.execute(
            select(StaffUser.id, StaffUser.display_name, StaffUser.role).where(StaffUser.id.in_(staff_ids))
        )
        staff = {str(row.id): (row.display_name, row.role) for row in rows}
    for key, (kind, ident) in parsed.items():
        if kind == ActorType.STAFF and ident in staff:
            name, role = staff[ident]
            names[key] = _("%(name)s (%(role)s)", name=name, role=ROLES[Role(role)])  # roles: a CHECK
        elif kind == ActorType.STAFF:
            names[key] = _("Staff member %(id)s", id=ident)
        else:
            names[key] = str(ACTOR_TYPES[kind])
    return names
