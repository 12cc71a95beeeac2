"""The daily run hands its verdicts on: the core system is told (plan events), a broken
plan's cardholder gets the one calm message, reminders go out for today, and a snapshot
from the core system dates the days past due it sets, so the run ages them from there."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.integrations.core_banking.models import PlanEvent
from portal.notifications.models import OutboxMessage
from tests.api_helpers import SECRET, ApiClient, snapshot
from tests.conftest import make_account
from tests.plan_factories import FIRST_DUE, make_plan
from tests.servicing_helpers import pay, run


def at_noon(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=4)


def test_a_broken_plan_is_told_to_the_core_system_and_its_cardholder_gets_one_calm_message(app, query, frozen):
    plan = make_plan(app, make_account(app), "installment", "en")
    day = FIRST_DUE + timedelta(days=31)
    frozen.set(at_noon(day))
    assert run(app, day)["plans_broken"] == 1
    (event,) = query(select(PlanEvent).where(PlanEvent.plan_id == plan))
    assert event.event == "broken"
    assert event.data["ended_on"] == day.isoformat() and event.data["reason"] == "days_late"
    (message,) = query(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"broken:plan:{plan}"))
    assert message.kind == "plan_broken" and "ended" in message.body
    run(app, day)  # the same day again tells nobody twice
    assert len(query(select(PlanEvent).where(PlanEvent.plan_id == plan))) == 1
    assert len(query(select(OutboxMessage).where(OutboxMessage.kind == "plan_broken"))) == 1


def test_a_completed_plan_is_told_to_the_core_system(app, query, frozen):
    account = make_account(app)
    plan = make_plan(app, account, "installment", "en", months=3)
    with app.app_context():
        from portal.extensions import db
        from portal.plans.models import PlanInstallment

        dues = [(i.due_date, str(i.total)) for i in db.session.execute(
            select(PlanInstallment).where(PlanInstallment.plan_id == plan).order_by(PlanInstallment.number)
        ).scalars()]  # fmt: skip
    for due, total in dues:
        pay(app, account, total, due, plan)
    frozen.set(at_noon(dues[-1][0]))
    assert run(app, dues[-1][0])["plans_completed"] == 1
    kinds = [e.event for e in query(select(PlanEvent).where(PlanEvent.plan_id == plan).order_by(PlanEvent.id))]
    assert kinds[-1] == "completed" and kinds.count("completed") == 1


def test_reminders_go_out_for_today_but_not_when_catching_up_a_day_long_past(app, query, frozen):
    make_plan(app, make_account(app), "installment", "en")
    reminder_day = FIRST_DUE - timedelta(days=3)
    frozen.set(at_noon(reminder_day + timedelta(days=1)))
    assert run(app, reminder_day)["reminders_queued"] == 0  # a day late: "due in 3 days" is already untrue
    frozen.set(at_noon(reminder_day))
    assert run(app, reminder_day)["reminders_queued"] == 1
    (reminder,) = query(select(OutboxMessage).where(OutboxMessage.kind == "plan_reminder"))
    assert reminder.dedupe_key is not None and reminder.dedupe_key.endswith(":-3")


def test_a_snapshot_dates_the_days_past_due_it_sets_where_the_account_is(app, query, frozen):
    app.config["API_SECRETS"] = (SECRET,)
    try:
        make_account(app, reference="DEMO0001")
        # 23:30 UTC on the 27th is already the 28th in Shanghai, where the account is.
        assert ApiClient(app).put_snapshot("DEMO0001", snapshot(as_of="2026-11-27T23:30:00+00:00")).status_code == 200
    finally:
        app.config["API_SECRETS"] = ()
    (account,) = query(select(CardAccount))
    assert account.days_past_due == 40 and account.days_past_due_as_of == date(2026, 11, 28)
    run(app, date(2026, 11, 30))
    (account,) = query(select(CardAccount))
    assert account.days_past_due == 42


def test_a_day_still_to_come_is_refused_in_production_and_said_aloud_elsewhere(app, query, frozen):
    plan = make_plan(app, make_account(app), "installment", "en")
    frozen.set(at_noon(FIRST_DUE))
    later = (FIRST_DUE + timedelta(days=60)).isoformat()
    runner = app.test_cli_runner()
    app.config["PORTAL_ENV"] = "production"
    try:
        refused = runner.invoke(args=["portal", "servicing", "run", "--date", later, "--json"])
    finally:
        app.config["PORTAL_ENV"] = "testing"
    assert refused.exit_code == 2 and "--allow-future" in refused.output
    (account,) = query(select(CardAccount))
    assert account.days_past_due_as_of is None and query(select(PlanEvent)) == []
    from portal.plans.models import Plan

    assert query(select(Plan.state).where(Plan.id == plan)) == ["active"]
    rehearsal = runner.invoke(args=["portal", "servicing", "run", "--date", later])
    assert rehearsal.exit_code == 0 and "a day still to come" in rehearsal.output
