"""Requests for plans that need approval, end to end through the pages: request (any plan
type), withdraw, approve at personal terms, decline with a reason, the digest of what the
supervisor saw, the dispute pause, and the service messages the cardholder gets."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.notifications.models import OutboxMessage
from portal.plans.models import Plan
from portal.staff.models import Role
from tests.conftest import csrf_token, make_account
from tests.staff_helpers import signed_in_staff


@pytest.fixture
def policy(app):
    from portal.audit.service import SYSTEM
    from portal.extensions import db
    from portal.policies.service import ensure_default_policy

    with app.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()


@pytest.fixture
def staff(app):
    other = app.test_client()
    signed_in_staff(app, other, Role.SUPERVISOR)
    return other


def post(client, url, data, page=None):
    token = csrf_token(client.get(page or url).data)
    return client.post(url, data={"csrf_token": token, **data})


def offers_needing_approval(app, account_id, plan_type=None):
    from portal.accounts.models import CardAccount
    from portal.extensions import db
    from portal.journey.service import account_today
    from portal.offers.adapter import offers_for_account

    with app.app_context():
        account = db.session.get(CardAccount, account_id)
        _, offers = offers_for_account(account, account_today(account))
        return [o.fingerprint for o in offers if o.needs_approval and plan_type in (None, o.plan.value)]


def budget(client):
    assert (
        post(client, "/plan/budget", {"earnings": "6000", "housing": "2500", "food_housekeeping": "1500"}).status_code
        == 302
    )


def messages(query, kind):
    return query(select(OutboxMessage).where(OutboxMessage.kind == kind))


def the_plan(app):
    """The one plan, with its installments loaded while the session is open."""
    from portal.extensions import db

    with app.app_context():
        plan = db.session.execute(select(Plan)).scalar_one()
        plan.installments  # noqa: B018 - load them before the session closes
        return plan


def decide(staff, plan_id, **fields):
    page = staff.get("/care/approvals").get_data(as_text=True)
    shown = re.search(rf'name="p{plan_id}-shown" type="hidden" value="([0-9a-f]{{64}})"', page)
    assert shown, "the request is not on the approvals page"
    data = {f"p{plan_id}-shown": shown.group(1), **{f"p{plan_id}-{k}": v for k, v in fields.items()}}
    return staff.post(f"/care/approvals/{plan_id}", data={"csrf_token": csrf_token(page), **data})


@pytest.mark.parametrize("dpd", [95, 400])
def test_a_settlement_needing_approval_can_be_requested_with_the_case_file_budget(
    app, client, auth, policy, query, frozen, staff, dpd
):
    account_id = make_account(app, dpd=dpd, principal="30000.00")
    auth.sign_in()
    budget(client)
    with client.session_transaction() as session:
        session.pop("budget_event", None)  # the request reads the case file, not the session
    fingerprint = offers_needing_approval(app, account_id, "settlement")[0]
    page = client.get(f"/plan/offers/{fingerprint}/request").get_data(as_text=True)
    assert "Ask for this plan" in page and 'name="monthly"' not in page
    sent = post(client, f"/plan/offers/{fingerprint}/request", {"confirm": "y", "reason": "lost_job"})
    assert sent.status_code == 302
    plan = query.one(select(Plan))
    assert plan.state == "pending_approval" and plan.plan_type == "settlement"
    assert plan.hardship["reason"] == "lost_job"
    assert plan.hardship["budget"]["earnings"] == "6000.00" and plan.hardship["budget"]["housing"] == "2500.00"
    status = client.get("/plan").get_data(as_text=True)
    assert "Our team is looking at it" in status and "Withdraw my request" in status
    queue = staff.get("/care/approvals").get_data(as_text=True)
    assert "Li Na" in queue and "Lost their job" in queue and "CN¥6,000.00" in queue
    received = messages(query, "request_received")
    assert len(received) == 1 and received[0].status == "queued" and not received[0].collection


def test_withdrawing_a_request_opens_the_offers_again(app, client, auth, policy, query, frozen):
    account_id = make_account(app, dpd=95, principal="30000.00")
    auth.sign_in()
    fingerprint = offers_needing_approval(app, account_id)[0]
    post(client, f"/plan/offers/{fingerprint}/request", {"confirm": "y", "reason": "illness"})
    plan_id = query.one(select(Plan.id))
    assert client.post(f"/plan/{plan_id}/withdraw").status_code == 400  # no CSRF token
    assert query.one(select(Plan.state)) == "pending_approval"
    response = post(client, f"/plan/{plan_id}/withdraw", {}, page="/plan")
    assert response.status_code == 302 and response.headers["Location"].endswith("/plan/offers")
    assert query.one(select(Plan.state)) == "cancelled"
    offers = client.get("/plan/offers")
    assert offers.status_code == 200 and "was withdrawn" in offers.get_data(as_text=True)
    again = post(client, f"/plan/{plan_id}/withdraw", {}, page="/plan")
    assert again.status_code == 302 and query.one(select(Plan.state)) == "cancelled"


def test_personalised_plan_approved_at_the_proposed_amount_with_a_pause_then_signed(
    app, client, auth, policy, query, frozen, staff
):
    account_id = make_account(app, dpd=95, principal="30000.00")
    auth.sign_in()
    budget(client)
    fingerprint = offers_needing_approval(app, account_id, "personalised")[0]
    page = client.get(f"/plan/offers/{fingerprint}/request").get_data(as_text=True)
    assert 'name="monthly"' in page and 'value="1000.00"' in page  # half of 2,000 left each month
    post(client, f"/plan/offers/{fingerprint}/request", {"confirm": "y", "reason": "illness", "monthly": "900"})
    plan = the_plan(app)
    assert plan.proposed_monthly == Decimal("900.00")
    offered = (plan.fingerprint, len(plan.installments), plan.installments[0].due_date)

    too_long = decide(staff, plan.id, decision="approve", months="60", pause_months="3")
    assert too_long.status_code == 422 and b"outside what the policy allows" in too_long.data
    approved = decide(staff, plan.id, decision="approve", monthly="900", pause_months="2")
    assert approved.status_code == 302
    plan = the_plan(app)
    assert plan.state == "pending_signature" and plan.pause_months == 2
    assert plan.fingerprint != offered[0] and len(plan.installments) < offered[1]
    assert max(i.total for i in plan.installments) <= Decimal("900")
    assert plan.installments[0].due_date == date(2027, 2, 28)  # two months after 2026-12-28
    assert plan.terms["months"] == len(plan.installments) and plan.terms["pause_months"] == 2
    assert sum(i.total for i in plan.installments) == plan.total_repaid

    [approved_message] = messages(query, "request_approved")
    first = plan.installments[0]
    assert f"/plan/{plan.id}/sign" in approved_message.body
    assert f"{len(plan.installments)} payments, the first of CN¥{first.total:,.2f} on 28 February 2027" in (
        approved_message.body
    )
    status = client.get("/plan").get_data(as_text=True)
    assert "was approved" in status and "Payment pause at the start" in status
    sign_page = client.get(f"/plan/{plan.id}/sign").get_data(as_text=True)
    assert "Payment pause" in sign_page and "2 months with nothing to pay" in sign_page
    signed = post(client, f"/plan/{plan.id}/sign", {"full_name": "Li Na", "consent": "y"})
    assert signed.status_code == 302
    [accepted] = messages(query, "plan_accepted")
    assert re.search(r"/agreements/[A-Z0-9-]+\.pdf", accepted.body)
    # An active plan stops collection messages, not this confirmation.
    assert accepted.status == "queued" and not accepted.collection


def test_a_declined_request_says_why_and_what_to_do_next(app, client, auth, policy, query, frozen, staff):
    account_id = make_account(app, dpd=400, principal="30000.00", locale="zh_Hans")
    auth.sign_in()
    fingerprint = offers_needing_approval(app, account_id)[0]
    post(client, f"/plan/offers/{fingerprint}/request", {"confirm": "y", "reason": "illness"})
    plan_id = query.one(select(Plan.id))
    no_reason = decide(staff, plan_id, decision="decline")
    assert no_reason.status_code == 422 and query.one(select(Plan.state)) == "pending_approval"
    declined = decide(
        staff, plan_id, decision="decline", decline_reason="need_documents", note="Please send a doctor's letter."
    )
    assert declined.status_code == 302
    plan = query.one(select(Plan))
    assert plan.state == "declined" and plan.decline_reason == "need_documents"
    client.get("/language/en")
    start = client.get("/plan").get_data(as_text=True)
    assert "We could not approve your plan request" in start
    assert "We need documents that show your situation" in start and "doctor&#39;s letter" in start
    assert "/plan/offers" in start and "/plan/promise" in start
    [message] = messages(query, "request_declined")
    assert message.locale == "zh_Hans" and "/plan" in message.body
    from flask_babel import force_locale

    from portal.plans.labels import DECLINE_REASON_TEXT

    with app.test_request_context(), force_locale("zh_Hans"):
        reason = str(DECLINE_REASON_TEXT["need_documents"])
    assert reason in message.body  # the reason in the cardholder's language, whatever the supervisor's


def test_a_decision_on_a_request_that_changed_is_refused(app, client, auth, policy, query, frozen, staff):
    account_id = make_account(app, dpd=95, principal="30000.00")
    auth.sign_in()
    fingerprint = offers_needing_approval(app, account_id, "personalised")[0]
    post(client, f"/plan/offers/{fingerprint}/request", {"confirm": "y", "reason": "illness", "monthly": "800"})
    plan_id = query.one(select(Plan.id))
    page = staff.get("/care/approvals").get_data(as_text=True)
    shown = re.search(rf'name="p{plan_id}-shown" type="hidden" value="([0-9a-f]{{64}})"', page).group(1)
    # The request changes after the supervisor opened it.
    query.run(lambda s: setattr(s.get(Plan, plan_id), "proposed_monthly", Decimal("300")))
    stale = staff.post(
        f"/care/approvals/{plan_id}",
        data={"csrf_token": csrf_token(page), f"p{plan_id}-shown": shown, f"p{plan_id}-decision": "approve"},
    )
    assert stale.status_code == 409 and b"changed after you opened it" in stale.data
    assert query.one(select(Plan.state)) == "pending_approval"
    # Withdrawn and asked again: the old form cannot decide the new request either.
    post(client, f"/plan/{plan_id}/withdraw", {}, page="/plan")
    post(client, f"/plan/offers/{fingerprint}/request", {"confirm": "y", "reason": "illness"})
    old = staff.post(
        f"/care/approvals/{plan_id}",
        data={"csrf_token": csrf_token(page), f"p{plan_id}-shown": shown, f"p{plan_id}-decision": "approve"},
    )
    assert old.status_code == 409
    states = query.run(lambda s: dict(s.execute(select(Plan.id, Plan.state)).all()))
    assert states[plan_id] == "cancelled" and sorted(states.values()) == ["cancelled", "pending_approval"]
    assert not messages(query, "request_approved")


def test_a_dispute_pauses_approval_and_the_page_shows_the_flags(app, client, auth, policy, query, frozen, staff):
    from portal.accounts.models import CardAccount

    account_id = make_account(app, dpd=95, principal="30000.00")
    auth.sign_in()
    fingerprint = offers_needing_approval(app, account_id)[0]
    post(client, f"/plan/offers/{fingerprint}/request", {"confirm": "y", "reason": "illness"})
    plan_id = query.one(select(Plan.id))
    query.run(lambda s: setattr(s.get(CardAccount, account_id), "flags", ["dispute"]))
    page = staff.get("/care/approvals").get_data(as_text=True)
    assert "Dispute" in page and "approval waits until the dispute is settled" in page
    refused = decide(staff, plan_id, decision="approve")
    assert refused.status_code == 409 and b"under dispute" in refused.data
    assert query.one(select(Plan.state)) == "pending_approval"
    declined = decide(staff, plan_id, decision="decline", decline_reason="account_disputed")
    assert declined.status_code == 302 and query.one(select(Plan.state)) == "declined"
    # The decline reaches the cardholder: a dispute silences collection, not this.
    [message] = messages(query, "request_declined")
    assert message.status == "queued"


def test_a_promise_is_confirmed_by_a_message(app, client, auth, policy, query, frozen):
    make_account(app, dpd=35)
    auth.sign_in()
    response = post(client, "/plan/promise", {"amount": "500", "pay_by": "2026-12-05"})
    assert response.status_code == 302
    [message] = messages(query, "promise_recorded")
    assert "CN¥500.00" in message.body and message.status == "queued" and not message.collection


def test_a_dispute_raised_after_approval_pauses_signing(app, client, auth, policy, query, frozen, staff):
    from portal.accounts.models import CardAccount

    account_id = make_account(app, dpd=95, principal="30000.00")
    auth.sign_in()
    fingerprint = offers_needing_approval(app, account_id)[0]
    post(client, f"/plan/offers/{fingerprint}/request", {"confirm": "y", "reason": "illness"})
    plan_id = query.one(select(Plan.id))
    assert decide(staff, plan_id, decision="approve").status_code == 302
    query.run(lambda s: setattr(s.get(CardAccount, account_id), "flags", ["dispute"]))
    refused = post(client, f"/plan/{plan_id}/sign", {"full_name": "Li Na", "consent": "y"})
    assert refused.status_code == 422 and "under dispute" in refused.get_data(as_text=True)
    assert query.one(select(Plan.state)) == "pending_signature"
    assert not messages(query, "plan_accepted")


def test_confirmations_keep_contact_hours_and_the_cardholders_no_contact(app, client, auth, policy, query, frozen):
    from datetime import UTC, datetime

    from portal.accounts.models import CardAccount
    from portal.audit.service import Actor
    from portal.cases.models import CaseEvent
    from portal.notifications import confirmations

    account_id = make_account(app, dpd=35)
    frozen.set(datetime(2026, 11, 28, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai
    auth.sign_in()
    post(client, "/plan/promise", {"amount": "500", "pay_by": "2026-12-05"})
    [held] = messages(query, "promise_recorded")
    assert held.status == "queued" and held.held_reason == "outside_hours"
    assert held.send_after == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)  # 08:00 the next morning
    # A STOP reply overnight is honoured for the confirmation already waiting for 08:00.
    from portal.notifications.delivery import deliver_due

    query.run(lambda s: setattr(s.get(CardAccount, account_id), "flags", ["optout_sms"]))
    frozen.set(datetime(2026, 11, 29, 0, 5, tzinfo=UTC))
    with app.app_context():
        deliver_due("test-worker")
    [waited] = messages(query, "promise_recorded")
    assert (waited.status, waited.blocked_reason) == ("blocked", "optout_sms")
    query.run(lambda s: setattr(s.get(CardAccount, account_id), "flags", ["do_not_contact"]))
    cardholder = Actor("cardholder", str(account_id))
    query.run(lambda s: confirmations.request_received(s.get(CardAccount, account_id), cardholder))
    blocked = messages(query, "request_received")
    assert [(m.status, m.blocked_reason) for m in blocked] == [("blocked", "do_not_contact")]
    kinds = query(select(CaseEvent.kind).where(CaseEvent.account_id == account_id))
    assert "message_blocked" in kinds


@pytest.mark.parametrize("monthly", ["sNaN", "1e999999", "-5", "0", "12.345"])
def test_a_bad_monthly_amount_is_explained_not_an_error(app, client, auth, policy, query, frozen, staff, monthly):
    account_id = make_account(app, dpd=95, principal="30000.00")
    auth.sign_in()
    fingerprint = offers_needing_approval(app, account_id, "personalised")[0]
    post(client, f"/plan/offers/{fingerprint}/request", {"confirm": "y", "reason": "illness"})
    plan_id = query.one(select(Plan.id))
    response = decide(staff, plan_id, decision="approve", monthly=monthly)
    assert response.status_code == 422
    assert query.one(select(Plan.state)) == "pending_approval"


def test_a_pause_alone_shortens_the_plan_to_fit_the_longest_length(app, client, auth, policy, query, frozen, staff):
    account_id = make_account(app, dpd=95, principal="30000.00")
    auth.sign_in()
    fingerprint = offers_needing_approval(app, account_id, "personalised")[0]
    post(client, f"/plan/offers/{fingerprint}/request", {"confirm": "y", "reason": "illness"})
    offered = the_plan(app)
    approved = decide(staff, offered.id, decision="approve", pause_months="2")
    assert approved.status_code == 302
    plan = the_plan(app)
    assert plan.state == "pending_signature" and plan.pause_months == 2
    assert len(plan.installments) + 2 <= max(len(offered.installments), 60)
    assert plan.terms["missed_payment"] == offered.terms["missed_payment"]  # the rules frozen at the request
