"""Report reads on a read replica (PORTAL_DATABASE_REPLICA_URL), writes on the primary.

The "replica" here is another PostgreSQL database holding different rows, so that where
each read went shows in what the page lists: the care queue and the audit viewer and its
export list the replica's rows, while what the same requests write (the staff sign-in,
the audit event recording the export) lands on the primary and not on the replica.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError

from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.audit.service import SYSTEM, record
from portal.extensions import db
from portal.replica import ReplicaWriteError, report_session
from portal.staff.models import Role
from tests.conftest import PG_TEST_DB, empty_tables, make_account, make_app, need, postgres_url, reset_schema, unit
from tests.staff_helpers import signed_in_staff

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

CARDS = ["6222000000000017", "6222000000000025", "6222000000000033", "6222000000000041"]


@pytest.fixture(scope="module")
def replica() -> Iterator[Flask]:
    """An app on the stand-in replica database (its own schema, its own rows)."""
    url = postgres_url(f"{PG_TEST_DB}_replica")
    need(url is not None, "PostgreSQL at 127.0.0.1:5432 (apt-get install postgresql)")
    assert url is not None
    made = make_app(url)
    reset_schema(made)
    yield made
    with made.app_context():
        db.engine.dispose()


@pytest.fixture
def reporting(app: Flask, database_url: str, replica: Flask) -> Iterator[Flask]:
    """The portal on the test's primary database with report reads on the replica."""
    made = make_app(database_url, DATABASE_REPLICA_URL=replica.config["SQLALCHEMY_DATABASE_URI"])
    try:
        yield made
    finally:
        made.extensions["replica_engine"].dispose()
        with made.app_context():
            db.engine.dispose()
        empty_tables(replica)


def policy(app: Flask) -> None:
    from portal.policies.service import ensure_default_policy

    with unit(app):
        ensure_default_policy(SYSTEM)


def audit_rows(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_the_care_queue_reads_the_replica(app: Flask, replica: Flask, reporting: Flask):
    policy(app)
    make_account(app, card=CARDS[0], reference="PRIMARY1", dpd=40)
    make_account(replica, card=CARDS[1], reference="REPLICA1", dpd=40)
    make_account(replica, card=CARDS[2], reference="REPLICA2", dpd=70)
    client = reporting.test_client()
    signed_in_staff(reporting, client, Role.AGENT)  # a write: the staff member is on the primary
    queue = client.get("/care/?tier=all").get_data(as_text=True)
    assert "REPLICA1" in queue and "REPLICA2" in queue and "PRIMARY1" not in queue
    # The case file a counsellor acts on is read from the primary.
    with app.app_context():
        primary_account = db.session.execute(text("SELECT id FROM card_accounts WHERE reference = 'PRIMARY1'")).scalar()
    assert "PRIMARY1" in client.get(f"/care/accounts/{primary_account}").get_data(as_text=True)


def test_the_audit_viewer_reads_the_replica_and_the_export_is_recorded_on_the_primary(
    app: Flask, replica: Flask, reporting: Flask
):
    with unit(replica):
        record(SYSTEM, Action.Agreement.SIGNED, ("agreement", 9001), after={"marker": "replica"})
    with unit(app):
        record(SYSTEM, Action.Agreement.SIGNED, ("agreement", 1001), after={"marker": "primary"})
    client = reporting.test_client()
    signed_in_staff(reporting, client, Role.AUDITOR)
    page = client.get("/admin/audit/?action=agreement.signed").get_data(as_text=True)
    assert "1 event matches" in page and "replica" in page and "primary" not in page

    export = client.get("/admin/audit/export.csv?action=agreement.signed")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert [(row[5], row[7]) for row in rows[1:]] == [("agreement.signed", "9001")]
    # Taking the export is audited, on the primary only.
    assert len(audit_rows(app, "audit.exported")) == 1
    assert audit_rows(replica, "audit.exported") == []


def test_nothing_is_written_through_the_replica(reporting: Flask, replica: Flask):
    with reporting.app_context():
        reads = report_session()
        assert reads is not db.session()
        with pytest.raises(ReplicaWriteError):
            reads.execute(insert(AuditEvent).values(action="agreement.signed"))
        reads.rollback()
        # Whatever slips past the session, the server refuses: the transaction is READ ONLY.
        with pytest.raises(DBAPIError, match="read-only"):
            reads.execute(text("CREATE TABLE sneaky (id int)"))
    with replica.app_context():
        assert db.session.execute(text("SELECT to_regclass('sneaky')")).scalar() is None


def test_without_a_replica_reports_read_the_primary(app: Flask):
    with app.app_context():
        assert report_session() is db.session()
        count: Any = report_session().execute(select(func.count()).select_from(AuditEvent)).scalar()
        assert count == db.session.execute(select(func.count()).select_from(AuditEvent)).scalar()
