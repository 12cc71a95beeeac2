"""Two staff admins disabling each other at the same moment on PostgreSQL: one of them
stays, so someone can still manage the desk from the browser."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal.audit.service import Actor
from portal.extensions import db
from portal.staff import management
from portal.staff.models import Role, StaffUser
from portal.staff.service import StaffError
from portal.unit_of_work import unit_of_work
from tests.conftest import PG_TEST_DB, separate_postgres_app
from tests.staff_helpers import make_staff

pytestmark = pytest.mark.postgres
DATABASE = f"{PG_TEST_DB}_staff_admin_race"


@pytest.fixture
def app() -> Iterator[Flask]:
    with separate_postgres_app(DATABASE, pool_size=4, max_overflow=2) as app:
        yield app


def test_two_staff_admins_disabling_each_other_at_once_leave_one_active(app, monkeypatch):
    first, first_email, *_ = make_staff(app, Role.STAFF_ADMIN)
    second, second_email, *_ = make_staff(app, Role.STAFF_ADMIN)
    # Both pass the last-admin check before either writes: each waits here (after its
    # check, before its change is flushed) for the other, for up to two seconds.
    meet = threading.Barrier(2, timeout=2)
    real_end_sessions = management.end_sessions

    def end_sessions_after_meeting(principal: str, reason: str) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):  # the other waits for our lock
            meet.wait()
        return real_end_sessions(principal, reason)

    monkeypatch.setattr(management, "end_sessions", end_sessions_after_meeting)
    outcomes: list[object] = []

    def disable(email: str, actor_id: int) -> None:
        with app.app_context():
            try:
                with unit_of_work():
                    management.set_active(email, False, Actor.staff(actor_id))
                outcomes.append("disabled")
            except StaffError as error:
                outcomes.append(error.code)

    threads = [
        threading.Thread(target=disable, args=(second_email, first)),
        threading.Thread(target=disable, args=(first_email, second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes)) == ["disabled", "last_admin"]
    with app.app_context():
        active = db.session.execute(
            select(StaffUser.id).where(StaffUser.role == Role.STAFF_ADMIN, StaffUser.active.is_(True))
        ).scalars()
        assert len(list(active)) == 1
