"""Care pages: queues by tier, search, the case file and its actions, approvals, plan links."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.audit.models import AuditEvent
from portal.cases.models import CaseEvent
from portal.links.models import PlanLink
from portal.plans.models import Plan
from portal.staff.models import Role
from tests.conftest import CardholderAuth, csrf_token, make_account, unit
from tests.staff_helpers import StaffAuth, make_staff, signed_in_staff

CARDS = [
    "6222000000000017",
    "6222000000000025",
    "6222000000000033",
    "6222000000000041",
    "6222000000000058",
    "6222000000000066",
    "6222000000000074",
    "6222000000000082",
]


@pytest.fixture
def policy(app):
    from portal.audit.service import SYSTEM
    from portal.extensions import db
    from portal.policies.service import ensure_default_policy

    with unit(app):
        ensure_default_policy(SYSTEM)
        db.session.commit()


def account(app, n, phone=None, **fields):
    fields.setdefault("name", f"Holder {n}")
    account_id = make_account(app, card=CARDS[n], reference=f"REF{n:03d}", **fields)
    if phone:
        from portal.extensions import db

        with unit(app):
            db.session.get(CardAccount, account_id).cardholder.phone = phone
            db.session.commit()
    return account_id


def agent(app, client):
    return signed_in_staff(app, client, Role.AGENT)


def token(client):
    return StaffAuth(client).token()


def references(html: str) -> list[str]:
    return re.findall(r">(REF\d{3})</a>", html)


# --- queues ---------------------------------------------------------------------


def test_queue_shows_one_tier_most_days_past_due_first(app, client, policy, frozen):
    account(app, 0, dpd=31)
    account(app, 1, dpd=58)
    account(app, 2, dpd=45, overdue_amount=Decimal("9000.00"))
    account(app, 3, dpd=45, overdue_amount=Decimal("100.00"))
    account(app, 4, dpd=5)  # M1
    account(app, 5, dpd=120)  # M4
    account(app, 6, dpd=0)  # not overdue: never in a queue
    agent(app, client)
    html = client.get("/care/?tier=M2").get_data(as_text=True)
    assert references(html) == ["REF001", "REF002", "REF003", "REF000"]
    assert 'aria-current="page">\n    M2' in html
    m1 = client.get("/care/?tier=M1").get_data(as_text=True)
    assert references(m1) == ["REF004"]
    everything = client.get("/care/?tier=all").get_data(as_text=True)
    assert references(everything) == ["REF005", "REF001", "REF002", "REF003", "REF000", "REF004"]
    by_amount = client.get("/care/?tier=M2&sort=amount").get_data(as_text=True)
    assert references(by_amount)[0] == "REF002"
    # The first tier is the default.
    assert references(client.get("/care/").get_data(as_text=True)) == ["REF004"]


def test_queue_filters_by_currency_balance_and_flag(app, client, policy, frozen):
    account(app, 0, dpd=40, currency="HKD")
    account(app, 1, dpd=41, principal="500.00")
    account(app, 2, dpd=42, flags=["dispute"])
    agent(app, client)
    assert references(client.get("/care/?tier=M2&currency=HKD").get_data(as_text=True)) == ["REF000"]
    # Balance = principal + 489 interest + 140 late fees.
    small = client.get("/care/?tier=M2&max_balance=1200").get_data(as_text=True)
    assert references(small) == ["REF001"]
    large = client.get("/care/?tier=M2&min_balance=1200").get_data(as_text=True)
    assert references(large) == ["REF002", "REF000"]
    assert references(client.get("/care/?tier=M2&flag=dispute").get_data(as_text=True)) == ["REF002"]
    assert "REF002" not in references(client.get("/care/?tier=M2&flag=none").get_data(as_text=True))


def test_bad_filters_get_a_message_not_an_error(app, client, policy, frozen):
    agent(app, client)
    for query in ["min_balance=abc", "max_balance=-5", "flag=nonsense", "page=0", "sort=<script>", "currency=XXX"]:
        response = client.get(f"/care/?{query}")
        assert response.status_code == 422, query
        assert b"Please check what you entered" in response.data
        assert b"<script>" not in response.data


def test_queue_pages(app, client, policy, frozen):
    from tests.conftest import make_account as make

    base = 6222000000001000
    for n in range(27):
        number = str(base + n * 10)
        digits = [int(d) for d in number[:-1]]
        total = sum(d if i % 2 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(reversed(digits)))
        card = number[:-1] + str((10 - total % 10) % 10)
        make(app, card=card, reference=f"P{n:03d}", dpd=30 + n)
    agent(app, client)
    first = client.get("/care/?tier=M2").get_data(as_text=True)
    assert "Page 1 of 2" in first and first.count("/care/accounts/") == 25
    second = client.get("/care/?tier=M2&page=2").get_data(as_text=True)
    assert second.count("/care/accounts/") == 2


def test_no_active_policy_still_lists_overdue_accounts(app, client, frozen):
    account(app, 0, dpd=40)
    agent(app, client)
    html = client.get("/care/").get_data(as_text=True)
    assert "No offer policy is active" in html and references(html) == ["REF000"]


# --- search ---------------------------------------------------------------------


def test_search_by_name_phone_and_reference(app, client, policy, frozen):
    account(app, 0, name="Wang Xiaoming", phone="+86 138 1234 5678")
    account(app, 1, name="陳美玲")
    agent(app, client)
    assert references(client.get("/care/search?q=xiaoming").get_data(as_text=True)) == ["REF000"]
    assert references(client.get("/care/search?q=美玲").get_data(as_text=True)) == ["REF001"]
    assert references(client.get("/care/search?q=138-1234-5678").get_data(as_text=True)) == ["REF000"]
    assert references(client.get("/care/search?q=ref001").get_data(as_text=True)) == ["REF001"]
    assert references(client.get("/care/search?q=%25").get_data(as_text=True)) == []  # no wildcard tricks


def test_search_by_last_four_needs_the_date_of_birth(app, client, policy, query, frozen):
    account(app, 0, dob=date(1980, 1, 2))
    account(app, 1, dob=date(1990, 5, 6))
    agent(app, client)
    without = client.get("/care/search?q=0017")
    assert without.status_code == 422 and b"Add the date of birth" in without.data
    assert references(without.get_data(as_text=True)) == []
    found = client.get("/care/search?q=0017&dob=1980-01-02")
    assert references(found.get_data(as_text=True)) == ["REF000"]
    assert references(client.get("/care/search?q=0017&dob=1990-05-06").get_data(as_text=True)) == []
    searches = query(select(AuditEvent).where(AuditEvent.action == "care.searched"))
    assert searches and "0017" not in str([e.after for e in searches])


# --- the case file ---------------------------------------------------------------------


def post(client, path, **data):
    return client.post(path, data={"csrf_token": token(client), **data})


def test_case_file_shows_figures_timeline_and_is_audited(app, client, policy, query, frozen):
    account_id = account(app, 0, dpd=35)
    agent(app, client)
    html = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    for text in [
        "Holder 0",
        "REF000",
        "Tier M2",
        "35 days past due",
        "CN¥2,000.00",
        "CN¥10,629.00",
        "Timeline",
        "Nothing on the case file yet",
    ]:
        assert text in html, text
    assert query(select(AuditEvent.action).where(AuditEvent.action == "case.viewed")) == ["case.viewed"]
    assert client.get("/care/accounts/999999").status_code == 404


def test_a_note_with_script_is_shown_as_text(app, client, policy, query, frozen):
    account_id = account(app, 0)
    staff_id, *_ = agent(app, client)
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)> & more'
    response = post(
        client, f"/care/accounts/{account_id}/notes", outcome="hardship_disclosed", channel="phone", text=evil
    )
    assert response.status_code == 302
    html = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html and "Hardship disclosed" in html
    event = query.one(select(CaseEvent).where(CaseEvent.kind == "note"))
    assert event.data == {"outcome": "hardship_disclosed", "channel": "phone", "text": evil}
    assert event.actor_type == "staff" and event.actor_id == str(staff_id)
    audit = query.one(select(AuditEvent).where(AuditEvent.action == "case.note_added"))
    assert audit.actor_id == str(staff_id) and audit.after["outcome"] == "hardship_disclosed"


def test_bad_notes_are_refused_with_a_message_and_nothing_written(app, client, policy, query, frozen):
    account_id = account(app, 0)
    agent(app, client)
    for data in [
        {"outcome": "contacted_promised", "text": "  "},
        {"outcome": "made_up", "text": "hi"},
        {"outcome": "other", "text": "x" * 4001},
        {"outcome": "other", "channel": "pigeon", "text": "hi"},
    ]:
        response = post(client, f"/care/accounts/{account_id}/notes", **data)
        assert response.status_code == 422, data
    assert query(select(CaseEvent)) == []
    assert post(client, "/care/accounts/999999/notes", outcome="other", text="x").status_code in (404, 422)


def test_reason_is_recorded_and_shown(app, client, policy, query, frozen):
    account_id = account(app, 0)
    agent(app, client)
    assert post(client, f"/care/accounts/{account_id}/reason", reason="illness").status_code == 302
    html = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert "Illness or injury" in html
    assert post(client, f"/care/accounts/{account_id}/reason", reason="aliens").status_code == 422
    assert query(select(AuditEvent.action).where(AuditEvent.action == "case.reason_set")) == ["case.reason_set"]


def test_flags_and_opt_outs(app, client, policy, query, frozen):
    account_id = account(app, 0)
    agent(app, client)
    for flag in ["optout_sms", "optout_email", "do_not_contact"]:
        assert post(client, f"/care/accounts/{account_id}/flags", flag=flag, action="set").status_code == 302
    flags = query.one(select(CardAccount.flags).where(CardAccount.id == account_id))
    assert flags == ["optout_sms", "optout_email", "do_not_contact"]
    # Setting only stops contact; undoing the cardholder's wish is not an agent's call.
    assert post(client, f"/care/accounts/{account_id}/flags", flag="optout_sms", action="clear").status_code == 403
    assert post(client, f"/care/accounts/{account_id}/flags", flag="vip", action="set").status_code == 422
    assert query.one(select(CardAccount.flags).where(CardAccount.id == account_id)) == flags
    kinds = query(select(CaseEvent.kind).order_by(CaseEvent.id))
    assert kinds == ["flag_set", "flag_set", "flag_set"]
    audits = query(select(AuditEvent).where(AuditEvent.action.like("account.flag_%")).order_by(AuditEvent.id))
    assert audits[-1].before == {"flags": ["optout_sms", "optout_email"]}
    html = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert "Do not contact: no collection messages are sent." in html


def test_only_a_supervisor_clears_a_dispute(app, client, policy, query, frozen):
    account_id = account(app, 0, dpd=70)
    agent(app, client)
    assert post(client, f"/care/accounts/{account_id}/flags", flag="dispute", action="set").status_code == 302
    page = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert "every offer is paused" in page and "Only a supervisor can clear" in page
    refused = post(client, f"/care/accounts/{account_id}/flags", flag="dispute", action="clear")
    assert refused.status_code == 403 and b"Only a supervisor can clear a dispute" in refused.data
    assert query.one(select(CardAccount.flags).where(CardAccount.id == account_id)) == ["dispute"]
    # The dispute stops offers: the link page has none to pre-select.
    assert b"This account has no offers today" in client.get(f"/care/accounts/{account_id}/link").data

    StaffAuth(client).sign_out()
    signed_in_staff(app, client, Role.SUPERVISOR)
    assert post(client, f"/care/accounts/{account_id}/flags", flag="dispute", action="clear").status_code == 302
    assert query.one(select(CardAccount.flags).where(CardAccount.id == account_id)) == []


def test_service_enforces_the_dispute_rule_too(app, frozen):
    from portal.audit.service import Actor
    from portal.care.service import CareError, clear_flag, set_flag
    from portal.extensions import db

    account_id = account(app, 0)
    agent_id, *_ = make_staff(app, Role.AGENT)
    auditor_id, *_ = make_staff(app, Role.AUDITOR)
    with unit(app):
        set_flag(account_id, "dispute", Actor("staff", str(agent_id)))
        with pytest.raises(CareError, match="supervisor_only"):
            clear_flag(account_id, "dispute", Actor("staff", str(agent_id)))
        with pytest.raises(CareError, match="not_allowed"):
            set_flag(account_id, "do_not_contact", Actor("staff", str(auditor_id)))
        with pytest.raises(CareError, match="not_allowed"):
            set_flag(account_id, "do_not_contact", Actor("cardholder", str(account_id)))
        assert db.session.get(CardAccount, account_id).flags == ["dispute"]


# --- approvals ----------------------------------------------------------------------


def pending_request(app, account_id, plan_type="personalised", proposed=None):
    from portal.audit.service import Actor
    from portal.cases.service import record_budget
    from portal.extensions import db
    from portal.offers.adapter import offers_for_account
    from portal.plans.requests import request_plan

    with unit(app):
        acc = db.session.get(CardAccount, account_id)
        _, offers = offers_for_account(acc, date(2026, 11, 28))
        offer = next(o for o in offers if o.plan.value == plan_type and o.needs_approval)
        budget = {"earnings": "6000", "housing": "2500", "food_housekeeping": "1500", "transport": "300"}
        actor = Actor("cardholder", str(account_id))
        record_budget(account_id, budget, Decimal("1700"), actor)
        plan, _ = request_plan(account_id, offer.fingerprint, "illness", actor, date(2026, 11, 28), "en", proposed)
        return plan.id


def pending_personalised(app, account_id, proposed=None):
    return pending_request(app, account_id, "personalised", proposed)


def decide(client, plan_id, **fields):
    """Post a decision from the approvals page, with the digest of the request shown there."""
    page = client.get("/care/approvals").get_data(as_text=True)
    shown = re.search(rf'name="p{plan_id}-shown" type="hidden" value="([0-9a-f]{{64}})"', page)
    digest = shown.group(1) if shown else "0" * 64
    return post(
        client,
        f"/care/approvals/{plan_id}",
        **{f"p{plan_id}-shown": digest, **{f"p{plan_id}-{k}": v for k, v in fields.items()}},
    )


def test_supervisor_approves_a_personalised_plan(app, client, policy, query, frozen):
    account_id = account(app, 0, dpd=70)
    plan_id = pending_personalised(app, account_id)
    staff_id, *_ = signed_in_staff(app, client, Role.SUPERVISOR)
    html = client.get("/care/approvals").get_data(as_text=True)
    for text in [
        "Holder 0",
        "Illness or injury",
        "Earnings",
        "CN¥6,000.00",
        "Left each month",
        "CN¥1,700.00",
        "60 months",
        "This tier allows no payment pause",
    ]:
        assert text in html, text
    no_reason = decide(client, plan_id, decision="decline")
    assert no_reason.status_code == 422 and b"Choose the reason for declining" in no_reason.data
    response = decide(client, plan_id, decision="approve", note="Budget checked <b>ok</b>")
    assert response.status_code == 302
    plan = query.one(select(Plan).where(Plan.id == plan_id))
    assert plan.state == "pending_signature" and plan.decided_by == f"staff:{staff_id}"
    assert "Nothing is waiting for approval" in client.get("/care/approvals").get_data(as_text=True)
    again = post(
        client, f"/care/approvals/{plan_id}", **{f"p{plan_id}-decision": "approve", f"p{plan_id}-shown": "0" * 64}
    )
    assert again.status_code == 409 and b"already decided or withdrawn" in again.data
    case = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert "Plan request decided" in case and "Budget checked &lt;b&gt;ok&lt;/b&gt;" in case


def test_agents_cannot_decide(app, client, policy, query, frozen):
    account_id = account(app, 0, dpd=70)
    plan_id = pending_personalised(app, account_id)
    agent(app, client)
    assert client.get("/care/approvals").status_code == 403
    response = post(
        client, f"/care/approvals/{plan_id}", **{f"p{plan_id}-decision": "approve", f"p{plan_id}-shown": "0" * 64}
    )
    assert response.status_code == 403
    assert query.one(select(Plan.state).where(Plan.id == plan_id)) == "pending_approval"


# --- plan links -------------------------------------------------------------------


def offers_by_authority(app, account_id):
    from portal.extensions import db
    from portal.offers.adapter import offers_for_account

    with unit(app):
        _, offers = offers_for_account(db.session.get(CardAccount, account_id), date(2026, 11, 28))
    agent_ok = next(o.fingerprint for o in offers if o.agent_may_offer)
    supervisor_only = next(o.fingerprint for o in offers if not o.agent_may_offer and not o.needs_approval)
    approval = next(o.fingerprint for o in offers if o.needs_approval)
    return agent_ok, supervisor_only, approval


def test_link_page_previews_in_the_cardholders_language_then_sends(app, client, policy, query, frozen):
    account_id = account(app, 0, dpd=70, locale="zh_Hans")
    agent_ok, supervisor_only, approval = offers_by_authority(app, account_id)
    agent(app, client)
    page = client.get(f"/care/accounts/{account_id}/link").get_data(as_text=True)
    assert "Within your authority" in page and "Supervisor only" in page and "Needs supervisor approval" in page
    assert re.search(rf'value="{supervisor_only}"\s+disabled', page)

    preview = post(client, f"/care/accounts/{account_id}/link", channel="sms", offer=agent_ok, action="preview")
    assert preview.status_code == 200
    body = preview.get_data(as_text=True)
    assert 'class="preview" lang="zh-Hans"' in body and "Send now" in body

    beyond = post(client, f"/care/accounts/{account_id}/link", channel="sms", offer=supervisor_only, action="send")
    assert beyond.status_code == 422 and b"beyond your authority" in beyond.data
    needs = post(client, f"/care/accounts/{account_id}/link", channel="sms", offer=approval, action="send")
    assert needs.status_code == 422 and b"beyond your authority" in needs.data

    from portal.links.models import PlanLink

    assert query(select(PlanLink)) == []
    sent = post(client, f"/care/accounts/{account_id}/link", channel="sms", offer=agent_ok, action="send")
    assert sent.status_code == 302
    link = query.one(select(PlanLink))
    assert link.offer_fingerprint == agent_ok and link.channel == "sms"
    case = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert "Plan link created" in case and "Revoke this link" in case


def test_supervisor_may_preselect_beyond_agent_authority_and_revoke(app, client, policy, query, frozen):
    from portal.links.models import PlanLink

    account_id = account(app, 0, dpd=70)
    _, supervisor_only, _ = offers_by_authority(app, account_id)
    signed_in_staff(app, client, Role.SUPERVISOR)
    sent = post(client, f"/care/accounts/{account_id}/link", channel="email", offer=supervisor_only, action="send")
    assert sent.status_code == 302
    link = query.one(select(PlanLink))
    other = account(app, 1)
    assert post(client, f"/care/accounts/{other}/links/{link.id}/revoke").status_code == 404
    assert post(client, f"/care/accounts/{account_id}/links/{link.id}/revoke").status_code == 302
    assert query.one(select(PlanLink.revoked_at)) is not None
    case = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert "Plan link revoked" in case and "Revoked" in case


def test_an_offer_needing_approval_sent_by_a_supervisor_reaches_the_approval_queue(app, client, policy, query, frozen):
    """A supervisor may pre-select it; the link does not grant it: the cardholder asks for it."""
    from portal.extensions import db
    from portal.links.models import PlanLink
    from portal.notifications.models import OutboxMessage

    account_id = account(app, 0, dpd=70)
    _, _, approval = offers_by_authority(app, account_id)
    signed_in_staff(app, client, Role.SUPERVISOR)
    sent = post(client, f"/care/accounts/{account_id}/link", channel="email", offer=approval, action="send")
    assert sent.status_code == 302
    link = query.one(select(PlanLink))
    assert link.offer_fingerprint == approval
    with unit(app):
        body = db.session.get(OutboxMessage, link.outbox_message_id).readable_body
    link_token = re.search(r"/l/([A-Za-z0-9_-]+)", body).group(1)

    cardholder = app.test_client()
    cardholder.get(f"/l/{link_token}")
    CardholderAuth(cardholder).sign_in(card=CARDS[0])
    offer_page = cardholder.get(f"/plan/offers/{approval}").get_data(as_text=True)
    assert f"/plan/offers/{approval}/request" in offer_page
    request_url = f"/plan/offers/{approval}/request"
    requested = cardholder.post(
        request_url,
        data={"csrf_token": csrf_token(cardholder.get(request_url).data), "confirm": "y", "reason": "lost_job"},
    )
    assert requested.status_code == 302
    plan = query.one(select(Plan))
    assert plan.state == "pending_approval" and plan.fingerprint == approval
    assert "Holder 0" in client.get("/care/approvals").get_data(as_text=True)


def test_blocked_contact_is_explained(app, client, policy, query, frozen):
    account_id = account(app, 0, dpd=40, flags=["do_not_contact"])
    agent(app, client)
    response = post(client, f"/care/accounts/{account_id}/link", channel="sms", offer="", action="send")
    # Not a mistake in the form: a notice on the link page, where another channel can be chosen.
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/care/accounts/{account_id}/link")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Not sent: the cardholder asked not to be contacted. No link was created" in page
    assert "Please check what you entered" not in page
    assert query(select(PlanLink)) == []
    html = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert "Message blocked" in html
