"""`portal servicing run`: days past due aged, plans and promises judged at the rules' edges,
each day once however often it runs."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from portal.accounts.models import CardAccount
from portal.audit.models import AuditEvent
from portal.cases.models import CaseEvent, Promise
from portal.extensions import db
from portal.plans.models import Plan, PlanInstallment
from portal.servicing.models import ServicingRun
from tests.conftest import make_account
from tests.plan_factories import FIRST_DUE, make_plan
from tests.servicing_helpers import pay, promise, run, run_days, state

CONTRACT = {"date", "plans_completed", "plans_broken", "promises_kept", "promises_broken", "reminders_queued"}


def dues(app, plan_id: int) -> list[tuple[int, date, str]]:
    with app.app_context():
        query = select(PlanInstallment.number, PlanInstallment.due_date, PlanInstallment.total)
        rows = db.session.execute(query.where(PlanInstallment.plan_id == plan_id).order_by(PlanInstallment.number))
        return [(n, d, str(t.quantize(Decimal("0.01")))) for n, d, t in rows]


def case_events(app, kind: str) -> list[dict]:
    with app.app_context():
        return list(db.session.execute(select(CaseEvent.data).where(CaseEvent.kind == kind)).scalars())


def audit_count(app, action: str) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).where(AuditEvent.action == action)).scalar_one()


def test_a_plan_breaks_the_day_its_first_installment_is_more_than_thirty_days_late(app):
    plan = make_plan(app, make_account(app), "installment", "en")  # default rules: 10 grace, 2 in a row, 30 days
    assert run(app, FIRST_DUE + timedelta(days=30))["plans_broken"] == 0
    assert state(app, Plan, plan) == "active"
    counts = run(app, FIRST_DUE + timedelta(days=31))
    assert counts["plans_broken"] == 1 and counts["plans_completed"] == 0
    assert state(app, Plan, plan) == "broken"
    with app.app_context():
        ended = db.session.get(Plan, plan).ended_at
    assert ended.astimezone(ZoneInfo("Asia/Shanghai")).date() == FIRST_DUE + timedelta(days=31)
    (why,) = case_events(app, "plan_broken")
    assert why["plan_id"] == plan and why["reason"] == "days_late" and why["missed"] == [1]
    assert why["unpaid"][0] == {"number": 1, "due_date": FIRST_DUE.isoformat(), "owed": dues(app, plan)[0][2]}
    assert audit_count(app, "plan.broken") == 1


def test_a_plan_breaks_the_day_a_second_installment_in_a_row_is_missed_by_its_own_rules(app):
    account = make_account(app)
    plan = make_plan(app, account, "installment", "en")
    rules = {"grace_days": 5, "break_missed_in_a_row": 2, "break_days_late": 60}
    with app.app_context():  # the rules frozen into this plan, not the defaults
        row = db.session.get(Plan, plan)
        row.terms = {**row.terms, "missed_payment": rules}
        db.session.commit()
    first, _second, third = dues(app, plan)[:3]
    pay(app, account, first[2], first[1] + timedelta(days=5), plan)  # late, within the grace days
    assert run(app, third[1] + timedelta(days=5))["plans_broken"] == 0  # 3 is late, not missed yet
    assert state(app, Plan, plan) == "active"
    assert run(app, third[1] + timedelta(days=6))["plans_broken"] == 1
    (why,) = case_events(app, "plan_broken")
    assert why["reason"] == "missed_in_a_row" and why["missed"] == [2, 3] and why["paid_count"] == 1


def test_a_plan_is_completed_the_day_its_last_installment_is_paid(app):
    account = make_account(app)
    plan = make_plan(app, account, "installment", "en", months=3)
    rows = dues(app, plan)
    for _number, due, total in rows[:2]:
        pay(app, account, total, due, plan)
    assert run(app, rows[2][1])["plans_completed"] == 0
    pay(app, account, rows[2][2], rows[2][1] + timedelta(days=5), plan)  # within the grace days
    counts = run(app, rows[2][1] + timedelta(days=5))
    assert counts["plans_completed"] == 1 and counts["plans_broken"] == 0
    assert state(app, Plan, plan) == "completed"
    (done,) = case_events(app, "plan_completed")
    assert done["plan_id"] == plan and done["paid_count"] == done["count"] == 3 and done["unpaid"] == []
    assert audit_count(app, "plan.completed") == 1


def test_a_promise_is_kept_by_a_payment_booked_the_day_after_its_date(app):
    account = make_account(app)
    made, pay_by = date(2027, 3, 1), date(2027, 3, 10)
    kept = promise(app, account, "500.00", pay_by, made)
    pay(app, account, "200.00", date(2027, 2, 28))  # before it was made: does not count
    pay(app, account, "300.00", pay_by)
    assert run(app, pay_by)["promises_kept"] == 0
    pay(app, account, "200.00", pay_by + timedelta(days=1))  # the settle day
    counts = run(app, pay_by + timedelta(days=1))
    assert counts["promises_kept"] == 1 and state(app, Promise, kept) == "kept"
    (event,) = case_events(app, "promise_kept")
    assert event == {"promise": kept, "day": "2027-03-11", "amount": "500.00", "pay_by": "2027-03-10", "paid": "500.00"}
    assert audit_count(app, "promise.kept") == 1


def test_a_promise_is_broken_once_its_date_and_the_settle_day_have_passed(app):
    account = make_account(app)
    pay_by = date(2027, 3, 10)
    broken = promise(app, account, "500.00", pay_by, date(2027, 3, 1))
    pay(app, account, "499.99", pay_by)
    assert run(app, pay_by + timedelta(days=1))["promises_broken"] == 0
    pay(app, account, "0.01", pay_by + timedelta(days=3))  # booked after the day the run acts as: not counted
    counts = run(app, pay_by + timedelta(days=2))
    assert counts["promises_broken"] == 1 and state(app, Promise, broken) == "broken"
    assert case_events(app, "promise_broken")[0]["paid"] == "499.99"
    assert audit_count(app, "promise.broken") == 1


def dpd(app, account_id: int) -> tuple[int, date | None]:
    with app.app_context():
        account = db.session.get(CardAccount, account_id)
        return account.days_past_due, account.days_past_due_as_of


def test_days_past_due_age_by_the_days_since_they_were_true_and_current_accounts_stay_current(app):
    undated = make_account(app, dpd=35)
    dated = make_account(app, card="6222000000000025", dpd=10, days_past_due_as_of=date(2027, 1, 1))
    current = make_account(app, card="6222000000000033", dpd=0)
    newer = make_account(app, card="6222000000000041", dpd=5, days_past_due_as_of=date(2027, 1, 20))
    counts = run(app, date(2027, 1, 10))
    assert dpd(app, undated) == (36, date(2027, 1, 10))  # NULL: taken as true the day before
    assert dpd(app, dated) == (19, date(2027, 1, 10))
    assert dpd(app, current) == (0, date(2027, 1, 10))
    assert dpd(app, newer) == (5, date(2027, 1, 20))  # a newer snapshot is not aged backwards
    assert counts["accounts_aged"] == 2
    run(app, date(2027, 1, 13))
    assert dpd(app, undated) == (39, date(2027, 1, 13)) and dpd(app, dated) == (22, date(2027, 1, 13))


def test_ageing_counts_accounts_that_move_to_another_tier(app):
    make_account(app, dpd=29)  # M1 (1-29) → M2 tomorrow under the default policy
    make_account(app, card="6222000000000025", dpd=30)
    make_plan(app, make_account(app, card="6222000000000033", dpd=3), "installment", "en")  # installs the policy
    counts = run(app, date(2027, 1, 10))
    assert counts["accounts_aged"] == 3 and counts["tiers_changed"] == 1


def snapshot(app) -> tuple:
    with app.app_context():
        return (
            list(db.session.execute(select(Plan.id, Plan.state, Plan.ended_at).order_by(Plan.id))),
            list(db.session.execute(select(Promise.id, Promise.state).order_by(Promise.id))),
            list(db.session.execute(select(CardAccount.id, CardAccount.days_past_due).order_by(CardAccount.id))),
            db.session.execute(select(func.count()).select_from(CaseEvent)).scalar_one(),
            db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        )


def test_running_the_same_day_twice_changes_nothing(app):
    account = make_account(app)
    make_plan(app, account, "installment", "en")
    promise(app, account, "100.00", FIRST_DUE, FIRST_DUE - timedelta(days=3))
    day = FIRST_DUE + timedelta(days=31)
    first = run(app, day)
    assert first["plans_broken"] == 1 and first["promises_broken"] == 1 and first["accounts_aged"] == 1
    before = snapshot(app)
    again = run(app, day)
    assert set(again) >= CONTRACT
    assert {k: v for k, v in again.items() if k != "date"} == dict.fromkeys(set(again) - {"date"}, 0)  # none checked
    assert snapshot(app) == before
    with app.app_context():
        kept = db.session.execute(select(ServicingRun)).scalar_one()
        assert kept.day == day and kept.runs == 2 and kept.finished_at is not None
        assert kept.counts["plans_broken"] == 1 and kept.counts["accounts_aged"] == 1


def test_running_days_in_order_from_a_past_date_catches_up(app):
    account = make_account(app, dpd=35, days_past_due_as_of=FIRST_DUE)
    plan = make_plan(app, account, "installment", "en")
    days = run_days(app, FIRST_DUE + timedelta(days=1), FIRST_DUE + timedelta(days=40))
    assert [d["date"] for d in days if d["plans_broken"]] == [(FIRST_DUE + timedelta(days=31)).isoformat()]
    assert state(app, Plan, plan) == "broken" and dpd(app, account) == (75, FIRST_DUE + timedelta(days=40))
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ServicingRun)).scalar_one() == 40


def test_catching_up_does_not_count_a_payment_booked_after_the_day_being_run(app):
    account = make_account(app)
    plan = make_plan(app, account, "installment", "en")
    first = dues(app, plan)[0]
    pay(app, account, first[2], FIRST_DUE + timedelta(days=35), plan)  # known before the catch-up runs
    show = app.test_cli_runner().invoke(
        args=["portal", "plans", "show", str(plan), "--json", "--date", (FIRST_DUE + timedelta(days=31)).isoformat()]
    )
    assert json.loads(show.output)["installments"][0]["paid"] == "0.00"  # as it stood that day
    days = run_days(app, FIRST_DUE, FIRST_DUE + timedelta(days=40))
    # As a daily run would have: 31 days late, broken, though the money came 4 days later.
    assert [d["date"] for d in days if d["plans_broken"]] == [(FIRST_DUE + timedelta(days=31)).isoformat()]
    assert case_events(app, "plan_broken")[0]["paid"] == "0.00"


def test_the_cli_prints_the_contract_as_json_and_counts_in_words(app):
    make_account(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["portal", "servicing", "run", "--date", "2027-01-10", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= CONTRACT and data["date"] == "2027-01-10" and data["accounts_aged"] == 1
    words = runner.invoke(args=["portal", "servicing", "run", "--date", "2027-01-10"])
    assert words.exit_code == 0 and "0 completed, 0 broken" in words.output
    runs = runner.invoke(args=["portal", "servicing", "runs", "--json"])
    assert json.loads(runs.output)[0]["runs"] == 2


def test_the_case_file_shows_why_a_plan_ended(app, client):
    from portal.staff.models import Role
    from tests.staff_helpers import signed_in_staff

    account = make_account(app)
    make_plan(app, account, "installment", "en")
    run(app, FIRST_DUE + timedelta(days=31))
    signed_in_staff(app, client, Role.AGENT)
    page = client.get(f"/care/accounts/{account}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Plan broken" in html and "An installment stayed unpaid too long" in html
    # The event's JSON keeps ISO dates; the page shows them as the locale writes dates.
    assert "0 of 12 installments paid" in html and "Installment 1, due 28 Dec 2026" in html
    assert FIRST_DUE.isoformat() not in html


def test_the_case_file_shows_a_broken_promise_s_date_for_the_locale(app, client):
    from portal.staff.models import Role
    from tests.staff_helpers import signed_in_staff

    account = make_account(app)
    pay_by = date(2026, 10, 22)
    promise(app, account, "500.00", pay_by, date(2026, 10, 1))
    pay(app, account, "100.00", pay_by)
    assert run(app, pay_by + timedelta(days=3))["promises_broken"] == 1
    signed_in_staff(app, client, Role.AGENT)
    shown = re.compile(r' datetime="[^"]*"')  # <time datetime="2026-10-22T…"> is for machines
    html = shown.sub("", client.get(f"/care/accounts/{account}").get_data(as_text=True))
    assert "promised by 22 Oct 2026" in html and "2026-10-22" not in html
    client.get("/language/zh_Hans")
    html = shown.sub("", client.get(f"/care/accounts/{account}").get_data(as_text=True))
    assert "2026年10月22日" in html and "2026-10-22" not in html
