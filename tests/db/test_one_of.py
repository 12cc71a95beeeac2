"""``portal.db_types.one_of``: a fixed set of values compiled into the statement once.

SQLAlchemy writes an ``in_()`` list into the SQL again at every execution (an "expanding"
parameter, rendered after its compiled cache); ``one_of`` is a parameter per value, so
the compiled statement is the statement sent. It must select exactly what ``in_`` does,
on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.auth.models import WebSession
from portal.db_types import one_of, utcnow
from portal.extensions import db
from portal.plans.models import OPEN_STATES, Plan


def test_compiles_without_an_expanding_parameter(app: Any) -> None:
    with app.app_context():
        compiled = select(Plan.id).where(one_of(Plan.state, OPEN_STATES)).compile(dialect=db.engine.dialect)
        assert not compiled.literal_execute_params and not compiled.post_compile_params
        assert "POSTCOMPILE" not in compiled.string
        # One parameter per value, in a fixed order (a frozenset's own order is per process).
        assert sorted(compiled.params.values()) == sorted(OPEN_STATES)
        assert list(compiled.params.values()) == sorted(OPEN_STATES)
        expanding = select(Plan.id).where(Plan.state.in_(OPEN_STATES)).compile(dialect=db.engine.dialect)
        assert expanding.post_compile_params  # what one_of avoids


def test_selects_what_in_selects(app: Any) -> None:
    now = utcnow()
    principals = ["c:1", "c:2", "s:1", "s:2", "s:3"]
    with app.app_context():
        db.session.add_all(
            WebSession(token_hash=f"{n:064x}", principal=p, created_at=now, last_seen_at=now)
            for n, p in enumerate(principals)
        )
        db.session.flush()
        ordered = select(WebSession.principal).order_by(WebSession.principal)
        for wanted in (("c:1",), ("s:3", "c:2"), frozenset(principals), ("c:1", "nobody"), ()):
            ours = db.session.scalars(ordered.where(one_of(WebSession.principal, wanted))).all()
            assert ours == db.session.scalars(ordered.where(WebSession.principal.in_(wanted))).all()
            assert ours == sorted(set(wanted) & set(principals))
