"""Staff accounts: creating them, enrolment, and sign-in with password and TOTP.

Sign-in failures all look the same from outside (:class:`StaffSignInFailed`): unknown
e-mail, wrong password, wrong or replayed code, locked or inactive account. Five failures
from one client address lock the account for 15 minutes *from that address*; so that a
stranger who knows someone's e-mail cannot keep them from their own desk, the account
locks everywhere only after 20 failures across addresses (tries refused by a lock do
not count). Every outcome is audited; a lock everywhere also ends open sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update

from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.auth.server_sessions import end_sessions
from portal.db_types import rowcount, utcnow
from portal.extensions import db
from portal.staff import totp
from portal.staff.models import EnrolmentToken, Role, StaffSignInThrottle, StaffUser
from portal.unit_of_work import keep_on_refusal

ENROLMENT_LIFETIME = timedelta(hours=72)
MAX_FAILURES = 5  # from one client address
LOCK_DURATION = timedelta(minutes=15)
GLOBAL_MAX_FAILURES = 20  # from all addresses together
GLOBAL_LOCK_DURATION = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so both paths cost the same time."""
    return _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


class StaffError(ValueError):
    """A staff-account operation that cannot go ahead; ``code`` is for the view."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class StaffSignInFailed(Exception):  # named to read like its cardholder twin, SignInFailed
    """Sign-in did not succeed; deliberately says nothing about why."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def email_digest(email: str, key: str) -> str:
    """A keyed hash of an e-mail address, for rate-limit keys and audit of unknown e-mails."""
    return hashlib.sha256(f"{key}:staff-email:{normalise_email(email)}".encode()).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_by_email(email: str) -> StaffUser | None:
    query = select(StaffUser).where(StaffUser.email == normalise_email(email))
    return db.session.execute(query).scalar_one_or_none()


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: who is enrolling and their authenticator secret."""

    token_id: int
    staff: StaffUser
    secret: str
    uri: str


def open_enrolment(token: str, secret_key: str) -> Enrolment | None:
    """The pending enrolment for this link, or None if unknown, used or expired."""
    found = db.session.execute(
        select(EnrolmentToken).where(EnrolmentToken.token_hash == token_hash(token or ""))
    ).scalar_one_or_none()
    if found is None or found.used_at is not None or found.expires_at <= utcnow():
        return None
    user = db.session.get(StaffUser, found.staff_id)
    if user is None or not user.active:
        return None
    secret = totp.unseal(user.totp_secret, secret_key)
    return Enrolment(found.id, user, secret, totp.provisioning_uri(secret, user.email))


def password_problem(password: str, email: str) -> str | None:
    """Why a new password is not acceptable (a code), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "password_too_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "password_too_long"
    folded = password.strip().casefold()
    if folded == email.casefold() or folded == email.split("@")[0].casefold():
        return "password_is_email"
    return None


def complete_enrolment(token: str, password: str, code: str, secret_key: str, ip: str | None) -> StaffUser:
    """Set the password and confirm the authenticator with a current code. Single use."""
    enrolment = open_enrolment(token, secret_key)
    if enrolment is None:
        raise StaffError("link_invalid")
    user = enrolment.staff
    problem = password_problem(password, user.email)
    if problem:
        raise StaffError(problem)
    now = utcnow()
    step = totp.matching_step(enrolment.secret, code, now, user.totp_last_step)
    if step is None:
        raise StaffError("code_wrong")
    # Claim the link atomically: two tabs submitting at once cannot both enrol.
    claimed = rowcount(
        db.session.execute(
            update(EnrolmentToken)
            .where(EnrolmentToken.id == enrolment.token_id, EnrolmentToken.used_at.is_(None))
            .values(used_at=now)
        )
    )
    if not claimed:
        db.session.rollback()
        raise StaffError("link_invalid")
    user.password_hash = _hasher.hash(password)
    user.totp_last_step = step
    user.enrolled_at = now
    user.failed_attempts, user.locked_until = 0, None
    end_sessions(f"s:{user.id}", "password_set")  # a new password: sessions from before end
    record(Actor.staff(user.id, ip), Action.Staff.ENROLLED, ("staff_user", user.id))
    db.session.flush()
    return user


def _password_ok(stored: str | None, password: str) -> bool:
    too_long = len(password) > MAX_PASSWORD_LENGTH
    try:
        matched = _hasher.verify(stored or _dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        return matched and stored is not None and not too_long
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(email: str, password: str, code: str, secret_key: str, ip: str | None) -> StaffUser:
    """Check e-mail, password and TOTP code. Returns the user or raises StaffSignInFailed."""
    now = utcnow()
    user = find_by_email(email)
    anonymous = Actor.anonymous(ip)
    if user is None:
        _password_ok(None, password)
        record(anonymous, Action.Staff.SIGNIN_FAILED, None, after={"email_sha256": email_digest(email, secret_key)})
        db.session.flush()
        keep_on_refusal()  # failed sign-ins are evidence, and counters must count
        raise StaffSignInFailed

    throttle = _throttle(user, ip)
    locked = (user.locked_until is not None and user.locked_until > now) or (
        throttle.locked_until is not None and throttle.locked_until > now
    )
    password_ok = _password_ok(user.password_hash, password)
    step = None
    if password_ok and not locked:
        step = totp.matching_step(totp.unseal(user.totp_secret, secret_key), code, now, user.totp_last_step)
    if locked or not (password_ok and step is not None and user.active and user.enrolled):
        if locked:
            record(anonymous, Action.Staff.SIGNIN_REFUSED_LOCKED, ("staff_user", user.id))
        else:
            _count_failure(user, throttle, now, anonymous)
        db.session.flush()
        keep_on_refusal()
        raise StaffSignInFailed

    # Take the step atomically so two requests with the same code cannot both succeed.
    taken = rowcount(
        db.session.execute(
            update(StaffUser)
            .where(StaffUser.id == user.id, (StaffUser.totp_last_step.is_(None)) | (StaffUser.totp_last_step < step))
            .values(totp_last_step=step, failed_attempts=0, locked_until=None)
        )
    )
    if not taken:
        db.session.rollback()
        raise StaffSignInFailed
    throttle.failures, throttle.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash or ""):
        user.password_hash = _hasher.hash(password)
    record(Actor.staff(user.id, ip), Action.Staff.SIGNED_IN, ("staff_user", user.id))
    db.session.flush()
    db.session.refresh(user)
    return user


def _throttle(user: StaffUser, ip: str | None) -> StaffSignInThrottle:
    """The failure counter of ``user`` from client address ``ip`` (created when new)."""
    address = (ip or "unknown")[:64]
    query = select(StaffSignInThrottle).where(
        StaffSignInThrottle.staff_id == user.id, StaffSignInThrottle.address == address
    )
    throttle = db.session.execute(query).scalar_one_or_none()
    if throttle is None:
        throttle = StaffSignInThrottle(staff_id=user.id, address=address, failures=0)
        db.session.add(throttle)
        db.session.flush()
    return throttle


def _count_failure(user: StaffUser, throttle: StaffSignInThrottle, now: datetime, actor: Actor) -> None:
    # Atomic increments: parallel guesses cannot slip between a read and a write.
    db.session.execute(
        update(StaffSignInThrottle)
        .where(StaffSignInThrottle.id == throttle.id)
        .values(failures=StaffSignInThrottle.failures + 1)
    )
    db.session.execute(
        update(StaffUser).where(StaffUser.id == user.id).values(failed_attempts=StaffUser.failed_attempts + 1)
    )
    db.session.refresh(throttle)
    db.session.refresh(user)
    record(
        actor,
        Action.Staff.SIGNIN_FAILED,
        ("staff_user", user.id),
        after={"failed_attempts": throttle.failures, "failed_everywhere": user.failed_attempts},
    )
    if user.failed_attempts >= GLOBAL_MAX_FAILURES:
        user.locked_until = now + GLOBAL_LOCK_DURATION
        user.failed_attempts = 0
        end_sessions(f"s:{user.id}", "locked", now)
        record(
            actor,
            Action.Staff.LOCKED,
            ("staff_user", user.id),
            after={"locked_until": user.locked_until.isoformat(), "everywhere": True},
        )
    elif throttle.failures >= MAX_FAILURES:
        throttle.locked_until = now + LOCK_DURATION
        throttle.failures = 0
        record(
            actor,
            Action.Staff.LOCKED,
            ("staff_user", user.id),
            after={"locked_until": throttle.locked_until.isoformat(), "everywhere": False},
        )


def record_sign_out(actor: Actor, reason: str = "signed_out") -> None:
    """Audit a sign-out (by the person, or by the idle timeout)."""
    if actor.type != "staff" or actor.id is None:
        return
    record(
        actor,
        Action.Staff.SIGNED_OUT if reason == "signed_out" else Action.Staff.SESSION_EXPIRED,
        ("staff_user", actor.id),
    )
    db.session.flush()


def current_code(email: str, secret_key: str) -> str:
    """The code an authenticator shows now (development only: the CLI refuses in production)."""
    user = find_by_email(email)
    if user is None:
        raise StaffError("unknown_staff")
    return totp.code_at_step(totp.unseal(user.totp_secret, secret_key), totp.step_at(utcnow()))


def role_of(actor: Actor) -> Role | None:
    """The current role of the staff member behind ``actor`` (None for anyone else)."""
    if actor.type != "staff" or not actor.id or not str(actor.id).isdigit():
        return None
    user = db.session.get(StaffUser, int(actor.id))
    return Role(user.role) if user is not None and user.active else None


# --- demo staff ----------------------------------------------------------------


@dataclass(frozen=True)
class DemoStaff:
    email: str
    name: str
    role: Role
    password: str
    totp_secret: str


DEMO_STAFF: tuple[DemoStaff, ...] = (
    DemoStaff("agent@example.com", "Ada Agent", Role.AGENT, "demo-agent-password", "DEMOAGENTAAAAAAAAAAAAAAAAAAAAAAA"),
    DemoStaff(
        "supervisor@example.com",
        "Sam Supervisor",
        Role.SUPERVISOR,
        "demo-supervisor-password",
        "DEMOSUPERVISORBBBBBBBBBBBBBBBBBB",
    ),
    DemoStaff(
        "policy@example.com",
        "Pat Policy",
        Role.POLICY_ADMIN,
        "demo-policy-password",
        "DEMOPOLICYCCCCCCCCCCCCCCCCCCCCCC",
    ),
    # A second policy admin: a policy change needs a maker and a different checker.
    DemoStaff(
        "policy2@example.com",
        "Quinn Policy",
        Role.POLICY_ADMIN,
        "demo-policy2-password",
        "DEMOPOLICYTWODDDDDDDDDDDDDDDDDDD",
    ),
    DemoStaff(
        "auditor@example.com",
        "Avery Auditor",
        Role.AUDITOR,
        "demo-auditor-password",
        "DEMOAUDITOREEEEEEEEEEEEEEEEEEEEE",
    ),
    DemoStaff(
        "admin@example.com",
        "Sasha Staffadmin",
        Role.STAFF_ADMIN,
        "demo-admin-password",
        "DEMOSTAFFADMINFFFFFFFFFFFFFFFFFF",
    ),
)


def ensure_demo_staff(actor: Actor, secret_key: str) -> int:
    """Create the enrolled demo staff that are missing (fixed passwords and secrets)."""
    created = 0
    now = utcnow()
    for demo in DEMO_STAFF:
        if find_by_email(demo.email) is not None:
            continue
        user = StaffUser(
            email=demo.email,
            display_name=demo.name,
            role=demo.role.value,
            password_hash=_hasher.hash(demo.password),
            totp_secret=totp.seal(demo.totp_secret, secret_key),
            enrolled_at=now,
            failed_attempts=0,
            active=True,
            created_at=now,
        )
        db.session.add(user)
        db.session.flush()
        record(actor, Action.Demo.STAFF_CREATED, ("staff_user", user.id), after={"role": demo.role.value})
        created += 1
    return created
