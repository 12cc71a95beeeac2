"""Managing staff accounts: create, change role, disable or enable, reset the authenticator.

The staff pages (``portal.staff.manage_views``) and the command line (``portal.staff.cli``)
call these same functions, so one set of rules holds for both:

- a supervisor manages agents only (creates them, disables them, resets their
  authenticator) and gives no role but agent; a staff admin manages everyone
  (``portal.staff.authority.MANAGERS``); policy admins and auditors manage nobody;
- nobody acts on their own account: another person changes your role or disables you;
- the last active staff admin cannot be disabled or given another role, so that someone
  can always manage the desk from the browser;
- someone disabled, or given a role outside care, hands back the cases and call-backs
  they held (``portal.care.workbench.hand_back``): an assignment has no end of its own;
- the command line (a system actor: whoever runs it holds the server's keys) is not
  limited by role, but the last-admin rule holds for it too.

Each change is audited in the same transaction; the services flush, never commit.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select, update

from portal.audit.actions import Action
from portal.audit.actors import ActorType
from portal.audit.service import Actor, record
from portal.auth.server_sessions import end_sessions
from portal.db_types import utcnow
from portal.extensions import db
from portal.staff import totp
from portal.staff.authority import may_manage
from portal.staff.models import EnrolmentToken, Role, StaffUser
from portal.staff.service import (
    ENROLMENT_LIFETIME,
    StaffError,
    find_by_email,
    normalise_email,
    role_of,
    token_hash,
)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise StaffError("unknown_role") from None


def _authorise(actor: Actor, target: Role, new_role: Role | None = None, target_id: int | None = None) -> None:
    """Refuse (``StaffError``) what ``actor`` may not do to an account with role ``target``."""
    if actor.type == ActorType.SYSTEM:
        return
    if actor.type != ActorType.STAFF:
        raise StaffError("not_allowed")
    if target_id is not None and str(actor.id) == str(target_id):
        raise StaffError("own_account")
    if not may_manage(role_of(actor), target, new_role):
        raise StaffError("not_allowed")


def _keep_an_admin(user: StaffUser) -> None:
    """Refuse to leave the portal without an active staff admin.

    The active staff admins' rows are locked (in id order, so two callers queue rather
    than deadlock) until the change commits: two admins disabling each other at the same
    moment would otherwise each see the other still active, and both succeed."""
    if user.role != Role.STAFF_ADMIN or not user.active:
        return
    admins = (
        select(StaffUser.id)
        .where(StaffUser.role == Role.STAFF_ADMIN, StaffUser.active.is_(True))
        .order_by(StaffUser.id)
        .with_for_update()
    )
    if not [found for found in db.session.execute(admins).scalars() if found != user.id]:
        raise StaffError("last_admin")


def _target(email: str) -> StaffUser:
    user = find_by_email(email)
    if user is None:
        raise StaffError("unknown_staff")
    return user


def staff_list() -> list[StaffUser]:
    """Every member of staff: active ones first, then by name."""
    query = select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.display_name, StaffUser.id)
    return list(db.session.execute(query).scalars())


def create_staff(email: str, role: str, display_name: str, actor: Actor, secret_key: str) -> tuple[StaffUser, str]:
    """Create an un-enrolled staff member; return it and a one-time enrolment token."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254 or any(ch.isspace() for ch in email):
        raise StaffError("bad_email")
    _authorise(actor, _role(role))
    if find_by_email(email) is not None:
        raise StaffError("email_taken")
    name = " ".join((display_name or "").split())[:120] or email.split("@")[0]
    user = StaffUser(
        email=email,
        display_name=name,
        role=role,
        totp_secret=totp.seal(totp.new_secret(), secret_key),
        failed_attempts=0,
        active=True,
        created_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    token = _new_enrolment(user)
    record(actor, Action.Staff.CREATED, ("staff_user", user.id), after={"email": email, "role": role, "name": name})
    db.session.flush()
    return user, token


def _new_enrolment(user: StaffUser) -> str:
    now = utcnow()
    # Only the newest link works.
    db.session.execute(
        update(EnrolmentToken)
        .where(EnrolmentToken.staff_id == user.id, EnrolmentToken.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)  # 256 bits
    db.session.add(
        EnrolmentToken(
            staff_id=user.id, token_hash=token_hash(token), created_at=now, expires_at=now + ENROLMENT_LIFETIME
        )
    )
    return token


def reissue_enrolment(email: str, actor: Actor, secret_key: str) -> tuple[StaffUser, str]:
    """Reset the authenticator (lost phone, forgotten password): a new secret and a new
    one-time enrolment link; the old password, secret and links stop working and open
    sessions end."""
    user = _target(email)
    _authorise(actor, _role(user.role), target_id=user.id)
    user.password_hash, user.enrolled_at, user.totp_last_step = None, None, None
    user.totp_secret = totp.seal(totp.new_secret(), secret_key)
    user.failed_attempts, user.locked_until = 0, None
    token = _new_enrolment(user)
    end_sessions(f"s:{user.id}", "reenrolled")
    record(actor, Action.Staff.ENROLMENT_REISSUED, ("staff_user", user.id))
    db.session.flush()
    return user, token


# Roles that own cases at the care desk.
CARE_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})


def _hand_back_cases(user: StaffUser, actor: Actor) -> None:
    """Someone leaving the care desk hands back the cases and call-backs they hold."""
    from portal.care.workbench import hand_back  # the care desk imports staff; not the other way at import time

    hand_back(user.id, actor)


def set_active(email: str, active: bool, actor: Actor) -> StaffUser:
    """Disable (sessions end at once) or enable a member of staff."""
    user = _target(email)
    _authorise(actor, _role(user.role), target_id=user.id)
    if user.active == active:
        return user  # nothing changes, nothing to audit
    if not active:
        _keep_an_admin(user)
    before = {"active": user.active}
    user.active = active
    if not active:
        end_sessions(f"s:{user.id}", "deactivated")
        _hand_back_cases(user, actor)
    record(
        actor,
        Action.Staff.ACTIVATED if active else Action.Staff.DEACTIVATED,
        ("staff_user", user.id),
        before=before,
        after={"active": active},
    )
    db.session.flush()
    return user


def change_role(email: str, role: str, actor: Actor) -> StaffUser:
    """Give a member of staff another role; it applies from their next page."""
    user = _target(email)
    new_role = _role(role)
    _authorise(actor, _role(user.role), new_role, target_id=user.id)
    if user.role == new_role:
        return user
    if new_role != Role.STAFF_ADMIN:
        _keep_an_admin(user)
    before = {"role": user.role}
    user.role = new_role.value
    if new_role not in CARE_ROLES:
        _hand_back_cases(user, actor)
    record(actor, Action.Staff.ROLE_CHANGED, ("staff_user", user.id), before=before, after={"role": new_role.value})
    db.session.flush()
    return user
