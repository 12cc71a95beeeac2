"""Events written before appends became lock-free keep verifying, and new events chain after them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from portal.audit.actions import Action
from portal.audit.hashing import GENESIS, _canonical, event_hash, head_mac
from portal.audit.models import AuditEvent
from portal.audit.service import SYSTEM, record, verify_chain
from portal.db_types import UTCDateTime
from portal.extensions import db
from tests.conftest import PG_TEST_DB, make_app, need, postgres_url

BEFORE = "9c1e5a7d2b40"  # the head before chain version 3
EVENTS = sa.table(
    "audit_events",
    *(sa.column(name) for name in ("id", "actor_type", "action", "prev_hash", "hash", "chain_version")),
    sa.column("occurred_at", UTCDateTime()),
    sa.column("after", sa.JSON()),
)
HEAD = sa.table("audit_head", *(sa.column(name) for name in ("id", "event_id", "event_hash", "mac")))


@pytest.fixture(params=["sqlite", "postgresql"])
def old_app(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    if request.param == "sqlite":
        return make_app(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    url = postgres_url(f"{PG_TEST_DB}_audit_migration")
    need(url is not None, "PostgreSQL at 127.0.0.1:5432 (apt-get install postgresql)")
    assert url is not None
    app = make_app(url)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    return app


def write_old_chain(conn: sa.Connection, key: bytes) -> list[str]:
    """Two plain (version 1) and three keyed (version 2) events, chained in id order as the
    old record() did, and the head sealed over the last."""
    previous, hashes = GENESIS, []
    for n in range(1, 6):
        event = SimpleNamespace(
            id=n,
            occurred_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n),
            actor_type="system",
            actor_id=None,
            action="old.step",
            object_type=None,
            object_id=None,
            before=None,
            after={"n": n},
            ip=None,
            prev_hash=previous,
            chain_version=1 if n <= 2 else 2,
        )
        digest = hashlib.sha256(_canonical(event, 1)).hexdigest() if n <= 2 else event_hash(event, key)
        conn.execute(
            EVENTS.insert().values(  # ids 1..5 from the fresh table's own sequence
                occurred_at=event.occurred_at,
                actor_type="system",
                action="old.step",
                after={"n": n},
                prev_hash=previous,
                hash=digest,
                chain_version=event.chain_version,
            )
        )
        previous = digest
        hashes.append(digest)
    conn.execute(HEAD.insert().values(id=1, event_id=5, event_hash=previous, mac=head_mac(5, previous, key)))
    return hashes


def test_old_events_get_their_id_order_as_positions_and_new_events_follow_them(old_app):
    app = old_app
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            old = write_old_chain(conn, str(app.config["AUDIT_KEY"]).encode())
        upgrade()
        assert verify_chain() is None
        new = [record(SYSTEM, Action.Case.VIEWED, ("thing", n)) for n in range(2)]
        db.session.commit()
        rows = db.session.execute(sa.select(AuditEvent.id, AuditEvent.position, AuditEvent.prev_hash)).all()
        assert sorted((r.id, r.position) for r in rows) == [(n, n) for n in range(1, 8)]
        assert db.session.get(AuditEvent, new[0].id).prev_hash == old[-1]  # chained onto the old head
        assert verify_chain() is None

        # Old events were chained in id order: renumbering two of them is still caught.
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_events SET id = -1 WHERE id = 3"))
            conn.execute(sa.text("UPDATE audit_events SET id = 3 WHERE id = 4"))
            conn.execute(sa.text("UPDATE audit_events SET id = 4 WHERE id = -1"))
        problem = verify_chain()
        db.session.remove()
        db.engine.dispose()
    assert problem is not None and problem.code == "out_of_order" and problem.event_id == 3
