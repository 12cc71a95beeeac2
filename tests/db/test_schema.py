"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import CardAccount
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
