"""What the PostgreSQL benchmarks share: their database, and an empty book to fill.

``ensure_database`` creates the benchmark's database on first use; ``fresh_book`` drops
and migrates its schema, activates the default policy for ``currencies`` and adds the one
cardholder every generated account belongs to (id 1). The benchmarks then load their own
accounts, plans and payments with COPY.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def ensure_database(url: str) -> None:
    server, name = url.rsplit("/", 1)
    engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def fresh_book(currencies: tuple[str, ...] = ("CNY",)) -> Any:
    """An empty, migrated schema with the default policy active; its version (in an app context)."""
    from flask_migrate import upgrade

    from portal.audit.service import SYSTEM
    from portal.extensions import db
    from portal.policies.service import ensure_default_policy

    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade()
    (version, *_) = ensure_default_policy(SYSTEM, currencies)
    db.session.execute(
        sa.text(
            "INSERT INTO cardholders (id, full_name, date_of_birth_hash, phone, locale, created_at) "
            "VALUES (1, 'Bench', repeat('0', 64), '+86 0', 'en', now())"
        )
    )
    db.session.commit()
    return version
