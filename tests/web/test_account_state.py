"""The account page and the journey tell the truth about a plan or a promise (issue 11)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.cases.models import Promise
from portal.extensions import db
from portal.plans.models import Plan
from tests.conftest import make_account
from tests.plan_factories import make_plan, make_signed_agreement
from tests.web.test_journey import fingerprints, policy, post  # noqa: F401 - policy is a fixture


def set_state(app, plan_id: int, state: str) -> None:
    with app.app_context():
        db.session.get(Plan, plan_id).state = state
        db.session.commit()


def test_with_an_active_plan_the_account_page_shows_the_plan_not_choose_a_plan(app, client, auth):
    account_id = make_account(app)
    _agreement_id, reference = make_signed_agreement(app, account_id)
    with app.app_context():
        plan = db.session.execute(select(Plan)).scalar_one()
        plan_id, count = plan.id, len(plan.installments)
        first = sorted(plan.installments, key=lambda i: i.number)[0]
        first.paid = first.total  # one payment made
        db.session.commit()
    auth.sign_in()
    html = client.get("/account").get_data(as_text=True)
    assert "See your options and choose a plan" not in html
    assert "Your next payment" in html and f"/agreements/{reference}" in html
    assert f"1 of {count} payments made" in html
    assert f"/plan/{plan_id}/done" in html


def test_with_a_pending_request_the_account_page_shows_its_status_and_links_to_it(app, client, auth, policy):  # noqa: F811
    account_id = make_account(app)
    set_state(app, make_plan(app, account_id, "installment", "en"), "pending_approval")
    auth.sign_in()
    html = client.get("/account").get_data(as_text=True)
    assert "Our team is looking at your request" in html and 'href="/plan"' in html
    assert "See your options and choose a plan" not in html


def test_with_a_promise_the_account_page_shows_it(app, client, auth, frozen):
    account_id = make_account(app)
    with app.app_context():
        db.session.add(Promise(account_id=account_id, amount="500.00", currency="CNY", pay_by=date(2026, 12, 5)))
        db.session.commit()
    auth.sign_in()
    html = client.get("/account").get_data(as_text=True)
    assert "Your promise to pay" in html and "CN¥500.00" in html and "5 December 2026" in html


def test_the_minimum_due_and_overdue_figures_are_each_explained(app, client, auth):
    make_account(app)
    auth.sign_in()
    html = client.get("/account").get_data(as_text=True)
    assert "past minimum payments that you have not paid yet" in html
    assert "overdue amount plus this month's minimum payment" in html


def test_after_a_promise_the_cardholder_sees_what_they_promised_not_step_one(app, client, auth, policy, frozen):  # noqa: F811
    make_account(app)
    auth.sign_in()
    form = client.get("/plan/promise").get_data(as_text=True)
    # The limits are stated before anything is typed: 20 % of CN¥2,000.00 overdue, 14 days from 28 Nov.
    assert "Pay at least</dt><dd>CN¥400.00" in form and "at the latest</dt><dd>12 December 2026" in form
    made = post(client, "/plan/promise", {"amount": "500", "pay_by": "2026-12-05"})
    assert made.status_code == 302 and "/plan/promise/" in made.headers["Location"]
    page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "Your promise is noted" in page and "CN¥500.00" in page and "5 December 2026" in page
    assert "How to pay" in page and "What happens next" in page and "Step 1 of 4" not in page


def test_someone_else_s_promise_is_not_found(app, client, auth):
    other = make_account(app, card="6222000000000025", reference="OTHER")
    with app.app_context():
        promise = Promise(account_id=other, amount="500.00", currency="CNY", pay_by=date(2026, 12, 5))
        db.session.add(promise)
        db.session.commit()
        promise_id = promise.id
    make_account(app)
    auth.sign_in()
    assert client.get(f"/plan/promise/{promise_id}").status_code == 404


def test_a_second_plan_is_refused_with_the_plan_already_held(app, client, auth, policy):  # noqa: F811
    make_account(app)
    auth.sign_in()
    offers = fingerprints(client.get("/plan/offers").get_data(as_text=True))
    first, second = offers[0], offers[1]
    assert post(client, f"/plan/offers/{first}/accept", {"full_name": "Li Na", "consent": "y"}).status_code == 302
    for url in (f"/plan/offers/{second}", f"/plan/offers/{second}/accept", f"/plan/offers/{second}/request"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/plan"), url
        page = client.get("/plan").get_data(as_text=True)
        assert "You already have a plan with us" in page and "Something changed" not in page
        assert "Your plan is active" in page
