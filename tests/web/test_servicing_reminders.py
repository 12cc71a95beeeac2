"""Reminders of plan installments and promises, and the message after a broken plan.

Run on SQLite and on PostgreSQL (``PORTAL_TEST_PG_DB``): the reminder query and its
insert-or-skip are dialect-specific.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from portal.audit.service import SYSTEM
from portal.cases.models import CaseEvent, Promise
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.notifications.service import check_contact
from portal.plans.models import Plan, PlanInstallment
from portal.policies.cache import policy_cache
from portal.policies.models import PolicyState, PolicyVersion
from portal.policies.service import ensure_default_policy
from portal.servicing.broken import queue_broken_plan_message
from portal.servicing.reminders import queue_reminders
from tests.conftest import make_account, unit
from tests.plan_factories import FIRST_DUE, make_plan

REFERENCE = "DEMO0001"


@pytest.fixture
def plan_id(app, frozen):
    account_id = make_account(app, reference=REFERENCE)
    return make_plan(app, account_id, "installment", "en", months=6)


def messages(app, kind: str | None = None) -> list[OutboxMessage]:
    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        found = list(db.session.execute(query).scalars())
        db.session.expunge_all()
        return found


def run(app, day: date) -> int:
    with unit(app):
        return queue_reminders(day)


def account_of(app, plan_id: int) -> int:
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        assert plan is not None
        return plan.account_id


def set_flags(app, account_id: int, flags: list[str]) -> None:
    from portal.accounts.models import CardAccount

    with app.app_context():
        db.session.execute(update(CardAccount).where(CardAccount.id == account_id).values(flags=flags))
        db.session.commit()


# --- plan reminders -----------------------------------------------------------------------


def test_three_days_before_a_due_date_one_calm_text_with_amount_date_and_reference(app, plan_id):
    assert run(app, FIRST_DUE - timedelta(days=3)) == 1
    (message,) = messages(app)
    assert (message.kind, message.channel, message.status, message.collection) == (
        "plan_reminder",
        "sms",
        "queued",
        True,
    )
    assert message.recipient == "+86 138 0000 0001"
    with app.app_context():
        first = db.session.execute(
            select(PlanInstallment).where(PlanInstallment.plan_id == plan_id, PlanInstallment.number == 1)
        ).scalar_one()
        amount = f"{first.total:,.2f}"
    assert amount in message.body
    assert "28 December 2026" in message.body
    assert REFERENCE in message.body
    assert "Reply STOP to stop these texts." in message.body
    assert message.dedupe_key == f"reminder:installment:{first.id}:-3"


def test_running_the_same_day_twice_queues_nothing_new(app, plan_id):
    day = FIRST_DUE - timedelta(days=3)
    assert run(app, day) == 1
    assert run(app, day) == 0
    assert len(messages(app)) == 1


def test_on_the_day_and_three_days_after_while_unpaid(app, plan_id):
    assert run(app, FIRST_DUE) == 1
    assert "due today" in messages(app)[-1].body
    with app.app_context():
        db.session.execute(
            update(PlanInstallment)
            .where(PlanInstallment.plan_id == plan_id, PlanInstallment.number == 1)
            .values(paid=Decimal("100.00"))
        )
        db.session.commit()
        first = db.session.execute(
            select(PlanInstallment).where(PlanInstallment.plan_id == plan_id, PlanInstallment.number == 1)
        ).scalar_one()
        left = first.total - first.paid
    assert run(app, FIRST_DUE + timedelta(days=3)) == 1
    late = messages(app)[-1]
    assert f"{left:,.2f}" in late.body  # the amount still due, not the whole installment
    assert "If you have paid, thank you." in late.body
    assert "400 000 0000" in late.body
    # Other days of the month get nothing.
    assert run(app, FIRST_DUE + timedelta(days=1)) == 0
    assert run(app, FIRST_DUE - timedelta(days=2)) == 0


def test_a_paid_installment_gets_no_reminder(app, plan_id):
    with app.app_context():
        db.session.execute(
            update(PlanInstallment)
            .where(PlanInstallment.plan_id == plan_id, PlanInstallment.number == 1)
            .values(paid=PlanInstallment.total)
        )
        db.session.commit()
    assert run(app, FIRST_DUE) == 0
    assert messages(app) == []


def test_a_broken_or_completed_plan_gets_no_reminder(app, plan_id):
    with app.app_context():
        db.session.execute(update(Plan).where(Plan.id == plan_id).values(state="broken"))
        db.session.commit()
    assert run(app, FIRST_DUE) == 0


def test_an_active_plan_does_not_silence_its_reminders_but_still_blocks_other_collection(app, plan_id):
    account_id = account_of(app, plan_id)
    assert run(app, FIRST_DUE) == 1
    assert messages(app)[0].status == "queued"
    from portal.accounts.models import CardAccount

    with app.app_context():
        account = db.session.get(CardAccount, account_id)
        assert check_contact(account, "sms", kind="plan_reminder").action == "send"
        assert check_contact(account, "sms", kind="plan_link").reason == "active_plan"
        assert check_contact(account, "sms").reason == "active_plan"


def test_texts_refused_the_reminder_goes_by_email_with_its_unsubscribe_link(app, plan_id):
    set_flags(app, account_of(app, plan_id), ["optout_sms"])
    assert run(app, FIRST_DUE) == 1
    (message,) = messages(app)
    assert (message.channel, message.recipient) == ("email", "li.na@example.com")
    assert message.subject == "A reminder about your payment"
    assert "To stop these e-mails: http" in message.body
    assert REFERENCE in message.body


def test_do_not_contact_blocks_the_reminder_and_the_case_file_shows_it(app, plan_id):
    account_id = account_of(app, plan_id)
    set_flags(app, account_id, ["do_not_contact"])
    assert run(app, FIRST_DUE) == 0
    (message,) = messages(app)
    assert (message.status, message.blocked_reason) == ("blocked", "do_not_contact")
    with app.app_context():
        kinds = db.session.execute(select(CaseEvent.kind).where(CaseEvent.account_id == account_id)).scalars().all()
    assert "message_blocked" in kinds
    assert run(app, FIRST_DUE) == 0  # tried once a day, not again
    assert len(messages(app)) == 1


def test_outside_contact_hours_the_reminder_is_held_until_morning(app, plan_id, frozen):
    frozen.set(datetime(2026, 11, 28, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai
    assert run(app, FIRST_DUE) == 1
    (message,) = messages(app)
    assert message.held_reason == "outside_hours"
    assert message.send_after == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


def test_the_weekly_cap_holds_for_reminders(app, plan_id, frozen):
    account_id = account_of(app, plan_id)
    with app.app_context():
        for n in range(7):
            db.session.add(
                OutboxMessage(
                    account_id=account_id,
                    kind="plan_link",
                    channel="sms",
                    recipient="x",
                    locale="en",
                    body="b",
                    status="sent",
                    collection=True,
                    sent_at=datetime(2026, 11, 27, 1, n, tzinfo=UTC),
                )
            )
        db.session.commit()
    assert run(app, FIRST_DUE) == 0
    assert messages(app, "plan_reminder")[0].blocked_reason == "weekly_cap"


def test_the_reminder_is_in_the_cardholders_language(app, frozen):
    account_id = make_account(app, reference=REFERENCE, locale="zh_Hans")
    make_plan(app, account_id, "installment", "zh_Hans", months=6)
    assert run(app, FIRST_DUE - timedelta(days=3)) == 1
    (message,) = messages(app)
    assert message.locale == "zh_Hans"
    assert "2026年12月28日" in message.body
    assert REFERENCE in message.body
    assert "提醒" in message.body


def test_the_cadence_is_the_tiers_policy(app, plan_id):
    with app.app_context():
        version = db.session.execute(
            select(PolicyVersion).where(PolicyVersion.state == PolicyState.ACTIVE, PolicyVersion.currency == "CNY")
        ).scalar_one()
        document = dict(version.document)
        tiers = [dict(t) for t in document["tiers"]]
        for tier in tiers:  # the plan was made in M2
            if tier["name"] == "M2":
                tier["reminders"] = {"days_before": 5, "on_due_date": False, "days_after": 0}
        version.document = {**document, "tiers": tiers}
        db.session.commit()
        policy_cache().clear()
    assert run(app, FIRST_DUE - timedelta(days=3)) == 0
    assert run(app, FIRST_DUE) == 0
    assert run(app, FIRST_DUE + timedelta(days=3)) == 0
    assert run(app, FIRST_DUE - timedelta(days=5)) == 1


# --- promise reminders --------------------------------------------------------------------


def add_promise(app, account_id: int, pay_by: date, amount: str = "2000.00") -> int:
    with app.app_context():
        promise = Promise(account_id=account_id, amount=Decimal(amount), currency="CNY", pay_by=pay_by)
        db.session.add(promise)
        db.session.commit()
        return promise.id


def test_an_open_promise_is_reminded_of_what_is_left_to_pay(app, frozen):
    from portal.payments.models import Payment

    account_id = make_account(app, reference=REFERENCE)
    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()
    pay_by = date(2026, 12, 5)
    promise_id = add_promise(app, account_id, pay_by)
    with app.app_context():
        db.session.add(
            Payment(
                account_id=account_id,
                paid_at=datetime(2026, 11, 29, tzinfo=UTC),
                amount=Decimal("500.00"),
                currency="CNY",
                method="transfer",
                booking_date=date(2026, 11, 29),
            )
        )
        db.session.commit()
    assert run(app, pay_by - timedelta(days=3)) == 1
    (message,) = messages(app)
    assert message.kind == "promise_reminder"
    assert "1,500.00" in message.body
    assert "5 December 2026" in message.body and REFERENCE in message.body
    assert message.dedupe_key == f"reminder:promise:{promise_id}:-3"
    assert run(app, pay_by - timedelta(days=3)) == 0


def test_a_kept_promise_gets_no_reminder(app, frozen):
    account_id = make_account(app, reference=REFERENCE)
    promise_id = add_promise(app, account_id, date(2026, 12, 5))
    with app.app_context():
        db.session.execute(update(Promise).where(Promise.id == promise_id).values(state="kept"))
        db.session.commit()
    assert run(app, date(2026, 12, 5)) == 0


# --- the message after a broken plan --------------------------------------------------------


def break_plan(app, plan_id: int) -> None:
    with app.app_context():
        db.session.execute(
            update(Plan)
            .where(Plan.id == plan_id)
            .values(state="broken", ended_at=datetime(2026, 11, 28, 1, tzinfo=UTC))
        )
        db.session.commit()


def test_a_broken_plan_gets_one_calm_message_offering_to_talk_or_choose_again(app, plan_id):
    break_plan(app, plan_id)
    with unit(app):
        queue_broken_plan_message(plan_id)
    with unit(app):
        queue_broken_plan_message(plan_id)  # the run repeated: nothing new
    (message,) = messages(app)
    assert (message.kind, message.channel, message.status, message.collection) == ("plan_broken", "sms", "queued", True)
    assert message.dedupe_key == f"broken:plan:{plan_id}"
    body = message.body
    assert "has ended because payments were missed" in body
    assert "400 000 0000" in body
    assert "http://localhost/plan" in body or "/plan " in body
    assert "Reply STOP to stop these texts." in body
    for word in ("legal", "court", "debt collector", "must", "immediately", "final"):
        assert word not in body.lower()


def test_the_broken_plan_message_by_email_in_hong_kong_gives_the_hong_kong_number(app, frozen):
    account_id = make_account(app, reference=REFERENCE, jurisdiction="HK", flags=["optout_sms"], locale="zh_Hant")
    plan_id = make_plan(app, account_id, "installment", "zh_Hant", months=6)
    break_plan(app, plan_id)
    with unit(app):
        queue_broken_plan_message(plan_id)
    (message,) = messages(app)
    assert message.channel == "email" and message.subject
    assert "+852 3000 0000" in message.body
    assert "400 000 0000" not in message.body


def test_the_broken_plan_message_obeys_the_contact_rules(app, plan_id):
    break_plan(app, plan_id)
    set_flags(app, account_of(app, plan_id), ["do_not_contact"])
    with unit(app):
        queue_broken_plan_message(plan_id)
    (message,) = messages(app)
    assert (message.status, message.blocked_reason) == ("blocked", "do_not_contact")


def test_no_message_for_a_plan_that_is_not_broken(app, plan_id):
    with unit(app):
        queue_broken_plan_message(plan_id)
    assert messages(app) == []


def test_the_worker_sends_a_reminder_while_the_plan_is_active(app, plan_id):
    from portal.notifications.delivery import deliver_due

    assert run(app, FIRST_DUE) == 1
    with app.app_context():
        report = deliver_due("test-worker")
    assert (report.sent, report.blocked) == (1, 0)
    assert messages(app)[0].status == "sent"
