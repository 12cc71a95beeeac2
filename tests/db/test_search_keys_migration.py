"""The migration that adds care search's look-up keys fills them for cardholders already
there, and the search's look-ups are served by their indexes on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from portal.extensions import db
from tests.conftest import make_app

BEFORE = "b4d2f8a1c6e3"  # the head before cardholders kept search keys


def test_upgrade_fills_phone_and_email_keys_of_existing_cardholders(tmp_path: Path):
    app = make_app(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            for n, phone, email in [
                (1, "+86 138 1234 5678", "Li.Na@Example.com"),
                (2, "+852 5000-0001", None),
                (3, "12", " "),
            ]:
                conn.execute(
                    sa.text(
                        "INSERT INTO cardholders (id, full_name, date_of_birth_hash, phone, email, locale, created_at)"
                        " VALUES (:n, 'Holder', :dob, :phone, :email, 'en', '2026-11-01 00:00:00.000000')"
                    ),
                    {"n": n, "dob": "0" * 64, "phone": phone, "email": email},
                )
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, phone_last4, email_key FROM cardholders ORDER BY id")).all()
        db.engine.dispose()
    assert [tuple(r) for r in rows] == [(1, "5678", "li.na@example.com"), (2, "0001", None), (3, None, None)]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_card_email_and_phone_searches_use_their_indexes(app):
    from portal.accounts.models import CardAccount, Cardholder
    from portal.care.queries import _phone_ends_with

    statements = {
        "ix_cardholders_phone_last4": sa.select(Cardholder.id).where(_phone_ends_with("12345678")),
        "ix_cardholders_email_key": sa.select(Cardholder.id).where(Cardholder.email_key == "li.na@example.com"),
        "uq_card_accounts_card_hash": sa.select(CardAccount.id).where(CardAccount.card_hash == "0" * 64),
    }
    with app.app_context():
        # An empty test table is cheaper to scan than to look up: forbid the scan to see
        # that an index can serve each look-up at all (at 100,000 rows the planner picks it).
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        for index, statement in statements.items():
            compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = "\n".join(db.session.execute(sa.text(f"EXPLAIN {compiled}")).scalars())
            assert index in plan, plan
        db.session.rollback()
