"""Plan links through the real pages: issue, open, sign in, verify; every unusable link
looks the same; opt-out by STOP and by the e-mail link; the funnel; contact rules."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.audit.actors import parse_actor_key
from portal.audit.models import AuditEvent
from portal.audit.service import Actor
from portal.cases.models import CaseEvent
from portal.db_types import utcnow
from portal.extensions import db
from portal.links.models import PlanLink
from portal.links.service import (
    LinkError,
    issue_plan_link,
    mark_accepted,
    mark_offer_viewed,
    preview_link_message,
    revoke_link,
)
from portal.links.views import link_for_session
from portal.notifications.delivery import deliver_due
from portal.notifications.models import OutboxMessage
from portal.notifications.optout import unsubscribe_url
from tests.conftest import DOB, CardholderAuth, csrf_token, make_account, unit
from tests.plan_factories import card_number, make_plan

SH = ZoneInfo("Asia/Shanghai")
OTHER_CARD = "4111111111111111"
TOKEN_IN_URL = re.compile(r"/l/([A-Za-z0-9_-]+)")
KEY = "inbound-test-key"


def staff_actor(app: Any, role: str = "agent") -> Actor:
    from tests.staff_helpers import make_staff

    staff_id, *_ = make_staff(app, role)
    return Actor("staff", str(staff_id))


def issue(
    app: Any, account_id: int, channel: str = "sms", actor: Actor | None = None, fingerprint: str | None = None
) -> tuple[int, str]:
    """Issue a link as a member of staff; return its id and the token from the message."""
    actor = actor or staff_actor(app)
    with unit(app):
        link = issue_plan_link(account_id, channel, actor, fingerprint)
        body = db.session.get(OutboxMessage, link.outbox_message_id).readable_body
        return link.id, TOKEN_IN_URL.search(body).group(1)


def get_link(app: Any, link_id: int) -> PlanLink:
    with unit(app):
        link = db.session.get(PlanLink, link_id)
        db.session.expunge(link)
        return link


def case_kinds(query: Any, account_id: int) -> list[str]:
    return query(select(CaseEvent.kind).where(CaseEvent.account_id == account_id).order_by(CaseEvent.id))


def unavailable_page(response: Any, token: str) -> str:
    """The page without the token (it appears only in the language links' ``next``)."""
    return response.get_data(as_text=True).replace(token, "TOKEN")


# --- issuing ------------------------------------------------------------------------


def test_only_the_hash_of_a_long_random_token_is_stored(app, query, frozen):
    account_id = make_account(app)
    link_id, token = issue(app, account_id)
    assert len(token) >= 32  # token_urlsafe(32): 256 bits, at least the 128 required
    link = get_link(app, link_id)
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    row = {c.name: getattr(link, c.name) for c in PlanLink.__table__.columns}
    assert not any(token in str(value) for value in row.values())
    assert link.expires_at - link.created_at == timedelta(hours=72)
    assert link.created_by == query.one(select(PlanLink.created_by)) and parse_actor_key(link.created_by)[0] == "staff"
    audit = query(select(AuditEvent).where(AuditEvent.action == "link.issued"))
    assert len(audit) == 1 and token not in str(audit[0].after)
    _, other = issue(app, account_id)
    assert other != token


def test_link_lifetime_comes_from_the_active_policy(app, frozen):
    from portal.audit.service import SYSTEM
    from portal.policies.models import PolicyVersion
    from portal.policies.service import ensure_default_policy

    account_id = make_account(app)
    with unit(app):
        version = ensure_default_policy(SYSTEM, ("CNY",))[0]
        version.document = {**version.document, "link_expiry_hours": 24}
        db.session.commit()
        assert db.session.execute(select(PolicyVersion.state)).scalar() == "active"
    link = get_link(app, issue(app, account_id)[0])
    assert link.expires_at - link.created_at == timedelta(hours=24)


def test_preview_is_in_the_cardholders_language(app, frozen):
    account_id = make_account(app, locale="zh_Hans")
    with unit(app):
        subject, body = preview_link_message(account_id, "sms", None)
        email_subject, email_body = preview_link_message(account_id, "email", None)
    expiry = utcnow() + timedelta(hours=72)
    assert subject is None and format_datetime(expiry, "yyyy年M月d日 HH:mm", tzinfo=SH, locale="zh_Hans") in body
    # The opt-out word is the one people use in the market: TD (退订) in mainland China.
    assert "/l/…" in body and ("TD" in body or "STOP" in body)
    assert email_subject and "/unsubscribe/" in email_body


def test_issue_refuses_what_it_must(app, frozen):
    no_email = make_account(app, card=OTHER_CARD, reference="NOEMAIL")
    with unit(app):
        db.session.get(CardAccount, no_email).cardholder.email = None
        db.session.commit()
    actor = staff_actor(app)
    with unit(app):
        with pytest.raises(LinkError) as error:
            issue_plan_link(no_email, "email", actor)
        assert error.value.code == "no_channel"
        with pytest.raises(LinkError) as error:
            issue_plan_link(no_email, "sms", actor, offer_fingerprint="0" * 64)
        assert error.value.code == "offer_not_allowed"
        assert db.session.execute(select(PlanLink)).first() is None


def test_an_agent_may_preselect_only_offers_within_agent_authority(app, frozen):
    from portal.audit.service import SYSTEM
    from portal.offers.adapter import offers_for_account
    from portal.policies.service import ensure_default_policy

    account_id = make_account(app, dpd=70, principal="30000.00")
    with unit(app):
        ensure_default_policy(SYSTEM)
        db.session.commit()
        _, offers = offers_for_account(db.session.get(CardAccount, account_id), utcnow().astimezone(SH).date())
    beyond = next(o for o in offers if not o.agent_may_offer)
    within = next(o for o in offers if o.agent_may_offer)
    agent, supervisor = staff_actor(app, "agent"), staff_actor(app, "supervisor")
    with unit(app):
        with pytest.raises(LinkError) as error:
            issue_plan_link(account_id, "sms", agent, beyond.fingerprint)
        assert error.value.code == "outside_authority"
    assert (
        get_link(app, issue(app, account_id, actor=agent, fingerprint=within.fingerprint)[0]).offer_fingerprint
        == within.fingerprint
    )
    assert (
        get_link(app, issue(app, account_id, actor=supervisor, fingerprint=beyond.fingerprint)[0]).offer_fingerprint
        == beyond.fingerprint
    )


# --- opening ------------------------------------------------------------------------


def test_open_then_sign_in_verifies_the_link(app, client, auth, query, frozen):
    account_id = make_account(app)
    link_id, token = issue(app, account_id)
    opened = client.get(f"/l/{token}")
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/sign-in")
    assert "Li Na" not in opened.get_data(as_text=True)
    with client.session_transaction() as session:
        assert session["link_id"] == link_id
    assert get_link(app, link_id).opened_at == utcnow()
    assert auth.sign_in().headers["Location"].endswith("/plan/from-link")
    # No offer was pre-selected, so the journey starts at its first step.
    assert client.get("/plan/from-link").headers["Location"].endswith("/plan")
    assert get_link(app, link_id).verified_at is not None
    assert case_kinds(query, account_id)[-2:] == ["link_opened", "link_verified"]
    with client:
        client.get("/account")
        link = link_for_session(account_id)
        assert link is not None and link.id == link_id


def test_a_preselected_offer_is_shown_accepted_and_the_link_used_up(app, client, auth, query, frozen):
    from portal.accounts.models import CardAccount
    from portal.audit.service import SYSTEM
    from portal.offers.adapter import offers_for_account
    from portal.plans.models import Plan
    from portal.policies.service import ensure_default_policy
    from tests.conftest import csrf_token

    account_id = make_account(app, dpd=35)
    with unit(app):
        ensure_default_policy(SYSTEM)
        db.session.commit()
        account = db.session.get(CardAccount, account_id)
        offer = [o for o in offers_for_account(account, utcnow().date())[1] if o.agent_may_offer][1]
    link_id, token = issue(app, account_id, fingerprint=offer.fingerprint)
    client.get(f"/l/{token}")
    to_budget = client.get(auth.sign_in().headers["Location"])
    # The budget check comes first, with one tap to skip it and see the suggested plan.
    assert to_budget.headers["Location"].endswith(f"/plan/budget?offer={offer.fingerprint}")
    budget = client.get(to_budget.headers["Location"]).get_data(as_text=True)
    assert f'href="/plan/offers/{offer.fingerprint}">Skip and see the suggested plan' in budget
    page = client.get(f"/plan/offers/{offer.fingerprint}").get_data(as_text=True)
    assert "Our care team suggested this plan" in page
    assert get_link(app, link_id).offer_viewed_at is not None
    accept = f"/plan/offers/{offer.fingerprint}/accept"
    done = client.post(
        accept, data={"csrf_token": csrf_token(client.get(accept).data), "full_name": "Li Na", "consent": "y"}
    )
    assert done.status_code == 302 and "/done" in done.headers["Location"]
    plan = query.one(select(Plan))
    assert plan.channel == "link" and plan.fingerprint == offer.fingerprint
    link = get_link(app, link_id)
    assert link.used_at is not None and link.accepted_at is not None and link.plan_id == plan.id
    # The link cannot be used again.
    assert client.get(f"/l/{token}").status_code == 410


def test_a_link_gives_nothing_to_another_cardholder(app, client, query, frozen):
    owner = make_account(app)
    stranger = make_account(app, card=OTHER_CARD, name="Wang Wei", reference="STRANGER")
    link_id, token = issue(app, owner)
    assert client.get(f"/l/{token}").status_code == 302
    CardholderAuth(client).sign_in(card=OTHER_CARD, dob=DOB.isoformat())
    assert client.get("/plan/from-link").status_code == 302  # where the journey asks for the link
    with client:
        client.get("/account")
        assert link_for_session(stranger) is None
        assert link_for_session(owner) is None  # forgotten: the session no longer holds it
    assert get_link(app, link_id).verified_at is None
    assert query(select(AuditEvent.action).where(AuditEvent.action == "link.other_account")) == ["link.other_account"]


def test_every_unusable_link_gets_the_same_page(app, client, frozen, monkeypatch):
    monkeypatch.setitem(app.config, "CONTACT_DAILY_CAP", 10)
    # A new link revokes the older ones of its account: each kind on an account of its own.
    account_id = make_account(app)
    other_id = make_account(app, card="6222000000000025", reference="ACC-OTHER-2")
    used_account_id = make_account(app, card="6222000000000033", reference="ACC-OTHER-3")
    expired_id, expired = issue(app, account_id)
    revoked_id, revoked = issue(app, other_id)
    used_id, used = issue(app, used_account_id)
    _, good = issue(app, other_id)
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    unknown = "x" * 43
    plan_id = make_plan(app, used_account_id, "installment", "en")
    with unit(app):
        revoke_link(revoked_id, Actor("staff", "1"))
        mark_accepted(used_id, plan_id)

    pages = {}
    for name, token in (
        ("revoked", revoked),
        ("used", used),
        ("tampered", tampered),
        ("unknown", unknown),
        ("short", "abc"),
        ("odd", "%E2%80%A6"),
    ):
        response = client.get(f"/l/{token}")
        pages[name] = (response.status_code, unavailable_page(response, token))
    frozen.set(utcnow() + timedelta(hours=71, minutes=59))
    assert client.get(f"/l/{expired}").status_code == 302  # still valid just before 72 h
    frozen.set(utcnow() + timedelta(minutes=1))
    response = client.get(f"/l/{expired}")
    pages["expired"] = (response.status_code, unavailable_page(response, expired))

    statuses = {status for status, _ in pages.values()}
    bodies = {body for _, body in pages.values()}
    assert statuses == {410} and len(bodies) == 1
    body = bodies.pop()
    assert "400 000 0000" in body and "Li Na" not in body and "card ending" not in body.lower()
    with client.session_transaction() as session:
        assert session.get("link_id") == expired_id  # only the one valid open was remembered


def test_opening_links_is_rate_limited_by_address(app, client):
    codes = [client.get(f"/l/{'y' * 43}").status_code for _ in range(11)]
    assert codes[:10] == [410] * 10 and codes[10] == 429


# --- the funnel ---------------------------------------------------------------------


def test_funnel_timestamps_case_events_and_audit(app, client, auth, query, frozen):
    account_id = make_account(app)
    link_id, token = issue(app, account_id)
    t0 = utcnow()
    frozen.set(t0 + timedelta(minutes=1))
    with app.app_context():
        assert deliver_due("test").sent == 1
    frozen.set(t0 + timedelta(minutes=2))
    client.get(f"/l/{token}")
    frozen.set(t0 + timedelta(minutes=3))
    auth.sign_in()
    client.get("/plan/from-link")  # the journey stamps the link verified, in that request
    with client:
        client.get("/account")
        assert link_for_session(account_id) is not None
    frozen.set(t0 + timedelta(minutes=4))
    with unit(app):
        mark_offer_viewed(link_id, Actor("cardholder", str(account_id)))
    frozen.set(t0 + timedelta(minutes=5))
    plan_id = make_plan(app, account_id, "installment", "en")
    with unit(app):
        mark_accepted(link_id, plan_id, Actor("cardholder", str(account_id)))
        mark_accepted(link_id, plan_id, Actor("cardholder", str(account_id)))  # repeated: harmless
        with pytest.raises(LinkError):
            mark_accepted(link_id, plan_id + 1000)

    link = get_link(app, link_id)
    minutes = {
        step: (getattr(link, f"{step}_at") - t0) // timedelta(minutes=1)
        for step in ("sent", "delivered", "opened", "verified", "offer_viewed", "accepted")
    }
    assert minutes == {"sent": 1, "delivered": 1, "opened": 2, "verified": 3, "offer_viewed": 4, "accepted": 5}
    assert link.used_at == link.accepted_at and link.plan_id == plan_id
    assert link.status(utcnow()) == "used"
    kinds = [k for k in case_kinds(query, account_id) if k.startswith("link_")]
    assert kinds == [
        "link_issued",
        "link_sent",
        "link_delivered",
        "link_opened",
        "link_verified",
        "link_offer_viewed",
        "link_accepted",
    ]
    actions = query(select(AuditEvent.action).where(AuditEvent.action.like("link.%")).order_by(AuditEvent.id))
    assert actions == [
        "link.issued",
        "link.sent",
        "link.delivered",
        "link.opened",
        "link.verified",
        "link.offer_viewed",
        "link.accepted",
    ]
    assert client.get(f"/l/{token}").status_code == 410  # used up


def test_sms_delivery_report_stamps_delivered(app, client, query, frozen, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_INBOUND_KEY", KEY)
    account_id = make_account(app)
    link_id, _ = issue(app, account_id)
    message_id = query.one(select(OutboxMessage.id).where(OutboxMessage.link_id == link_id))
    with app.app_context():
        from portal.integrations.channels import Sent

        class Gateway:
            name = "sms"

            def send(self, envelope):  # type: ignore[no-untyped-def]
                return Sent(provider_id="gw-1")

        assert deliver_due("test", channels={"sms": Gateway()}).sent == 1
    assert get_link(app, link_id).delivered_at is None
    report = client.post(
        "/hooks/sms/status", json={"reference": str(message_id), "status": "delivered"}, headers={"X-SMS-Key": KEY}
    )
    assert report.status_code == 200 and report.get_json()["matched"] is True
    assert get_link(app, link_id).delivered_at is not None


# --- opting out ---------------------------------------------------------------------


@pytest.mark.parametrize("word", ["STOP", "stop", "退订", "TD", "ＳＴＯＰ"])
def test_reply_stop_opts_out_of_texts(app, client, query, frozen, monkeypatch, word):
    monkeypatch.setitem(app.config, "SMS_INBOUND_KEY", KEY)
    account_id = make_account(app)
    response = client.post(
        "/hooks/sms/inbound", json={"from": "+8613800000001", "text": word}, headers={"X-SMS-Key": KEY}
    )
    assert response.status_code == 200 and response.get_json()["opted_out"] == 1
    assert "optout_sms" in query.one(select(CardAccount.flags))
    assert case_kinds(query, account_id) == ["opted_out"]
    assert query(select(AuditEvent.action).where(AuditEvent.action == "contact.opted_out")) == ["contact.opted_out"]
    with unit(app):
        with pytest.raises(LinkError) as error:
            issue_plan_link(account_id, "sms", Actor("staff", "1"))
        assert (error.value.code, error.value.detail) == ("contact_blocked", "optout_sms")
    blocked = query.one(select(OutboxMessage).where(OutboxMessage.collection.is_(True)))
    assert blocked.status == "blocked" and blocked.blocked_reason == "optout_sms" and blocked.link_id is None
    assert case_kinds(query, account_id)[-1] == "message_blocked"
    assert query(select(PlanLink)) == []
    # E-mail is a separate choice, and sign-in codes still come by text.
    assert get_link(app, issue(app, account_id, "email")[0]).channel == "email"
    CardholderAuth(client).start()
    assert query.one(select(OutboxMessage.status).where(OutboxMessage.kind == "signin_code")) == "queued"


def test_stop_webhook_needs_the_shared_key(app, client, query, monkeypatch):
    make_account(app)
    body = {"from": "+86 138 0000 0001", "text": "STOP"}
    assert client.post("/hooks/sms/inbound", json=body).status_code == 403  # no key configured: off
    monkeypatch.setitem(app.config, "SMS_INBOUND_KEY", KEY)
    assert client.post("/hooks/sms/inbound", json=body).status_code == 401
    assert client.post("/hooks/sms/inbound", json=body, headers={"X-SMS-Key": KEY + "x"}).status_code == 401
    assert query.one(select(CardAccount.flags)) == []
    other = client.post("/hooks/sms/inbound", data={"from": "13800000001", "text": "hello"}, headers={"X-SMS-Key": KEY})
    assert other.status_code == 200 and query.one(select(CardAccount.flags)) == []
    national = client.post(
        "/hooks/sms/inbound", data={"from": "13800000001", "text": "stop"}, headers={"X-SMS-Key": KEY}
    )  # a form post without the country code
    assert national.status_code == 200 and query.one(select(CardAccount.flags)) == ["optout_sms"]


def test_unsubscribe_link_in_email_works(app, client, query, frozen):
    account_id = make_account(app)
    issue(app, account_id, "email")
    body = query.one(select(OutboxMessage.body))
    url = re.search(r"http://localhost:5000(/unsubscribe/\S+)", body).group(1)
    page = client.get(url)
    assert page.status_code == 200 and "Li Na" not in page.get_data(as_text=True)
    assert query.one(select(CardAccount.flags)) == []  # opening is not enough: mail scanners open links
    assert client.post(url, data={}).status_code == 400  # no CSRF token
    done = client.post(url, data={"csrf_token": csrf_token(page.data)})
    assert done.status_code == 200 and query.one(select(CardAccount.flags)) == ["optout_email"]
    assert case_kinds(query, account_id)[-1] == "opted_out"
    # Honoured at once: the e-mail still waiting in the outbox is blocked when the worker comes.
    with app.app_context():
        report = deliver_due("test")
    assert report.blocked == 1 and query.one(select(OutboxMessage.status)) == "blocked"
    assert client.get(url[:-3] + "abc").status_code == 404
    assert client.get("/unsubscribe/not-a-token").status_code == 404


def test_one_click_unsubscribe_from_the_mail_client(app, client, query, frozen):
    # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to the header's address,
    # with no CSRF token and no page; the signed token in the address is the proof.
    account_id = make_account(app)
    issue(app, account_id, "email")
    url = re.search(r"http://localhost:5000(/unsubscribe/\S+)", query.one(select(OutboxMessage.body))).group(1)
    assert client.post(url, data={"List-Unsubscribe": "Yes"}).status_code == 400  # anything else: the form
    assert query.one(select(CardAccount.flags)) == []
    assert client.post(url[:-3] + "abc", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    done = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and query.one(select(CardAccount.flags)) == ["optout_email"]
    assert case_kinds(query, account_id)[-1] == "opted_out"
    again = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200 and query.one(select(CardAccount.flags)) == ["optout_email"]


def test_one_click_posts_from_one_mail_provider_are_not_limited_by_its_address(app, client, query, frozen):
    # Gmail posts every cardholder's one-click unsubscribe from the same few servers: the
    # per-address limit of the page (30 an hour) must not refuse the 31st cardholder.
    accounts = [make_account(app, card=card_number(500 + n)) for n in range(32)]
    with unit(app):
        urls = [unsubscribe_url(a).removeprefix("http://localhost:5000") for a in accounts]
    answers = [client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code for url in urls]
    assert answers == [200] * 32
    assert query(select(CardAccount.flags)) == [["optout_email"]] * 32
    # One unsubscribe address hammered on its own is still limited.
    repeated = [client.post(urls[0], data={"List-Unsubscribe": "One-Click"}).status_code for _ in range(12)]
    assert 429 in repeated


# --- contact rules through the service ----------------------------------------------


def test_a_link_issued_at_night_is_held_until_eight(app, query, frozen):
    frozen.set(datetime(2026, 11, 28, 22, 30, tzinfo=SH))
    account_id = make_account(app)
    link_id, _ = issue(app, account_id)
    message = query.one(select(OutboxMessage))
    assert message.status == "queued" and message.held_reason == "outside_hours"
    assert message.send_after == datetime(2026, 11, 29, 8, 0, tzinfo=SH)
    with app.app_context():
        assert deliver_due("test").claimed == 0
    frozen.set(datetime(2026, 11, 29, 8, 0, tzinfo=SH))
    with app.app_context():
        assert deliver_due("test").sent == 1
    assert get_link(app, link_id).sent_at == datetime(2026, 11, 29, 8, 0, tzinfo=SH)


def test_daily_cap_blocks_the_fourth_message(app, query, frozen):
    account_id = make_account(app)
    for _ in range(3):
        issue(app, account_id)
        with app.app_context():
            assert deliver_due("test").sent == 1  # sent: it counts (a revoked, unsent one would not)
    with pytest.raises(LinkError) as error, unit(app):
        issue_plan_link(account_id, "email", Actor("staff", "1"))
    assert (error.value.code, error.value.detail) == ("contact_blocked", "daily_cap")
    assert query(select(OutboxMessage.status).order_by(OutboxMessage.id)) == ["sent"] * 3 + ["blocked"]


@pytest.mark.parametrize("flag", ["do_not_contact", "dispute"])
def test_no_contact_flags_block_links_but_not_sign_in_codes(app, client, query, frozen, flag):
    frozen.set(datetime(2026, 11, 28, 23, 30, tzinfo=SH))  # night: codes still go at once
    account_id = make_account(app, flags=[flag])
    with pytest.raises(LinkError) as error, unit(app):
        issue_plan_link(account_id, "sms", Actor("staff", "1"))
    assert error.value.detail == flag
    CardholderAuth(client).start()
    with app.app_context():
        report = deliver_due("test")
    assert report.sent == 1
    sent = query.one(select(OutboxMessage).where(OutboxMessage.kind == "signin_code"))
    assert sent.status == "sent" and sent.recipient == "+86 138 0000 0001"


def test_an_active_plan_stops_collection(app, query, frozen):
    account_id = make_account(app)
    issue(app, account_id)
    make_plan(app, account_id, "installment", "en")
    with app.app_context():
        with pytest.raises(LinkError) as error:
            issue_plan_link(account_id, "sms", Actor("staff", "1"))
        assert error.value.detail == "active_plan"
        assert deliver_due("test").blocked == 1  # the link queued before the plan is not sent
    assert query(select(OutboxMessage.blocked_reason).order_by(OutboxMessage.id)) == ["active_plan", "active_plan"]


def test_revoking_stops_the_link_and_its_queued_message(app, client, query, frozen):
    frozen.set(datetime(2026, 11, 28, 22, 30, tzinfo=SH))
    account_id = make_account(app)
    link_id, token = issue(app, account_id)
    with unit(app):
        revoke_link(link_id, Actor("staff", "1"))
    assert query.one(select(OutboxMessage.blocked_reason)) == "link_revoked"
    assert client.get(f"/l/{token}").status_code == 410
    assert get_link(app, link_id).status(utcnow()) == "revoked"
    assert "link_revoked" in case_kinds(query, account_id)


def test_sign_in_still_works_without_a_link(app, client, auth):
    make_account(app)
    assert auth.sign_in().headers["Location"].endswith("/account")
    with client:
        client.get("/account")
        assert link_for_session(1) is None
