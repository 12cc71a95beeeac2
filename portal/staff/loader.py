"""The signed-in member of staff, loaded once per request by Flask-Login's user loader.

Every care page's navigation shows how many payments wait for review, so the loader
reads that count in the same statement as the staff record (a scalar subquery over the
partial index of unmatched payments): one round trip for both instead of two. The
staff record still lands in the session, so services that look the actor's role up
again (``portal.staff.service.role_of``) find it there without a query.

The requests waiting for approval are counted the same way, but only for the roles that
may approve them (``authority.APPROVERS``): the CASE evaluates the count (over the
partial index ``ix_plans_pending_approval``) only when the role matches.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Table, bindparam, case, func, select

from portal.auth import StaffIdentity, keep_read, take_read
from portal.db_types import one_of
from portal.extensions import db
from portal.payments.review import WAITING_COUNT
from portal.plans.models import Plan, PlanState
from portal.staff.authority import APPROVERS
from portal.staff.models import StaffUser

PENDING_APPROVALS = select(func.count()).select_from(Plan).where(Plan.state == PlanState.PENDING_APPROVAL)
_READ = (
    StaffUser,
    WAITING_COUNT.scalar_subquery().label("waiting"),
    case((one_of(StaffUser.role, tuple(r.value for r in APPROVERS)), PENDING_APPROVALS.scalar_subquery())).label(
        "approvals"
    ),
)
_LOAD = select(*_READ).where(StaffUser.id == bindparam("staff_id"))
_READ_WITH_SESSION = "portal_staff_read_with_session"  # g: (staff id, row of _READ)


class LoadedStaff(StaffIdentity):
    """A ``StaffIdentity`` that also knows how many payments waited for review when it
    was loaded (``unmatched_payments_count`` in templates reads it), and, for a role that
    approves requests, how many waited for approval (``pending_approvals``, else None)."""

    def __init__(self, user: StaffUser, waiting_payments: int, pending_approvals: int | None = None) -> None:
        super().__init__(user)
        self.waiting_payments = waiting_payments
        self.pending_approvals = pending_approvals


def load_staff(staff_id: int) -> LoadedStaff | None:
    """The member of staff with this id, if active and enrolled (else None: a deactivated
    or not-yet-enrolled member of staff has no session at all). Read with the request's
    session check when that came first (:func:`session_with_staff`), else on its own."""
    found = take_read(_READ_WITH_SESSION, staff_id)
    if found is None:
        found = db.session.execute(_LOAD, {"staff_id": staff_id}).first()
    if found is None or found.StaffUser is None:
        return None
    approvals = None if found.approvals is None else int(found.approvals)
    identity = LoadedStaff(found.StaffUser, int(found.waiting), approvals)
    return identity if identity.is_active else None


def session_with_staff(
    sessions: Table, session_columns: tuple[ColumnElement[Any], ...], token_hash: str, staff_id: int
) -> Row[Any] | None:
    """The row of ``session_columns`` of the session whose token hashes to ``token_hash``
    (None: there is none), read in one statement with what :func:`load_staff` reads of
    the member of staff it signed in, found here afterwards: only the latest check's read
    is kept, taken at most once (a refused session is signed out, and Flask-Login's logout
    runs the loader, which takes it then). The cardholder's twin is
    ``portal.auth.session_with_account``."""
    row = db.session.execute(
        _with_session(sessions, session_columns), {"staff_id": staff_id, "token_hash": token_hash}
    ).first()
    keep_read(_READ_WITH_SESSION, staff_id, row)
    return row


@cache
def _with_session(sessions: Table, session_columns: tuple[ColumnElement[Any], ...]) -> Select[Any]:
    return (
        select(*session_columns, *_READ)
        .select_from(sessions)
        .outerjoin(StaffUser, StaffUser.id == bindparam("staff_id"))
        .where(sessions.c.token_hash == bindparam("token_hash"))
    )
