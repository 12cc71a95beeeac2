"""The migrations that take secrets out of the database convert rows already there."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from portal.extensions import db
from portal.security import birth_date_hash
from tests.conftest import make_app

BEFORE = "450ad35f762c"  # the head before dates of birth were hashed
TOKEN = "Qm9vb29vb29vb29vb29vb29vb29vb29vb29vb29vb28"


def test_upgrade_hashes_stored_dates_of_birth_and_masks_old_bodies(tmp_path: Path):
    app = make_app(f"sqlite:///{tmp_path / 'old.sqlite3'}", CARD_HASH_KEY="the-deployment-card-key")
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO cardholders (id, full_name, date_of_birth, phone, locale, created_at) "
                    "VALUES (1, 'Li Na', '1988-04-12', '+86 1', 'en', '2026-11-01 00:00:00.000000')"
                )
            )
            for kind, body in [
                ("signin_code", "Example Bank: your sign-in code is 123456. It expires in 5 minutes."),
                ("plan_link", f"See your options: http://localhost:5000/l/{TOKEN} (works until …)"),
            ]:
                conn.execute(
                    sa.text(
                        "INSERT INTO outbox_messages (kind, channel, recipient, locale, body, status, created_at, "
                        "send_after, attempts, collection) VALUES (:kind, 'sms', '+86 1', 'en', :body, 'sent', "
                        "'2026-11-01 00:00:00.000000', '2026-11-01 00:00:00.000000', 1, 0)"
                    ),
                    {"kind": kind, "body": body},
                )
        upgrade()
        with db.engine.connect() as conn:
            holder = conn.execute(sa.text("SELECT * FROM cardholders")).mappings().one()
            bodies = list(conn.execute(sa.text("SELECT body FROM outbox_messages ORDER BY id")).scalars())
        db.engine.dispose()
    assert "date_of_birth" not in holder
    assert holder["date_of_birth_hash"] == birth_date_hash(date(1988, 4, 12), "the-deployment-card-key")
    assert "123456" not in bodies[0] and "••••••" in bodies[0]
    assert TOKEN not in bodies[1] and "/l/••••••" in bodies[1]


def test_upgrade_seals_an_old_plain_chain_so_its_tail_cannot_be_cut(tmp_path: Path):
    import hashlib
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from portal.audit.service import GENESIS, _canonical, verify_chain

    app = make_app(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with app.app_context():
        upgrade(revision=BEFORE)
        previous = GENESIS
        with db.engine.begin() as conn:
            for n in (1, 2, 3):
                event = SimpleNamespace(
                    occurred_at=datetime(2026, 11, n, tzinfo=UTC),
                    actor_type="system",
                    actor_id=None,
                    action="old.step",
                    object_type=None,
                    object_id=None,
                    before=None,
                    after={"n": n},
                    ip=None,
                    prev_hash=previous,
                )
                digest = hashlib.sha256(_canonical(event, 1)).hexdigest()  # how version 1 hashed
                conn.execute(
                    sa.text(
                        "INSERT INTO audit_events (id, occurred_at, actor_type, action, after, prev_hash, hash) "
                        "VALUES (:id, :at, 'system', 'old.step', :after, :prev, :hash)"
                    ),
                    {
                        "id": n,
                        "at": event.occurred_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                        "after": f'{{"n": {n}}}',
                        "prev": previous,
                        "hash": digest,
                    },
                )
                previous = digest
        upgrade()
        assert verify_chain() is None  # old events verify as plain SHA-256
        with db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_events WHERE id = 3"))
        problem = verify_chain()
        db.engine.dispose()
    assert problem is not None and problem.code == "deleted"
