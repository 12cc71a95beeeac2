"""Payments and plan progress on the cardholder's account page and the care case file,
the reference to quote wherever we say how to pay, and the queues' "plan broken" mark."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import event, select

from portal.extensions import db
from portal.payments.models import Payment
from portal.payments.service import reallocate_plans
from portal.plans.models import Plan, PlanInstallment
from portal.staff.models import Role
from tests.conftest import make_account, unit
from tests.plan_factories import make_pending_agreement, make_plan
from tests.staff_helpers import signed_in_staff


def totals(app, plan_id) -> list[Decimal]:
    with app.app_context():
        query = select(PlanInstallment.total).where(PlanInstallment.plan_id == plan_id).order_by(PlanInstallment.number)
        return [amount.quantize(Decimal("0.01")) for amount in db.session.execute(query).scalars()]


def pay(app, account_id, plan_id, amount, day=date(2026, 12, 27), status="posted") -> int:
    """A payment on the plan, allocated to its installments as an import would."""
    with unit(app):
        payment = Payment(
            account_id=account_id,
            plan_id=plan_id,
            paid_at=datetime(day.year, day.month, day.day, 2, tzinfo=UTC),
            amount=amount,
            currency="CNY",
            method="bank_transfer",
            status=status,
            source="camt053",
            match_basis="account_reference",
            booking_date=day,
        )
        db.session.add(payment)
        db.session.flush()
        reallocate_plans([plan_id])
        return payment.id


def set_state(app, plan_id, state) -> None:
    with app.app_context():
        db.session.get(Plan, plan_id).state = state
        db.session.commit()


def plan_with_three_paid(app):
    account = make_account(app, reference="DEMO0001")
    plan = make_plan(app, account, "installment", "en", months=12)
    for n, amount in enumerate(totals(app, plan)[:3]):
        pay(app, account, plan, amount, day=date(2026, 12 + n, 27) if n == 0 else date(2027, n, 27))
    return account, plan


def test_the_account_page_shows_progress_the_next_payment_and_a_late_one_calmly(app, auth, frozen):
    _account, plan = plan_with_three_paid(app)
    frozen.set(datetime(2027, 3, 30, 4, tzinfo=UTC))  # the 4th (28 Mar) is late, still in the grace days
    auth.sign_in()
    html = auth.client.get("/account").get_data(as_text=True)
    assert "3 of 12 payments made" in html
    fourth = totals(app, plan)[3]
    assert f"CN¥{fourth:,}" in html
    assert "Your payment due on 28 March 2027 has not reached us yet." in html
    assert "If you pay it by 7 April 2027, it still counts as on time." in html
    assert "default" not in html.lower()


def test_a_missed_payment_is_named_calmly_with_a_way_to_talk(app, auth, frozen):
    _account, plan = plan_with_three_paid(app)
    frozen.set(datetime(2027, 4, 10, 4, tzinfo=UTC))  # the 4th is past its grace days
    auth.sign_in()
    html = auth.client.get("/account").get_data(as_text=True)
    fourth = totals(app, plan)[3]
    assert f"CN¥{fourth:,} of your plan payments has not reached us yet." in html
    assert "We can often change the plan." in html
    assert "See your options and choose a plan" not in html


def test_a_completed_plan_is_congratulated(app, auth, frozen):
    account = make_account(app, reference="DEMO0001")
    plan = make_plan(app, account, "installment", "en", months=3)
    pay(app, account, plan, sum(totals(app, plan), Decimal(0)))
    set_state(app, plan, "completed")
    auth.sign_in()
    html = auth.client.get("/account").get_data(as_text=True)
    assert "Your plan is complete" in html and "3 of 3 payments made" in html
    assert "Well done, and thank you." in html


def test_a_broken_plan_says_why_and_what_to_do_next(app, auth, frozen):
    account = make_account(app, reference="DEMO0001")
    plan = make_plan(app, account, "installment", "en", months=12)
    set_state(app, plan, "broken")
    frozen.set(datetime(2027, 2, 10, 4, tzinfo=UTC))  # the first two are past their grace days
    auth.sign_in()
    html = auth.client.get("/account").get_data(as_text=True)
    assert "Your plan has ended" in html
    assert "2 payments in a row were not made." in html
    assert "call us free on" in html.lower() or "Call us free on" in html
    assert "See your options and choose a plan" in html  # choosing again is offered


def test_a_payment_the_bank_sent_back_is_shown_as_such(app, auth, frozen):
    account, plan = plan_with_three_paid(app)
    pay(app, account, plan, Decimal("123.45"), day=date(2027, 1, 2), status="reversed")
    auth.sign_in()
    html = auth.client.get("/account").get_data(as_text=True)
    assert "<s>CN¥123.45</s>" in html and "Sent back by the bank" in html


def test_the_account_page_stays_cheap_however_long_the_plan(app, auth, frozen):
    account = make_account(app, reference="DEMO0001")
    make_plan(app, account, "personalised", "en", months=60)
    auth.sign_in()
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def note(_conn, _cursor, statement, *_args):
        if not statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert auth.client.get("/account").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    # session, account, cardholder, the plan with its installments and agreement, payments
    assert len(statements) <= 5, statements


def test_every_how_to_pay_quotes_the_account_reference(app, auth, frozen):
    account = make_account(app, reference="DEMO0001")
    plan = make_plan(app, account, "installment", "en", months=12)
    make_pending_agreement(app, plan)
    auth.sign_in()
    for path in ("/account", f"/plan/{plan}/done"):
        html = auth.client.get(path).get_data(as_text=True)
        assert '<p class="pay-ref"><code>DEMO0001</code></p>' in html, path
        assert "card ending" not in html.lower().replace("card ending 0017</p>", ""), path


def test_a_plan_promises_only_reminders_not_silence(app, auth, frozen):
    # Plan reminders go before, on and after each due date even to someone keeping
    # the plan, so no page may say we will not contact them.
    account = make_account(app, reference="DEMO0001")
    plan = make_plan(app, account, "installment", "en", months=12)
    make_pending_agreement(app, plan)
    auth.sign_in()
    for path in ("/account", f"/plan/{plan}/done"):
        html = auth.client.get(path).get_data(as_text=True)
        assert "we will only contact you to remind you of your payments." in html, path
        assert "will not contact you" not in html, path


def test_the_agreement_says_which_reference_to_quote(app):
    from portal.agreements.models import Agreement
    from portal.agreements.render import render_html

    account = make_account(app, reference="DEMO0001")
    agreement_id = make_pending_agreement(app, make_plan(app, account, "installment", "zh_Hans", months=6))
    with app.app_context():
        html = render_html(db.session.get(Agreement, agreement_id))
    assert '<code class="ref">DEMO0001</code>' in html


def test_the_case_file_shows_progress_payments_and_why_a_plan_broke(app, client, frozen):
    account, plan = plan_with_three_paid(app)
    frozen.set(datetime(2027, 6, 10, 4, tzinfo=UTC))
    set_state(app, plan, "broken")
    signed_in_staff(app, client, Role.AGENT)
    html = client.get(f"/care/accounts/{account}").get_data(as_text=True)
    assert "3 of 12 payments made" in html
    assert "Why it broke: 2 payments in a row were not made." in html
    assert '<span class="flag flag-plan-broken">Plan broken</span>' in html
    panel = html[html.index('id="payments"') :].split("</section>")[0]
    assert panel.count("<li>") == 3 and f"CN¥{totals(app, plan)[0]:,}" in panel


def test_the_case_file_says_when_an_active_plan_is_broken_by_its_rules(app, client, frozen):
    account, _plan = plan_with_three_paid(app)
    frozen.set(datetime(2027, 5, 10, 4, tzinfo=UTC))  # 4th and 5th missed: broken by the rules
    signed_in_staff(app, client, Role.SUPERVISOR)
    html = client.get(f"/care/accounts/{account}").get_data(as_text=True)
    assert "Broken by its rules today: 2 payments in a row were not made." in html
    assert "2 not paid after the grace days" in html


def test_the_queue_marks_accounts_whose_latest_plan_broke(app, client, frozen):
    from portal.audit.service import SYSTEM
    from portal.policies.service import ensure_default_policy

    with unit(app):
        ensure_default_policy(SYSTEM)
    broken = make_account(app, card="6222000000000017", reference="BROKE001", dpd=40)
    again = make_account(app, card="6222000000000025", reference="AGAIN001", dpd=41)
    make_account(app, card="6222000000000033", reference="PLAIN001", dpd=42)
    set_state(app, make_plan(app, broken, "installment", "en"), "broken")
    set_state(app, make_plan(app, again, "installment", "en"), "broken")
    make_plan(app, again, "installment", "en")  # a newer plan: the mark goes
    signed_in_staff(app, client, Role.AGENT)
    html = client.get("/care/?tier=all").get_data(as_text=True)
    rows = {ref: html[html.index(f">{ref}<") :].split("</tr>")[0] for ref in ("BROKE001", "AGAIN001", "PLAIN001")}
    assert "Plan broken" in rows["BROKE001"]
    assert "Plan broken" not in rows["AGAIN001"]
    assert "Plan broken" not in rows["PLAIN001"]
    filtered = client.get("/care/?tier=all&flag=plan_broken").get_data(as_text=True)
    assert ">BROKE001<" in filtered and ">AGAIN001<" not in filtered and ">PLAIN001<" not in filtered


def test_the_reason_the_daily_run_wrote_wins_over_judging_today(app, frozen):
    from portal.plans.progress import plan_progress

    account = make_account(app, reference="DEMO0001")
    plan_id = make_plan(app, account, "installment", "en", months=12)
    set_state(app, plan_id, "broken")
    with app.test_request_context():
        plan = db.session.get(Plan, plan_id)
        judged = plan_progress(plan, date(2027, 2, 10))
        assert judged.reason_text() == "2 payments in a row were not made."
        written = plan_progress(plan, date(2027, 2, 10), broken_reason="days_late")
        assert written.reason_text() == "A payment was more than 30 days late."
