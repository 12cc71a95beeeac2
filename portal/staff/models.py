"""Staff accounts, their roles and one-time enrolment links."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import Model


class Role(StrEnum):
    """What a member of staff may do; access is declared per view with ``staff_required``.

    A staff admin manages staff accounts and nothing else: kept apart from the policy
    admins, so that nobody who drafts or approves policies can also make the second
    policy admin who approves their own draft (see ``portal.staff.authority``).
    """

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    POLICY_ADMIN = "policy_admin"
    AUDITOR = "auditor"
    STAFF_ADMIN = "staff_admin"


_ROLE_LIST = ", ".join(f"'{r.value}'" for r in Role)


class StaffUser(Model):
    """A member of staff. Signs in with e-mail, password (argon2) and a TOTP code.

    ``totp_secret`` holds the authenticator secret encrypted with a key derived from the
    deployment's secret key (see ``portal.staff.secrets``); ``totp_last_step`` is the
    30-second step of the last accepted code, so a code is never accepted twice.
    """

    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint(f"role IN ({_ROLE_LIST})", name="role_known"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("failed_attempts >= 0", name="failed_attempts_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret: Mapped[str] = mapped_column(String(300))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def enrolled(self) -> bool:
        return self.enrolled_at is not None and self.password_hash is not None


class EnrolmentToken(Model):
    """A single-use link to set a password and an authenticator. Only a hash is kept."""

    __tablename__ = "staff_enrolment_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffSignInThrottle(Model):
    """Failed sign-ins for one staff account from one client address.

    Failures lock the account for that address only, so a stranger who knows someone's
    e-mail cannot keep them out of their own desk; ``StaffUser.failed_attempts`` counts
    across addresses and locks everywhere only after many more.
    """

    __tablename__ = "staff_signin_throttles"
    __table_args__ = (
        UniqueConstraint("staff_id", "address", name="staff_address"),
        CheckConstraint("failures >= 0", name="failures_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
