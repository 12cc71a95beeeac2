"""Cardholder sign-in through the real pages, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.auth.models import OneTimeCode
from portal.notifications.models import OutboxMessage
from tests.conftest import CARD, csrf_token, last_code, make_account

GENERIC = b"These details did not work"


def failed_codes(query) -> int:
    """Attempts that reached the code check and were refused there."""
    return query.one(select(func.count()).where(AuditEvent.action == "signin.code_failed"))


def test_sign_in_with_code_shows_account(app, client, auth, query):
    make_account(app)
    response = auth.start()
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in/code")
    sms = query.one(select(OutboxMessage))
    assert sms.channel == "sms" and sms.kind == "signin_code" and sms.recipient.startswith("+86")
    response = auth.enter(last_code(app))
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    page = client.get("/account")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Li Na" in html and "CN¥" in html


def test_card_with_spaces_and_fullwidth_digits_is_accepted(app, auth):
    make_account(app)
    spaced = "６２２２ 0000 0000 0017"
    assert auth.start(card=spaced).status_code == 302
    assert auth.enter(last_code(app)).headers["Location"].endswith("/account")


def test_code_is_stored_hashed_and_never_plain(app, auth, query):
    make_account(app)
    auth.start()
    code = last_code(app)
    otp = query.one(select(OneTimeCode))
    assert code not in otp.code_hash and len(otp.code_hash) == 64


def test_unknown_card_and_wrong_date_look_the_same_as_a_wrong_code(app, client, auth, query):
    make_account(app)
    unknown = auth.start(card="4111111111111111")
    assert unknown.status_code == 302  # same next step whether or not the card exists
    assert query.one(select(func.count()).select_from(OutboxMessage)) == 0
    first = auth.enter("123456")
    assert first.status_code == 422 and GENERIC in first.data

    wrong_date = auth.start(dob="1990-01-01")
    assert wrong_date.status_code == 302
    second = auth.enter("123456")
    assert second.status_code == 422 and GENERIC in second.data

    auth.start()
    third = auth.enter("000000" if last_code(app) != "000000" else "111111")
    assert third.status_code == 422 and GENERIC in third.data


def test_malformed_card_number_and_date_get_form_messages(app, client, auth):
    for card, dob in [
        ("1234", "1988-04-12"),
        ("6222000000000018", "1988-04-12"),
        ("abc" * 5, "1988-04-12"),
        (CARD, "1988-13-45"),
        (CARD, "2999-01-01"),
        (CARD, ""),
        ("", "1988-04-12"),
        ("<script>alert(1)</script>", "'; drop table x;--"),
    ]:
        response = auth.start(card=card, dob=dob)
        assert response.status_code == 422, (card, dob)
        assert b"Please check what you entered" in response.data
        assert b"<script>alert" not in response.data


def test_what_one_visitor_typed_never_shows_in_anothers_empty_form(app, client, auth):
    """The empty form is kept once per language (templates/auth/sign_in.html); a form sent
    back with its messages shows what was typed and must never be the one kept."""
    first = client.get("/sign-in").text
    refused = auth.start(card="4000 1234 5678 9999", dob="1988-13-45")
    assert refused.status_code == 422 and 'value="4000 1234 5678 9999"' in refused.text
    again = app.test_client().get("/sign-in")
    assert again.status_code == 200 and "4000 1234 5678 9999" not in again.text
    assert "Please check what you entered" not in again.text
    assert csrf_token(again.text) != csrf_token(first)  # each visitor their own token
    assert again.text.replace(csrf_token(again.text), "") == first.replace(csrf_token(first), "")


def test_malformed_code_gets_a_message(app, auth):
    make_account(app)
    auth.start()
    for code in ["12345", "1234567", "abcdef", "１２３", "12 34 5x"]:
        response = auth.enter(code)
        assert response.status_code == 422 and b"The code is 6 digits" in response.data
    response = auth.enter("")
    assert response.status_code == 422 and b"Enter the 6-digit code" in response.data


def test_five_wrong_codes_lock_the_card_for_fifteen_minutes(app, client, auth, frozen, query):
    make_account(app)
    auth.start()
    right = last_code(app)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        assert auth.enter(wrong).status_code == 422
    # Even the right code is refused now, with the same message.
    response = auth.enter(right)
    assert response.status_code == 422 and GENERIC in response.data
    # A new code cannot be requested while locked: nothing is sent.
    before = query.one(select(func.count()).select_from(OutboxMessage))
    auth.start()
    assert query.one(select(func.count()).select_from(OutboxMessage)) == before
    assert query.one(select(func.count()).where(AuditEvent.action == "signin.locked")) == 1

    frozen.set(datetime(2026, 11, 28, 4, 16, tzinfo=UTC))
    auth.start()
    assert auth.enter(last_code(app)).headers["Location"].endswith("/account")


def test_code_expires_after_five_minutes(app, auth, frozen, query):
    make_account(app)
    auth.start()
    code = last_code(app)
    frozen.set(datetime(2026, 11, 28, 4, 5, 1, tzinfo=UTC))
    response = auth.enter(code)
    # The right code, refused by the sign-in check itself (not the form): the one generic
    # message, and the failed attempt is on the record against the card.
    assert response.status_code == 422 and GENERIC in response.data
    assert failed_codes(query) == 1


def test_a_used_code_cannot_be_replayed(app, client, auth, query):
    make_account(app)
    auth.start()
    with client.session_transaction() as sess:
        challenge = sess["pending_signin"]
    code = last_code(app)
    auth.enter(code)
    token = csrf_token(client.get("/account").data)
    client.post("/sign-out", data={"csrf_token": token})
    client.get("/sign-in")
    with client.session_transaction() as sess:
        sess["pending_signin"] = challenge
    response = auth.enter(code)
    assert response.status_code == 422 and GENERIC in response.data
    assert failed_codes(query) == 1
    assert query.one(select(func.count()).where(AuditEvent.action == "signin.succeeded")) == 1


def test_session_is_renewed_at_sign_in(app, client, auth):
    make_account(app)
    client.get("/sign-in")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    auth.sign_in()
    with client.session_transaction() as sess:
        assert "planted" not in sess and "pending_signin" not in sess


def test_sign_out_and_idle_timeout(app, client, auth, frozen):
    make_account(app)
    auth.sign_in()
    assert client.get("/account").status_code == 200
    frozen.set(datetime(2026, 11, 28, 4, 14, tzinfo=UTC))
    assert client.get("/account").status_code == 200  # activity renews the idle timer
    frozen.set(datetime(2026, 11, 28, 4, 14, tzinfo=UTC) + timedelta(minutes=15, seconds=1))
    response = client.get("/account")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert client.get("/account").status_code == 302

    auth.sign_in()
    page = client.get("/account")
    response = client.post("/sign-out", data={"csrf_token": csrf_token(page.data)})
    assert response.status_code == 302
    assert client.get("/account").status_code == 302


def test_rate_limit_by_card_gives_a_translated_429(app, client, auth):
    make_account(app)
    statuses = [auth.start(dob="1970-01-01").status_code for _ in range(11)]
    assert statuses[-1] == 429 and 500 not in statuses
    with client.session_transaction() as sess:
        sess["locale"] = "zh_Hans"
    assert auth.start(dob="1970-01-01").status_code == 429


def test_audit_trail_records_sign_in_without_card_numbers_or_codes(app, auth, query):
    make_account(app)
    auth.start()
    code = last_code(app)
    auth.enter(code)
    events = query(select(AuditEvent))
    assert [e.action for e in events] == ["signin.code_sent", "signin.succeeded"]
    dump = repr([(e.before, e.after, e.object_id, e.actor_id) for e in events])
    assert CARD not in dump and code not in dump
