"""Fifty people tapping "accept" at once on PostgreSQL still make exactly one plan."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.audit.service import SYSTEM, Actor
from portal.extensions import db
from tests.conftest import make_account, make_app, need, postgres_url, reset_schema, unit

pytestmark = pytest.mark.postgres
DATABASE = "portal_concurrency"


@pytest.fixture(scope="module")
def pg_app() -> Iterator[Flask]:
    url = postgres_url(DATABASE)
    need(url is not None, "PostgreSQL at 127.0.0.1:5432 (apt-get install postgresql)")
    assert url is not None
    app = make_app(
        url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 20, "max_overflow": 40, "pool_timeout": 60},
    )
    reset_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_fifty_concurrent_acceptances_make_one_plan(pg_app):
    from portal.offers.adapter import offers_for_account
    from portal.plans.models import Plan, Signature
    from portal.plans.service import Evidence, accept_offer
    from portal.policies.service import ensure_default_policy

    app = pg_app
    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()
    account_id = make_account(app, dpd=35)
    with app.app_context():
        from portal.accounts.models import CardAccount
        from portal.journey.service import account_today

        account = db.session.get(CardAccount, account_id)
        today = account_today(account)
        fingerprint = offers_for_account(account, today)[1][0].fingerprint

    start = threading.Barrier(50)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def tap() -> None:
        try:
            with unit(app):  # one request each: it commits when it ends
                evidence = Evidence("Li Na", "consent", "127.0.0.1", "test", "en")
                start.wait(timeout=30)
                plan, created = accept_offer(
                    account_id, fingerprint, evidence, Actor("cardholder", str(account_id)), today
                )
                with lock:
                    results.append((plan.id, created))
        except BaseException as error:
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=tap) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(results) == 50
    assert len({plan_id for plan_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Plan)).scalar() == 1
        assert db.session.execute(select(func.count()).select_from(Signature)).scalar() == 1
