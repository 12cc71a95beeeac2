"""Policy drafts and approvals at the same moment on PostgreSQL: no error, one active version.

The global audit lock used to serialise these by accident; they now take a lock of their
own around the two reads-then-writes that row locks cannot protect.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from portal.audit.service import SYSTEM, Actor, verify_chain
from portal.extensions import db
from portal.policies import workflow
from portal.policies.models import PolicyVersion
from portal.policies.service import ensure_default_policy
from portal.unit_of_work import unit_of_work
from tests.conftest import PG_TEST_DB, make_app, need, postgres_url, reset_schema

pytestmark = pytest.mark.postgres
DATABASE = f"{PG_TEST_DB}_policy_race"
MAKER, CHECKER = Actor("staff", "1"), Actor("staff", "2")
AT_ONCE = 6


@pytest.fixture
def app() -> Iterator[Flask]:
    url = postgres_url(DATABASE)
    need(url is not None, "PostgreSQL at 127.0.0.1:5432 (apt-get install postgresql)")
    assert url is not None
    app = make_app(url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 2 * AT_ONCE + 2, "max_overflow": 4})
    reset_schema(app)
    with app.app_context():
        ensure_default_policy(SYSTEM, ("CNY",))
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def all_at_once(app: Flask, calls: list[Callable[[], object]]) -> list[BaseException]:
    start = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        with app.app_context():
            start.wait()
            try:
                with unit_of_work():  # each call is one request's unit of work
                    call()
            except BaseException as error:  # collected: a thread's exception is otherwise lost
                errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_drafts_created_at_once_get_distinct_numbers(app):
    errors = all_at_once(app, [lambda: workflow.create_draft(MAKER, "CNY")] * AT_ONCE)
    assert errors == []
    with app.app_context():
        numbers = list(db.session.execute(select(PolicyVersion.number).order_by(PolicyVersion.number)).scalars())
        assert numbers == list(range(1, AT_ONCE + 2)) and verify_chain() is None


def test_versions_approved_at_once_leave_one_active(app):
    with app.app_context(), unit_of_work():
        pending = []
        for _ in range(AT_ONCE):
            draft = workflow.create_draft(MAKER, "CNY")
            version = workflow.submit(draft.number, MAKER)
            pending.append((version.number, workflow.review_digest(version)))
    errors = all_at_once(
        app, [lambda n=n, digest=digest: workflow.approve(n, CHECKER, digest) for n, digest in pending]
    )
    assert errors == []
    with app.app_context():
        states = list(db.session.execute(select(PolicyVersion.state).where(PolicyVersion.currency == "CNY")).scalars())
        assert states.count("active") == 1 and states.count("retired") == AT_ONCE and verify_chain() is None
