"""Sessions end on the server: sign-out, lifetimes, lockout; the cookie holds no figures.

The session behaviours run twice (``session_store``): with sessions and code counters in
the database, the default, and in the shared Redis, as ``PORTAL_REDIS_URL`` makes them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal import clock
from portal.auth.attempts import KEY as ATTEMPTS
from portal.auth.models import OneTimeCode, WebSession
from portal.auth.redis_sessions import EPOCH, PRINCIPAL, SESSION
from portal.auth.server_sessions import check_session, end_session, end_sessions, start_session
from portal.auth.service import CODE_LIFETIME
from portal.extensions import db
from portal.staff.management import reissue_enrolment, set_active
from portal.staff.models import Role
from tests.conftest import CardholderAuth, csrf_token, last_code, make_account, sql_statements, unit
from tests.redis_helpers import redis_sessions, shared_redis
from tests.staff_helpers import StaffAuth, make_staff
from tests.web.test_journey import post

COOKIE = "portal_session"


@pytest.fixture
def policy(app):
    from portal.audit.service import SYSTEM
    from portal.policies.service import ensure_default_policy

    with unit(app):
        ensure_default_policy(SYSTEM)
        db.session.commit()


def cookie(client) -> str:
    found = client.get_cookie(COOKIE)
    assert found is not None, "no session cookie"
    return found.value


def replay(app, value: str):
    """A second browser holding a copy of the cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, value)
    return thief


def session_data(app, value: str) -> dict:
    return app.session_interface.get_signing_serializer(app).loads(value)


def test_a_cardholder_cookie_copied_before_sign_out_opens_nothing_after(app, client, auth, session_store):
    make_account(app)
    auth.sign_in()
    copied = cookie(client)
    assert replay(app, copied).get("/account").status_code == 200
    client.post("/sign-out", data={"csrf_token": csrf_token(client.get("/account").data)})
    response = replay(app, copied).get("/account")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_a_staff_cookie_copied_before_sign_out_opens_nothing_after(app, client, frozen, session_store):
    _, email, password, secret = make_staff(app, Role.AGENT)
    staff = StaffAuth(client)
    staff.sign_in(email, password, secret)
    copied = cookie(client)
    assert replay(app, copied).get("/care/").status_code == 200
    staff.sign_out()
    response = replay(app, copied).get("/care/")
    assert response.status_code == 302 and "/care/sign-in" in response.headers["Location"]


def test_absolute_lifetime_ends_even_a_busy_session(app, client, auth, frozen, session_store):
    make_account(app)
    auth.sign_in()
    assert client.get_cookie(COOKIE).expires is not None  # a permanent cookie, with its own end
    start = clock.now()
    for minutes in range(10, 8 * 60, 10):  # a request every 10 minutes: never idle
        frozen.set(start + timedelta(minutes=minutes))
        assert client.get("/account").status_code == 200, minutes
    frozen.set(start + timedelta(hours=8, minutes=1))
    assert client.get("/account").status_code == 302
    assert client.get("/account").status_code == 302


def test_idle_limit_holds_on_the_server_whatever_the_cookie_says(app, client, auth, frozen, session_store):
    make_account(app)
    auth.sign_in()
    copied = cookie(client)
    frozen.set(clock.now() + timedelta(minutes=16))
    # The copy was never used, so the browser kept no "last seen"; the server did.
    assert replay(app, copied).get("/account").status_code == 302
    assert client.get("/account").status_code == 302


def test_re_enrolment_deactivation_and_card_lockout_end_sessions(app, client, auth, query, frozen, session_store):
    _, email, password, secret = make_staff(app, Role.AGENT)
    StaffAuth(client).sign_in(email, password, secret)
    with unit(app):
        reissue_enrolment(email, _cli_actor(), app.config["SECRET_KEY"])
    assert client.get("/care/").status_code == 302

    _, other, other_password, other_secret = make_staff(app, Role.AGENT)
    desk = app.test_client()
    StaffAuth(desk).sign_in(other, other_password, other_secret)
    with unit(app):
        set_active(other, False, _cli_actor())
    assert desk.get("/care/").status_code == 302
    if session_store is None:
        reasons = query(select(WebSession.end_reason).order_by(WebSession.id))
    else:
        reasons = [stored.get("reason") for stored in redis_sessions(session_store)]
    assert sorted(reasons) == ["deactivated", "reenrolled"]


def test_five_wrong_codes_end_the_cardholders_open_sessions(app, auth, frozen, session_store):
    make_account(app)
    phone = app.test_client()
    CardholderAuth(phone).sign_in()
    assert phone.get("/account").status_code == 200
    auth.start()
    right = last_code(app)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        auth.enter(wrong)
    assert phone.get("/account").status_code == 302


def test_the_cookie_holds_no_budget_figures(app, client, auth, policy):
    make_account(app)
    auth.sign_in()
    figures = {"earnings": "9876.54", "housing": "3210.98", "food_housekeeping": "1500.50"}
    assert post(client, "/plan/budget", figures).status_code == 302
    data = session_data(app, cookie(client))
    dump = json.dumps(data)
    for value in ("9876", "3210", "1500"):
        assert value not in dump
    assert "budget" not in data and isinstance(data["budget_event"], int)
    # The offers still use the budget, read back from the case file.
    assert "From what you told us" in client.get("/plan/offers").get_data(as_text=True)


def test_a_budget_reference_from_another_account_is_ignored(app, client, auth, policy):
    make_account(app)
    auth.sign_in()
    post(client, "/plan/budget", {"earnings": "9876.54", "housing": "3000"})
    budget_event = session_data(app, cookie(client))["budget_event"]
    client.post("/sign-out", data={"csrf_token": csrf_token(client.get("/account").data)})
    make_account(app, card="6222000000000025", reference="T2")
    auth.sign_in(card="6222000000000025")
    with client.session_transaction() as sess:
        sess["budget_event"] = budget_event
    assert "From what you told us" not in client.get("/plan/offers").get_data(as_text=True)


def _cli_actor():
    from portal.audit.service import Actor

    return Actor("system", "test")


def test_sessions_are_stored_as_hashes(app, client, auth, query, session_store):
    make_account(app)
    auth.sign_in()
    token = session_data(app, cookie(client))["sid"]
    if session_store is None:
        stored = query(select(WebSession.token_hash))
        assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64
        with unit(app):
            assert db.session.execute(select(WebSession.principal)).scalar_one().startswith("c:")
        return
    [key] = session_store.scan_iter(SESSION + "*")
    assert token not in key and len(key.removeprefix(SESSION)) == 64 and token not in str(session_store.hgetall(key))
    assert session_store.hget(key, "principal").startswith("c:")
    assert query(select(WebSession.id)) == []  # nothing about sessions in the database


def test_a_request_checks_its_session_with_one_query_or_none_in_redis(app, client, auth, frozen, session_store):
    make_account(app)
    auth.sign_in()
    with sql_statements(app, "web_sessions") as seen:
        assert client.get("/account").status_code == 200
    assert len(seen) == (1 if session_store is None else 0)


def last_seen(query, session_store) -> datetime:
    if session_store is None:
        return query.one(select(WebSession.last_seen_at))
    [stored] = redis_sessions(session_store)
    return EPOCH + timedelta(microseconds=int(stored["seen"]))


def test_activity_is_noted_at_most_every_30_seconds(app, client, auth, query, frozen, session_store):
    make_account(app)
    auth.sign_in()
    start = clock.now()
    frozen.set(start + timedelta(seconds=29))
    assert client.get("/account").status_code == 200
    assert last_seen(query, session_store) == start  # nothing written
    frozen.set(start + timedelta(seconds=30))
    assert client.get("/account").status_code == 200
    assert last_seen(query, session_store) == start + timedelta(seconds=30)
    # Idle is counted from there: 15 minutes later is still in time, a moment more is not.
    frozen.set(start + timedelta(seconds=30, minutes=15))
    assert client.get("/account").status_code == 200
    frozen.set(start + timedelta(seconds=31, minutes=30, microseconds=1))
    assert client.get("/account").status_code == 302


def test_redis_forgets_sessions_and_code_counts_by_itself(app, client, auth, frozen):
    make_account(app)
    with shared_redis(app) as redis:
        auth.sign_in()
        [key] = redis.scan_iter(SESSION + "*")
        [index] = redis.scan_iter(PRINCIPAL + "*")
        lifetime_ms = app.config["PERMANENT_SESSION_LIFETIME"] // timedelta(milliseconds=1)
        for name in (key, index):
            assert 2 * lifetime_ms < redis.pttl(name) <= 2 * lifetime_ms + 60_000
        other = app.test_client()
        CardholderAuth(other).start()
        CardholderAuth(other).enter(wrong_code(last_code(app)))
        counters = list(redis.scan_iter(ATTEMPTS + "*"))  # one try for each sign-in
        assert [redis.get(counter) for counter in counters] == ["1", "1"]
        assert all(0 < redis.ttl(counter) <= CODE_LIFETIME.total_seconds() for counter in counters)
        # The lock, not the count, is in the database; the row counts nothing per try.
        assert query_attempts(app) == [0, 0]
        client.post("/sign-out", data={"csrf_token": csrf_token(client.get("/account").data)})
        assert redis.hget(key, "reason") == "signed_out" and redis.pttl(key) > 0


def query_attempts(app) -> list[int]:
    with app.app_context():
        return list(db.session.execute(select(OneTimeCode.attempts).order_by(OneTimeCode.id)).scalars())


def wrong_code(right: str) -> str:
    return "000000" if right != "000000" else "111111"


IDLE, LIFETIME = timedelta(minutes=15), timedelta(hours=8)


def test_ending_all_of_a_principals_sessions_counts_the_open_ones(app, frozen, session_store):
    now = clock.now()
    with unit(app):
        tokens = [start_session("s:7", now) for _ in range(3)]
        other = start_session("s:8", now)
    with unit(app):
        end_session(tokens[0], now)
    with unit(app):
        assert end_sessions("s:7", "locked") == 2
    with unit(app):
        assert [check_session(token, "s:7", now, IDLE, LIFETIME) for token in tokens] == ["ended"] * 3
        assert check_session(other, "s:7", now, IDLE, LIFETIME) == "unknown"  # another person's token
        assert check_session(other, "s:8", now, IDLE, LIFETIME) is None
        assert check_session("made-up", "s:8", now, IDLE, LIFETIME) == "unknown"
        assert check_session(None, "s:8", now, IDLE, LIFETIME) == "unknown"


def test_a_session_begun_by_a_request_that_fails_is_never_stored_in_redis(app, frozen):
    """A session in Redis is written once its sign-in committed, as a row would be."""
    with shared_redis(app) as redis:
        with pytest.raises(RuntimeError), unit(app):
            token = start_session("c:1", clock.now())
            raise RuntimeError("the request failed after signing in")
        assert list(redis.scan_iter(SESSION + "*")) == []
        with unit(app):
            token = start_session("c:1", clock.now())
            assert list(redis.scan_iter(SESSION + "*")) == []  # not before the commit
        with unit(app):
            assert check_session(token, "c:1", clock.now(), IDLE, LIFETIME) is None
