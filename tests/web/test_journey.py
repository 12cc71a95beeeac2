"""The cardholder journey through the real pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.cases.models import CaseEvent, Promise
from portal.plans.models import Plan, PlanInstallment, Signature
from tests.conftest import csrf_token, make_account


@pytest.fixture
def policy(app):
    from portal.audit.service import SYSTEM
    from portal.extensions import db
    from portal.policies.service import ensure_default_policy

    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()


def fingerprints(html: str) -> list[str]:
    return re.findall(r"/plan/offers/([0-9a-f]{64})", html)


def post(client, url, data):
    token = csrf_token(client.get(url).data)
    return client.post(url, data={"csrf_token": token, **data})


def test_reason_budget_offers_accept_done(app, client, auth, policy, query):
    account_id = make_account(app, dpd=35)
    auth.sign_in()
    start = client.get("/plan")
    assert start.status_code == 200 and "What made repaying hard?" in start.get_data(as_text=True)
    response = client.post("/plan/reason", data={"csrf_token": csrf_token(start.data), "reason": "illness"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/plan/budget")

    response = post(client, "/plan/budget", {"earnings": "9,000", "housing": "3000", "food_housekeeping": "1500.50"})
    assert response.status_code == 302
    offers = client.get("/plan/offers").get_data(as_text=True)
    assert "a plan should ask no more than" in offers and "Annualised rate" in offers
    found = fingerprints(offers)
    assert found
    detail = client.get(f"/plan/offers/{found[0]}").get_data(as_text=True)
    assert "Your payments" in detail

    accept_url = f"/plan/offers/{found[0]}/accept"
    page = client.get(accept_url)
    assert "paper copy" in page.get_data(as_text=True)
    wrong = client.post(
        accept_url, data={"csrf_token": csrf_token(page.data), "full_name": "Someone Else", "consent": "y"}
    )
    assert wrong.status_code == 422 and "does not match" in wrong.get_data(as_text=True)
    assert query(select(Plan)) == []

    signed = client.post(
        accept_url, data={"csrf_token": csrf_token(page.data), "full_name": "  li   NA ", "consent": "y"}
    )
    assert signed.status_code == 302 and "/done" in signed.headers["Location"]
    plan = query.one(select(Plan))
    assert plan.state == "active" and plan.account_id == account_id and plan.policy_version_id
    installments = query(select(PlanInstallment).where(PlanInstallment.plan_id == plan.id))
    assert sum(i.total for i in installments) + Decimal(plan.terms["down_payment"]) == plan.total_repaid
    signature = query.one(select(Signature))
    assert signature.typed_name == "li NA" and len(signature.consent_sha256) == 64
    assert signature.offer_fingerprint == found[0] == plan.fingerprint
    kinds = {e.kind for e in query(select(CaseEvent))}
    assert {"reason", "budget", "plan_accepted"} <= kinds
    assert "plan.accepted" in {e.action for e in query(select(AuditEvent))}

    done = client.get(signed.headers["Location"]).get_data(as_text=True)
    assert "Your next payment" in done and "How to pay" in done

    # A repeated submit (double tap, back button) returns the same plan, never a second one.
    again = client.post(accept_url, data={"csrf_token": csrf_token(page.data), "full_name": "Li Na", "consent": "y"})
    assert again.status_code == 302 and again.headers["Location"] == signed.headers["Location"]
    assert query.one(select(func.count()).select_from(Plan)) == 1
    # Offers are no longer shown once a plan is active.
    assert client.get("/plan/offers").status_code == 302


def test_consent_must_be_ticked(app, client, auth, policy, query):
    make_account(app, dpd=35)
    auth.sign_in()
    fp = fingerprints(client.get("/plan/offers").get_data(as_text=True))[0]
    response = post(client, f"/plan/offers/{fp}/accept", {"full_name": "Li Na"})
    assert response.status_code == 422 and "Tick the box" in response.get_data(as_text=True)
    assert query(select(Plan)) == []


def test_changed_offer_is_refused_and_fresh_offers_shown(app, client, auth, policy, query):
    make_account(app, dpd=35)
    auth.sign_in()
    fp = fingerprints(client.get("/plan/offers").get_data(as_text=True))[0]
    page = client.get(f"/plan/offers/{fp}/accept")
    # The balance changes (a payment arrived) between showing and accepting.
    from portal.accounts.models import CardAccount

    query.run(lambda s: setattr(s.execute(select(CardAccount)).scalar_one(), "principal", Decimal("9000.00")))
    response = client.post(
        f"/plan/offers/{fp}/accept", data={"csrf_token": csrf_token(page.data), "full_name": "Li Na", "consent": "y"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/plan/offers")
    assert "Something changed" in client.get("/plan/offers").get_data(as_text=True)
    assert query(select(Plan)) == []


def test_unknown_fingerprint_and_other_accounts_plan(app, client, auth, policy):
    make_account(app, dpd=35)
    auth.sign_in()
    assert client.get("/plan/offers/" + "0" * 64).status_code == 302
    assert client.get("/plan/999999/done").status_code == 404


def test_promise_to_pay_limits(app, client, auth, policy, query, frozen):
    make_account(app, dpd=35)
    auth.sign_in()
    too_late = post(client, "/plan/promise", {"amount": "500", "pay_by": "2027-06-01"})
    assert too_late.status_code == 422 and "Choose a date within" in too_late.get_data(as_text=True)
    too_small = post(client, "/plan/promise", {"amount": "1", "pay_by": "2026-12-05"})
    assert too_small.status_code == 422 and "at least" in too_small.get_data(as_text=True)
    ok = post(client, "/plan/promise", {"amount": "500", "pay_by": "2026-12-05"})
    assert ok.status_code == 302
    promise = query.one(select(Promise))
    assert promise.amount == Decimal("500.00") and promise.pay_by.isoformat() == "2026-12-05"


def test_personalised_request_waits_for_a_supervisor_then_is_signed(app, client, auth, policy, query):
    make_account(app, dpd=95, principal="30000.00")
    auth.sign_in()
    post(client, "/plan/budget", {"earnings": "3000", "housing": "2500", "food_housekeeping": "800"})
    offers = client.get("/plan/offers").get_data(as_text=True)
    assert "None of these plans fits your budget right now" in offers
    personalised = [
        fp
        for fp in fingerprints(offers)
        if "Ask for this plan" in client.get(f"/plan/offers/{fp}").get_data(as_text=True)
    ]
    assert personalised
    fp = personalised[0]
    missing_reason = post(client, f"/plan/offers/{fp}/request", {"confirm": "y"})
    assert missing_reason.status_code == 422
    sent = post(client, f"/plan/offers/{fp}/request", {"confirm": "y", "reason": "lost_job"})
    assert sent.status_code == 302
    plan = query.one(select(Plan))
    assert plan.state == "pending_approval" and plan.hardship["reason"] == "lost_job"
    assert plan.hardship["budget"]["earnings"] == "3000.00"
    assert "Our team is looking at it" in client.get("/plan").get_data(as_text=True)

    from portal.audit.service import Actor
    from portal.plans.requests import Decision, decide_request, request_digest

    query.run(
        lambda s: decide_request(
            plan.id, Decision(True, request_digest(s.get(Plan, plan.id)), "documents seen"), Actor("staff", "7")
        )
    )
    assert "was approved" in client.get("/plan").get_data(as_text=True)
    signed = post(client, f"/plan/{plan.id}/sign", {"full_name": "Li Na", "consent": "y"})
    assert signed.status_code == 302
    assert query.one(select(Plan.state)) == "active"


def test_rating_is_saved_to_the_case_file(app, client, auth, policy, query):
    make_account(app, dpd=35)
    auth.sign_in()
    fp = fingerprints(client.get("/plan/offers").get_data(as_text=True))[0]
    done = post(client, f"/plan/offers/{fp}/accept", {"full_name": "Li Na", "consent": "y"}).headers["Location"]
    plan_id = int(done.split("/")[-2])
    bad = post(client, done.replace("/done", "/rating"), {"rating": "9"})
    assert bad.status_code == 422
    good = post(client, done.replace("/done", "/rating"), {"rating": "5", "comment": "<b>kind</b>"})
    assert good.status_code == 302
    event = query.one(select(CaseEvent).where(CaseEvent.kind == "rating"))
    assert event.data == {"plan": plan_id, "rating": 5, "comment": "<b>kind</b>"}


def test_journey_pages_need_a_cardholder(client):
    for url in ["/plan", "/plan/offers", "/plan/budget", "/plan/promise"]:
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_a_rating_comment_is_kept_as_one_line_without_card_or_phone_numbers(app, client, auth, policy, query):
    make_account(app, dpd=35)
    auth.sign_in()
    fp = fingerprints(client.get("/plan/offers").get_data(as_text=True))[0]
    done = post(client, f"/plan/offers/{fp}/accept", {"full_name": "Li Na", "consent": "y"}).headers["Location"]
    page = client.get(done).get_data(as_text=True)
    assert re.search(r'<input[^>]*name="comment"[^>]*type="text"', page) and "<textarea" not in page  # one line
    too_long = post(client, done.replace("/done", "/rating"), {"rating": "4", "comment": "x" * 201})
    assert too_long.status_code == 422 and "Please keep it to one short line." in too_long.get_data(as_text=True)
    typed = "Quick.\nCard 6222 0212 3456 7890, call me on +86 138 0013 8000 after 6"
    assert post(client, done.replace("/done", "/rating"), {"rating": "4", "comment": typed}).status_code == 302
    event = query.one(select(CaseEvent).where(CaseEvent.kind == "rating"))
    assert event.data["comment"] == "Quick. Card •••, call me on ••• after 6"


def test_offer_cards_speak_each_language_in_turn(app, client, auth, policy):
    # The card's fixed words are folded into each language's compiled template: switching
    # language between two pages must switch them too, and a budget marks what fits.
    make_account(app, dpd=35)
    auth.sign_in()
    post(client, "/plan/budget", {"earnings": "9000", "housing": "3000", "food_housekeeping": "1500"})
    for code, words in (
        ("zh_Hans", ("还款次数", "需还总额", "查看详情", "在您的承受范围内")),
        ("en", ("Number of payments", "Total to repay", "See details", "Fits your budget")),
        ("zh_Hant", ("還款次數", "還款總額", "查看詳情", "適合您的預算")),
    ):
        client.get(f"/language/{code}?next=/plan/offers")
        html = client.get("/plan/offers").get_data(as_text=True)
        for word in words:
            assert word in html, (code, word)
