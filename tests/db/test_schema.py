"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect, select, text
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import CardAccount
from portal.cases.models import Promise
from portal.extensions import db
from tests.conftest import make_account


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_money_round_trips_exactly(app, query):
    make_account(app, principal="123456789012.3456")
    principal = query.one(select(CardAccount.principal))
    assert principal == Decimal("123456789012.3456") and isinstance(principal, Decimal)


def test_check_constraints_refuse_negative_money(app, query):
    with pytest.raises(IntegrityError):
        make_account(app, principal="-1")
    assert query(select(CardAccount)) == []


def test_floats_are_refused_for_money(app, query):
    with pytest.raises(Exception, match="never float"):
        make_account(app, interest=1.5)
    assert query(select(CardAccount)) == []


def _checks(constraints: Any) -> set[str]:
    return {c.name for c in constraints if isinstance(c, CheckConstraint) and c.name}


def test_models_and_migrations_have_the_same_check_constraints(app):
    """Alembic's comparison skips CHECK constraints; this compares their names, table by table."""
    with app.app_context():
        inspector = inspect(db.engine)
        for table in db.metadata.sorted_tables:
            in_database = {c["name"] for c in inspector.get_check_constraints(table.name) if c.get("name")}
            assert _checks(table.constraints) == in_database, table.name


def _one_row_of_each(app) -> dict[str, int]:
    """A valid row in every table whose state, kind or actor type is checked; their ids."""
    from portal.audit.actions import Action
    from portal.audit.service import SYSTEM, record
    from portal.cases.models import CaseEventKind
    from portal.cases.service import add_event
    from portal.notifications.models import OutboxMessage
    from portal.policies.models import PolicyVersion
    from portal.policies.service import ensure_default_policy
    from tests.plan_factories import make_pending_agreement, make_plan

    account_id = make_account(app)
    with app.app_context():
        ensure_default_policy(SYSTEM)
        promise = Promise(account_id=account_id, amount=Decimal("100"), currency="CNY", pay_by=date(2026, 12, 1))
        message = OutboxMessage(kind="signin_code", channel="sms", recipient="+86 1", locale="en", body="x")
        db.session.add_all([promise, message])
        event = add_event(account_id, CaseEventKind.NOTE, SYSTEM, {})
        audit = record(SYSTEM, Action.Demo.ACCOUNT_CREATED, ("card_account", account_id))
        db.session.commit()
        ids = {
            "promises": promise.id,
            "outbox_messages": message.id,
            "case_events": event.id,
            "audit_events": audit.id,
            "policy_versions": db.session.execute(select(PolicyVersion.id).limit(1)).scalar_one(),
        }
    ids["plans"] = make_plan(app, account_id, "installment", "en")
    ids["agreements"] = make_pending_agreement(app, ids["plans"])
    return ids


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("plans", "state"),
        ("policy_versions", "state"),
        ("agreements", "state"),
        ("outbox_messages", "status"),
        ("promises", "state"),
        ("case_events", "kind"),
        ("case_events", "actor_type"),
        ("audit_events", "actor_type"),
    ],
)
@pytest.mark.real_commits  # the UPDATEs run on a connection of their own
def test_check_constraints_refuse_an_unknown_state(app, table, column):
    ids = _one_row_of_each(app)
    with app.app_context(), db.engine.connect() as conn:
        # The row is valid as it stands: the same UPDATE with its own value passes.
        conn.execute(text(f"UPDATE {table} SET {column} = {column} WHERE id = :id"), {"id": ids[table]})
        with pytest.raises(IntegrityError):
            conn.execute(text(f"UPDATE {table} SET {column} = 'bogus' WHERE id = :id"), {"id": ids[table]})
        conn.rollback()
