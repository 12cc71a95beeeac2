"""Wrong codes tried at once, as from workers on several nodes: the limit holds, whether
the tries are counted on the code's row (the default) or in the shared Redis."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.auth.models import OneTimeCode
from portal.extensions import db
from tests.conftest import CardholderAuth, csrf_token, last_code, make_account

COOKIE = "portal_session"
TRIES = 8


@pytest.mark.real_commits  # each try is a request on a connection of its own
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has one writer
def test_wrong_codes_at_once_end_the_challenge_and_lock_once(app, session_store):
    make_account(app)
    browser = app.test_client()
    CardholderAuth(browser).start()
    right = last_code(app)
    wrong = "000000" if right != "000000" else "111111"
    held = browser.get_cookie(COOKIE).value
    start = threading.Barrier(TRIES)

    def guess(_: int) -> int:
        thief = app.test_client()
        thief.set_cookie(COOKIE, held)
        token = csrf_token(thief.get("/sign-in/code").data)
        start.wait()
        return thief.post("/sign-in/code", data={"csrf_token": token, "code": wrong}).status_code

    with ThreadPoolExecutor(TRIES) as pool:
        statuses = list(pool.map(guess, range(TRIES)))
    assert statuses == [422] * TRIES
    assert CardholderAuth(browser).enter(right).status_code == 422  # the right code, too late
    with app.app_context():
        actions = list(db.session.execute(select(AuditEvent.action)).scalars())
        locked_until = db.session.execute(select(CardAccount.signin_locked_until)).scalar_one()
        code = db.session.execute(select(OneTimeCode)).scalar_one()
    assert actions.count(Action.SignIn.LOCKED) == 1 and actions.count(Action.SignIn.SUCCEEDED) == 0
    assert actions.count(Action.SignIn.CODE_FAILED) == TRIES  # the other tries and the late right one
    assert locked_until is not None and code.used_at is not None and code.attempts == 5
    if session_store is not None:
        assert int(session_store.get(f"portal:otp:{code.challenge_hash}")) == TRIES + 1


@pytest.mark.real_commits
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_right_code_racing_the_fifth_wrong_one_either_signs_in_or_locks(app, session_store):
    make_account(app)
    browser = app.test_client()
    auth = CardholderAuth(browser)
    auth.start()
    right = last_code(app)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(3):
        assert auth.enter(wrong).status_code == 422
    held = browser.get_cookie(COOKIE).value
    codes = [right, right, wrong, wrong]  # two right ones: one sign-in at most
    start = threading.Barrier(len(codes))

    def enter(code: str) -> int:
        other = app.test_client()
        other.set_cookie(COOKIE, held)
        token = csrf_token(other.get("/sign-in/code").data)
        start.wait()
        return other.post("/sign-in/code", data={"csrf_token": token, "code": code}).status_code

    with ThreadPoolExecutor(len(codes)) as pool:
        statuses = list(pool.map(enter, codes))
    with app.app_context():
        actions = list(db.session.execute(select(AuditEvent.action)).scalars())
    outcomes = actions.count(Action.SignIn.SUCCEEDED) + actions.count(Action.SignIn.LOCKED)
    assert outcomes == 1 and statuses.count(302) == actions.count(Action.SignIn.SUCCEEDED), (statuses, actions)
