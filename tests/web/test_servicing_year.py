"""A year of daily servicing runs over a small book, payments arriving day by day as the
bank reports them, ends in known states: one plan completed, one broken on the right day,
one still active, one promise kept and one broken, days past due aged all year."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.audit.service import SYSTEM
from portal.cases.models import CaseEvent, Promise
from portal.extensions import db
from portal.payments.entries import StatementEntry
from portal.payments.models import Direction, PaymentSource
from portal.payments.service import post_entries
from portal.plans.models import Plan
from portal.servicing.run import CHANGES
from portal.unit_of_work import unit_of_work
from tests.conftest import make_account
from tests.plan_factories import card_number, make_plan
from tests.servicing_helpers import promise, run, state
from tests.web.test_servicing_run import dues

START, END = date(2026, 12, 1), date(2027, 11, 30)  # 365 days


def credit(day: date, reference: str, amount: str, n: int) -> StatementEntry:
    """A credit the bank booked on ``day`` quoting ``reference`` (the account's)."""
    return StatementEntry(
        statement_id=f"YEAR-{day.isoformat()}",
        entry_reference=str(n),
        transaction=0,
        end_to_end_id=f"E2E-{day.isoformat()}-{n}",
        bank_reference=None,
        amount=Decimal(amount),
        currency="CNY",
        direction=Direction.CREDIT,
        reversal=False,
        booked_at=datetime.combine(day, time(9), UTC),
        value_date=day,
        remittance=f"Card repayment {reference}",
        creditor_references=(),
    )


# Really committed: thousands of units inside one rolled-back transaction would each be a
# savepoint, and PostgreSQL slows down past a few dozen subtransactions in one transaction.
@pytest.mark.real_commits
def test_a_year_of_daily_runs_ends_in_known_states(app):
    keeps = make_account(app, card=card_number(1), reference="YEAR0001", dpd=0)
    stops = make_account(app, card=card_number(2), reference="YEAR0002", dpd=0)
    longer = make_account(app, card=card_number(3), reference="YEAR0003", dpd=0)
    promiser = make_account(app, card=card_number(4), reference="YEAR0004", dpd=40)
    idle = make_account(app, card=card_number(5), reference="YEAR0005", dpd=5)
    completed = make_plan(app, keeps, "installment", "en")
    broken = make_plan(app, stops, "installment", "en")
    active = make_plan(app, longer, "installment", "en", months=24)
    kept = promise(app, promiser, "300.00", date(2027, 2, 15), date(2027, 2, 1))
    missed = promise(app, idle, "200.00", date(2027, 5, 20), date(2027, 5, 10))

    # The bank's statements, by day: every installment on its due date, except that the
    # second account pays its first three only; the promise is paid in two parts.
    script: dict[date, list[tuple[str, str]]] = defaultdict(list)
    for reference, plan, paid_installments in (("YEAR0001", completed, 12), ("YEAR0002", broken, 3)):
        for _number, due, total in dues(app, plan)[:paid_installments]:
            script[due].append((reference, total))
    for _number, due, total in dues(app, active):
        script[due].append(("YEAR0003", total))
    script[date(2027, 2, 10)].append(("YEAR0004", "100.00"))
    script[date(2027, 2, 16)].append(("YEAR0004", "200.00"))  # the settle day after the promised one

    verdicts: dict[str, list[tuple[str, int]]] = defaultdict(list)
    day = START
    while day <= END:
        if script[day]:
            with app.app_context(), unit_of_work():
                post_entries([credit(day, r, a, n) for n, (r, a) in enumerate(script[day])], PaymentSource.CSV, SYSTEM)
        counts = run(app, day)
        for name in ("plans_completed", "plans_broken", "promises_kept", "promises_broken"):
            if counts[name]:
                verdicts[name].append((counts["date"], counts[name]))
        day += timedelta(days=1)

    last_due = dues(app, completed)[-1][1]
    fourth_due = dues(app, broken)[3][1]
    assert verdicts == {
        "plans_completed": [(last_due.isoformat(), 1)],
        "plans_broken": [((fourth_due + timedelta(days=31)).isoformat(), 1)],
        "promises_kept": [("2027-02-16", 1)],
        "promises_broken": [("2027-05-22", 1)],  # 20 May, then its settle day
    }
    assert (state(app, Plan, completed), state(app, Plan, broken), state(app, Plan, active)) == (
        "completed",
        "broken",
        "active",
    )
    assert (state(app, Promise, kept), state(app, Promise, missed)) == ("kept", "broken")
    with app.app_context():
        dpd = {r: d for r, d in db.session.execute(select(CardAccount.reference, CardAccount.days_past_due))}
        kinds = list(db.session.execute(select(CaseEvent.kind).where(CaseEvent.actor_id == "servicing")).scalars())
    assert dpd == {"YEAR0001": 0, "YEAR0002": 0, "YEAR0003": 0, "YEAR0004": 40 + 365, "YEAR0005": 5 + 365}
    assert sorted(kinds) == ["plan_broken", "plan_completed", "promise_broken", "promise_kept"]
    again = run(app, END)  # the last day once more: the one plan left is checked, nothing changes
    assert {k: v for k, v in again.items() if k in CHANGES} == dict.fromkeys(CHANGES, 0) and again["plans_checked"] == 1
