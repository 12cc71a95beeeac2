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

from sqlalchemy import bindparam, case, func, select

from portal.auth import StaffIdentity
from portal.db_types import one_of
from portal.extensions import db
from portal.payments.review import WAITING_COUNT
from portal.plans.models import Plan, PlanState
from portal.staff.authority import APPROVERS
from portal.staff.models import StaffUser

PENDING_APPROVALS = select(func.count()).select_from(Plan).where(Plan.state == PlanState.PENDING_APPROVAL)
_LOAD = select(
    StaffUser,
    WAITING_COUNT.scalar_subquery().label("waiting"),
    case((one_of(StaffUser.role, tuple(r.value for r in APPROVERS)), PENDING_APPROVALS.scalar_subquery())).label(
        "approvals"
    ),
).where(StaffUser.id == bindparam("staff_id"))


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
    or not-yet-enrolled member of staff has no session at all)."""
    found = db.session.execute(_LOAD, {"staff_id": staff_id}).first()
    if found is None:
        return None
    approvals = None if found.approvals is None else int(found.approvals)
    identity = LoadedStaff(found[0], int(found.waiting), approvals)
    return identity if identity.is_active else None
