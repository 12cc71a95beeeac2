"""Staff test helpers: an enrolled member of staff, and signing in through the real page.

staff_id, email, password, secret = make_staff(app, Role.SUPERVISOR)
StaffAuth(client).sign_in(email, password, secret)
"""

from __future__ import annotations

import itertools
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token

_serial = itertools.count(1)
PASSWORD = "correct horse battery staple"


def make_staff(
    app: Flask,
    role: Any,
    email: str | None = None,
    *,
    name: str | None = None,
    password: str = PASSWORD,
    active: bool = True,
) -> tuple[int, str, str, str]:
    """Create an enrolled member of staff; return ``(id, email, password, totp_secret)``."""
    from argon2 import PasswordHasher

    from portal.db_types import utcnow
    from portal.extensions import db
    from portal.staff import totp
    from portal.staff.models import StaffUser

    role_value = getattr(role, "value", role)
    email = (email or f"{role_value}{next(_serial)}@bank.example").lower()
    secret = totp.new_secret()
    with app.app_context():
        user = StaffUser(
            email=email,
            display_name=name or f"Test {role_value}",
            role=role_value,
            # Cheap hashing parameters: these are test users, and tests create many.
            password_hash=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(password),
            totp_secret=totp.seal(secret, app.config["SECRET_KEY"]),
            enrolled_at=utcnow(),
            failed_attempts=0,
            active=active,
            created_at=utcnow(),
        )
        db.session.add(user)
        db.session.commit()
        return user.id, email, password, secret


def current_totp(app: Flask, email: str, secret: str) -> str:
    """A code the portal accepts now: the earliest step in the window not used yet, so
    that a frozen clock allows several sign-ins. On a running clock the window's earliest
    step is skipped: a request that crosses a 30-second boundary after the code was
    chosen would find that step gone from the window."""
    from sqlalchemy import select

    from portal import clock
    from portal.db_types import utcnow
    from portal.extensions import db
    from portal.staff import totp
    from portal.staff.models import StaffUser

    with app.app_context():
        last = db.session.execute(select(StaffUser.totp_last_step).where(StaffUser.email == email.lower())).scalar()
        now_step = totp.step_at(utcnow())
    first = now_step - (totp.VALID_WINDOW if clock.frozen_at() is not None else 0)
    for step in range(first, now_step + totp.VALID_WINDOW + 1):
        if last is None or step > last:
            return totp.code_at_step(secret, step)
    raise AssertionError("every code in the window was used: freeze the clock and move it on (frozen fixture)")


class StaffAuth:
    """Signs a member of staff in through /care/sign-in, as a person would."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.app = client.application

    def post(self, email: str, password: str, code: str, next_path: str | None = None) -> Any:
        token = self.token()
        url = "/care/sign-in" + (f"?next={next_path}" if next_path else "")
        return self.client.post(url, data={"csrf_token": token, "email": email, "password": password, "code": code})

    def sign_in(self, email: str, password: str, totp_secret: str, next_path: str | None = None) -> Any:
        response = self.post(email, password, current_totp(self.app, email, totp_secret), next_path)
        assert response.status_code == 302, f"staff sign-in failed ({response.status_code})"
        return response

    def token(self) -> str:
        """A CSRF token for this client's session (any staff page carries one)."""
        return csrf_token(self.client.get("/care/sign-in", follow_redirects=True).data)

    def sign_out(self) -> Any:
        return self.client.post("/care/sign-out", data={"csrf_token": self.token()})


def signed_in_staff(app: Flask, client: FlaskClient, role: Any, email: str | None = None) -> tuple[int, str, str, str]:
    """Create a member of staff with ``role`` and sign ``client`` in as them."""
    staff = make_staff(app, role, email)
    StaffAuth(client).sign_in(staff[1], staff[2], staff[3])
    return staff
