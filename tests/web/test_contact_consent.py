"""A cardholder's own wish not to be contacted: STOP replies, other replies, who may undo an
opt-out or do-not-contact, and the cardholder's contact preferences page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.audit.models import AuditEvent
from portal.cases.models import CaseEvent
from portal.staff.models import Role
from tests.conftest import CardholderAuth, csrf_token, make_account, unit
from tests.staff_helpers import StaffAuth, signed_in_staff

KEY = "inbound-test-key"
PHONE = "+8613800000001"


@pytest.fixture
def hook(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_INBOUND_KEY", KEY)

    def send(text: str, sender: str = PHONE) -> dict:
        response = client.post("/hooks/sms/inbound", json={"from": sender, "text": text}, headers={"X-SMS-Key": KEY})
        assert response.status_code == 200, response.data
        return response.get_json()

    return send


def flags(query) -> list[str]:
    return query.one(select(CardAccount.flags))


def case_events(query, account_id: int) -> list[CaseEvent]:
    return query(select(CaseEvent).where(CaseEvent.account_id == account_id).order_by(CaseEvent.id))


def post_flag(client, account_id: int, **data: str):
    page = client.get(f"/care/accounts/{account_id}")
    return client.post(f"/care/accounts/{account_id}/flags", data={"csrf_token": csrf_token(page.data), **data})


# --- item 9: replies by text ---------------------------------------------------------


@pytest.mark.parametrize("text", ["退訂", "取消", "stop please", "Please STOP.", "退订，谢谢"])
def test_stop_words_in_each_language_stop_texts(app, query, hook, frozen, text):
    account_id = make_account(app)
    assert hook(text) == {"ok": True, "opted_out": 1, "filed": 0}
    assert flags(query) == ["optout_sms"]
    [event] = case_events(query, account_id)
    assert (event.kind, event.data) == ("opted_out", {"channel": "sms", "via": "sms_reply", "text": text})


def test_any_other_reply_reaches_the_case_file_for_an_agent(app, client, query, hook, frozen):
    account_id = make_account(app)
    assert hook("I lost my job last month, can someone call me after 6?\x00") == {
        "ok": True,
        "opted_out": 0,
        "filed": 1,
    }
    assert flags(query) == []  # not a STOP word: nothing stops, and nothing is dropped
    [event] = case_events(query, account_id)
    assert (event.kind, event.actor_type) == ("sms_reply", "cardholder")
    assert event.data == {"text": "I lost my job last month, can someone call me after 6?"}  # NUL dropped
    audit = query.one(select(AuditEvent).where(AuditEvent.action == "contact.reply_received"))
    assert audit.after == {"event": event.id, "channel": "sms", "length": 54}  # the words stay on the case file
    signed_in_staff(app, client, Role.AGENT)
    page = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert "Text message reply" in page and "can someone call me after 6?" in page


def test_a_reply_from_an_unknown_phone_or_an_empty_one_changes_nothing(app, query, hook, frozen):
    make_account(app)
    assert hook("hello", sender="+8613999999999") == {"ok": True, "opted_out": 0, "filed": 0}
    assert hook("  ") == {"ok": True, "opted_out": 0, "filed": 0}
    assert query(select(CaseEvent)) == []


# --- item 7: who may undo an opt-out or do-not-contact --------------------------------


@pytest.mark.parametrize("flag", ["optout_sms", "optout_email", "do_not_contact"])
def test_an_agent_cannot_clear_the_cardholders_wish_not_to_be_contacted(app, client, query, frozen, flag):
    account_id = make_account(app, flags=[flag])
    signed_in_staff(app, client, Role.AGENT)
    page = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert "only they, or a supervisor at their documented request, can undo it" in page
    before = query(select(AuditEvent.id))
    refused = post_flag(client, account_id, flag=flag, action="clear", note="customer said ok")
    assert refused.status_code == 403
    assert "Only the cardholder can undo their opt-out" in refused.get_data(as_text=True)
    assert flags(query) == [flag] and case_events(query, account_id) == []
    assert [a for a in query(select(AuditEvent.action).where(AuditEvent.id.not_in(before))) if a != "case.viewed"] == []


def test_a_supervisor_clears_it_only_with_the_cardholders_documented_request(app, client, query, frozen):
    account_id = make_account(app, flags=["optout_sms", "dispute"])
    signed_in_staff(app, client, Role.SUPERVISOR)
    page = client.get(f"/care/accounts/{account_id}").get_data(as_text=True)
    assert 'for="note-optout_sms">The cardholder’s documented request' in page.replace("&#39;", "’").replace("'", "’")
    missing = post_flag(client, account_id, flag="optout_sms", action="clear", note="  ")
    assert missing.status_code == 422 and "Write down the cardholder" in missing.get_data(as_text=True)
    assert flags(query) == ["optout_sms", "dispute"]
    request = "Called 30 Nov 10:05 from their own number, asked for texts again; call ref C-1182"
    assert post_flag(client, account_id, flag="optout_sms", action="clear", note=request).status_code == 302
    assert flags(query) == ["dispute"]
    [event] = [e for e in case_events(query, account_id) if e.kind == "flag_cleared"]
    assert event.data == {"flag": "optout_sms", "note": request, "basis": "cardholder_request"}
    audit = query.one(select(AuditEvent).where(AuditEvent.action == "account.flag_cleared"))
    assert audit.after == {"flags": ["dispute"], "reason": request, "basis": "cardholder_request"}
    # Other flags keep their rules: a dispute needs no request note.
    assert post_flag(client, account_id, flag="dispute", action="clear").status_code == 302
    assert flags(query) == []


def test_the_service_refuses_an_agent_whatever_the_page(app, frozen):
    from portal.audit.service import Actor
    from portal.care.service import CareError, clear_flag, set_flag
    from portal.extensions import db
    from tests.staff_helpers import make_staff

    account_id = make_account(app)
    agent_id, *_ = make_staff(app, Role.AGENT)
    supervisor_id, *_ = make_staff(app, Role.SUPERVISOR)
    with unit(app):
        assert set_flag(account_id, "do_not_contact", Actor("staff", str(agent_id)), "asked on the phone")
    with app.app_context():
        with pytest.raises(CareError, match="cardholder_request_only"):
            clear_flag(account_id, "do_not_contact", Actor("staff", str(agent_id)), "asked again")
        with pytest.raises(CareError, match="request_note_required"):
            clear_flag(account_id, "do_not_contact", Actor("staff", str(supervisor_id)))
        db.session.rollback()
        assert db.session.get(CardAccount, account_id).flags == ["do_not_contact"]


# --- item 7: the cardholder's own contact preferences ----------------------------------


def preferences(client, **choices: str):
    page = client.get("/account/contact")
    return client.post("/account/contact", data={"csrf_token": csrf_token(page.data), **choices})


def test_the_account_page_links_to_contact_preferences(app, client, frozen):
    make_account(app)
    CardholderAuth(client).sign_in()
    assert 'href="/account/contact"' in client.get("/account").get_data(as_text=True)


def test_the_cardholder_opts_back_in_with_evidence(app, client, query, frozen):
    account_id = make_account(app, flags=["optout_sms"])
    CardholderAuth(client).sign_in()
    page = client.get("/account/contact").get_data(as_text=True)
    assert '<input checked id="sms-1" name="sms" required type="radio" value="off">' in page  # as it is now
    assert '<input checked id="email-0" name="email" required type="radio" value="on">' in page
    response = preferences(client, sms="on", email="on")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/contact")
    assert flags(query) == []
    [event] = [e for e in case_events(query, account_id) if e.kind == "opted_in"]
    assert event.actor_type == "cardholder" and event.data["channel"] == "sms"
    assert event.data["via"] == "contact_preferences"
    assert event.data["statement_version"] == "contact-preferences-1"
    assert event.data["statement"].startswith("When you choose yes, you agree")
    audit = query.one(select(AuditEvent).where(AuditEvent.action == "contact.opted_in"))
    assert audit.actor_type == "cardholder" and audit.ip == "127.0.0.1"
    assert audit.before == {"flags": ["optout_sms"]} and audit.after["flags"] == []
    # And off again: the same opt-out as a STOP reply.
    assert preferences(client, sms="off", email="off").status_code == 302
    assert flags(query) == ["optout_sms", "optout_email"]


def test_contact_preferences_refuse_anything_but_yes_or_no(app, client, query, frozen):
    make_account(app)
    CardholderAuth(client).sign_in()
    response = preferences(client, sms="maybe")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Please check what you entered" in html and 'href="#email"' in html
    assert flags(query) == []


def test_contact_preferences_need_a_signed_in_cardholder(app, client, frozen):
    assert client.get("/account/contact").status_code == 302
    signed_in_staff(app, client, Role.SUPERVISOR)
    assert client.get("/account/contact").status_code == 403
    StaffAuth(client).sign_out()


def test_without_an_e_mail_address_only_texts_are_offered(app, client, query, frozen):
    from portal.extensions import db

    account_id = make_account(app)
    with unit(app):
        db.session.get(CardAccount, account_id).cardholder.email = None
        db.session.commit()
    CardholderAuth(client).sign_in()
    page = client.get("/account/contact").get_data(as_text=True)
    assert 'name="sms"' in page and 'name="email"' not in page
    assert preferences(client, sms="off").status_code == 302
    assert flags(query) == ["optout_sms"]
