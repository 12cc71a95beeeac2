"""A named lock held until the transaction ends, for a read-then-write that row locks
cannot protect (a next number, "which one is active now", an import's duplicates check)."""

from __future__ import annotations

import hashlib

from sqlalchemy import text

from portal.extensions import db


def transaction_lock(name: str) -> None:
    """Wait for, then hold, the lock ``name`` until this transaction commits or rolls back
    (a PostgreSQL advisory lock keyed by a digest of the name; SQLite has one writer anyway)."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
