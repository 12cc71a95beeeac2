"""Two plan links sent to one account at the same moment on PostgreSQL (a double click on
"Send now", or two members of staff): one link stays open, never two."""

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
from portal.links import service
from portal.links.models import PlanLink
from portal.unit_of_work import unit_of_work
from tests.conftest import PG_TEST_DB, make_account, separate_postgres_app

pytestmark = pytest.mark.postgres
DATABASE = f"{PG_TEST_DB}_link_race"


@pytest.fixture
def app() -> Iterator[Flask]:
    with separate_postgres_app(DATABASE, pool_size=4, max_overflow=2) as app:
        yield app


def test_two_links_sent_at_once_leave_one_open(app, monkeypatch):
    account_id = make_account(app)
    # Each send waits here, its link made but not committed, for the other (up to 2 s).
    meet = threading.Barrier(2, timeout=2)
    real_revoke_older = service._revoke_older

    def revoke_older_after_meeting(*args: Any) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):  # the other waits for our lock
            meet.wait()
        real_revoke_older(*args)

    monkeypatch.setattr(service, "_revoke_older", revoke_older_after_meeting)
    outcomes: list[str] = []

    def send(staff_id: int) -> None:
        with app.app_context():
            try:
                with unit_of_work():
                    service.issue_plan_link(account_id, "sms", Actor.staff(staff_id))
                outcomes.append("sent")
            except service.LinkError as error:
                outcomes.append(error.code)  # a contact cap may refuse the second

    threads = [threading.Thread(target=send, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert "sent" in outcomes
    with app.app_context():
        open_links = db.session.execute(select(PlanLink.id).where(PlanLink.revoked_at.is_(None))).scalars()
        assert len(list(open_links)) == 1
