"""Two servicing runs of the same day started at once on PostgreSQL decide each verdict once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.cases.models import CaseEvent
from portal.extensions import db
from tests.conftest import make_account
from tests.plan_factories import FIRST_DUE, card_number, make_plan


@pytest.mark.real_commits  # each run works on a connection of its own
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has one writer
def test_two_runs_of_one_day_at_once_break_each_plan_once(app, monkeypatch):
    for serial in range(1, 7):
        make_plan(app, make_account(app, card=card_number(serial), reference=f"RACE{serial:04d}"), "installment", "en")
    from portal.servicing import plans as plan_run
    from portal.servicing.run import run_day

    day = FIRST_DUE + timedelta(days=31)
    start = threading.Barrier(2)
    reports, errors = [], []

    def go() -> None:
        try:
            with app.app_context():
                start.wait()
                reports.append(run_day(day))
        except BaseException as error:
            errors.append(error)

    monkeypatch.setattr(plan_run, "CHUNK", 2)  # several chunks each, so the two runs interleave
    threads = [threading.Thread(target=go) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.plans_broken for r in reports) == 6
    with app.app_context():
        events = db.session.execute(select(func.count()).where(CaseEvent.kind == "plan_broken")).scalar_one()
        runs = db.session.execute(select(func.count()).select_from(CaseEvent)).scalar_one()
    assert events == 6 and runs == 6
