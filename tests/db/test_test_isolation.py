"""The ``app`` fixture's isolation: a test's commits are rolled back at its end, on both
databases, and a test marked ``real_commits`` really commits for other connections to see."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.accounts.models import CardAccount, Cardholder
from portal.extensions import db
from tests.conftest import make_account, rolled_back


def committed_accounts(app) -> int:
    """Accounts as another connection sees them: only what was really committed."""
    with app.app_context(), db.engine.connect() as other:
        return other.execute(select(func.count()).select_from(CardAccount)).scalar_one()


@pytest.mark.real_commits  # so that the block below is the only rolled-back transaction
def test_commits_inside_are_rolled_back_at_the_end(app, query):
    with rolled_back(app):
        account_id = make_account(app)  # commits in its own app context
        assert query(select(CardAccount.id)) == [account_id]  # a later context sees it
        assert committed_accounts(app) == 0  # nobody else does
    assert query(select(CardAccount.id)) == []


@pytest.mark.real_commits
def test_a_session_rollback_returns_to_the_last_commit_only(app, query):
    with rolled_back(app):
        kept = make_account(app)
        with app.app_context():
            db.session.add(Cardholder(full_name="Wang Fang", date_of_birth_hash="x" * 64, phone="+86 138 0000 0002"))
            db.session.flush()
            db.session.rollback()
        assert query(select(CardAccount.id)) == [kept]
        assert query(select(Cardholder.full_name)) == ["Li Na"]
    assert query(select(Cardholder.id)) == []


@pytest.mark.real_commits
def test_a_test_marked_real_commits_writes_for_other_connections(app):
    make_account(app)
    assert committed_accounts(app) == 1


def test_a_test_writes_only_inside_its_transaction(app):
    make_account(app)
    assert committed_accounts(app) == 0
