"""`portal demo` gives accounts with a past that the servicing run agrees with."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.cases.models import CaseEvent, Promise
from portal.demo import load_demo
from portal.extensions import db
from portal.plans.models import Plan
from tests.conftest import unit
from tests.servicing_helpers import run
from tests.web.test_servicing_run import snapshot

TODAY = date(2026, 11, 30)


def test_demo_accounts_have_a_kept_a_broken_and_a_completed_plan_and_a_kept_and_a_broken_promise(app):
    with unit(app):
        load_demo(TODAY)
    with app.app_context():
        plans = dict(
            db.session.execute(
                select(CardAccount.reference, Plan.state).join(Plan, Plan.account_id == CardAccount.id)
            ).all()
        )
        promises = dict(
            db.session.execute(
                select(CardAccount.reference, Promise.state).join(Promise, Promise.account_id == CardAccount.id)
            ).all()
        )
        kinds = dict(
            db.session.execute(
                select(CaseEvent.kind, CardAccount.reference)
                .join(CardAccount, CardAccount.id == CaseEvent.account_id)
                .where(CaseEvent.actor_id == "servicing")
            ).all()
        )
    assert plans == {"DEMO0013": "active", "DEMO0014": "broken", "DEMO0015": "completed"}
    assert promises == {"DEMO0016": "kept", "DEMO0017": "broken"}
    assert kinds == {
        "plan_broken": "DEMO0014",
        "plan_completed": "DEMO0015",
        "promise_kept": "DEMO0016",
        "promise_broken": "DEMO0017",
    }
    before = snapshot(app)
    counts = run(app, TODAY)  # the run for the demo's day decides nothing new
    assert (counts["plans_completed"], counts["plans_broken"], counts["promises_kept"], counts["promises_broken"]) == (
        0,
        0,
        0,
        0,
    )
    assert counts["accounts_aged"] == 0 and snapshot(app)[:3] == before[:3]
