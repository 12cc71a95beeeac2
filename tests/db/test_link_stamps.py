"""Thirty people opening one plan link at once on PostgreSQL stamp it once."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.cases.models import CaseEvent
from portal.db_types import utcnow
from portal.extensions import db
from tests.conftest import PG_TEST_DB, make_account, make_app, need, postgres_url, reset_schema, unit

pytestmark = pytest.mark.postgres
DATABASE = f"{PG_TEST_DB}_links"  # its own database: parallel runs with other names do not collide
OPENERS = 30


@pytest.fixture(scope="module")
def pg_app() -> Iterator[Flask]:
    url = postgres_url(DATABASE)
    need(url is not None, "PostgreSQL at 127.0.0.1:5432 (apt-get install postgresql)")
    assert url is not None
    app = make_app(
        url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": OPENERS, "max_overflow": 10, "pool_timeout": 60},
    )
    reset_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_thirty_simultaneous_opens_stamp_the_link_once(pg_app):
    from portal.links.models import PlanLink
    from portal.links.service import open_link, token_hash

    app = pg_app
    account_id = make_account(app)
    token = secrets.token_urlsafe(32)
    with app.app_context():
        now = utcnow()
        link = PlanLink(
            account_id=account_id,
            token_hash=token_hash(token),
            channel="sms",
            created_by="staff:1",
            created_at=now,
            expires_at=now + timedelta(hours=72),
        )
        db.session.add(link)
        db.session.commit()
        link_id = link.id

    start = threading.Barrier(OPENERS)
    opened: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def open_it() -> None:
        try:
            with unit(app):  # one request each: its stamp commits when it ends
                start.wait(timeout=30)
                found = open_link(token, "127.0.0.1")
                with lock:
                    opened.append(found.id if found else 0)
        except BaseException as error:
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(OPENERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert opened == [link_id] * OPENERS  # every opener still gets the link
    with app.app_context():
        events = db.session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "link.opened")
        ).scalar()
        cases = db.session.execute(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "link_opened")
        ).scalar()
        assert (events, cases) == (1, 1)
        assert db.session.get(PlanLink, link_id).opened_at is not None
