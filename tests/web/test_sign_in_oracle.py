"""The first sign-in step tells nobody whether a card number and date of birth match.

Three strangers try: an unknown card, a real card with a wrong date of birth, and the
right pair. Each then posts wrong codes well past every limit. What each of them sees,
status and page (less the CSRF token), must be the same at every step, and one
person's tries must never hold back another's.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.auth.models import OneTimeCode
from portal.notifications.models import OutboxMessage
from tests.conftest import CARD, DOB, CardholderAuth, csrf_token, last_code, make_account

CASES = {
    "unknown card": ("4111111111111111", DOB.isoformat()),
    "wrong birth date": (CARD, "1990-01-01"),
    "right pair": (CARD, DOB.isoformat()),
}
POSTS = 13  # past the per-challenge and per-address limits (10) and the 5-try lock


def at(app, address: str) -> CardholderAuth:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return CardholderAuth(client)


def seen(response) -> tuple[int, str | None, str]:
    """What an outsider can compare: status, redirect target, page without its CSRF token."""
    body = re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1", response.get_data(as_text=True))
    return response.status_code, response.headers.get("Location"), body


def wrong_code(app) -> str:
    with app.app_context():
        sent = app.extensions["sqlalchemy"].session.execute(select(func.count()).select_from(OutboxMessage)).scalar()
    return "111111" if sent and last_code(app) == "000000" else "000000"


def attempt(app, address: str, card: str, dob: str) -> list[tuple[int, str | None, str]]:
    person = at(app, address)
    steps = [seen(person.start(card, dob))]
    code = wrong_code(app)
    for _ in range(POSTS):
        token = csrf_token(person.client.get("/sign-in/code").data)
        steps.append(seen(person.client.post("/sign-in/code", data={"csrf_token": token, "code": code})))
    return steps


def test_every_outcome_of_the_first_step_looks_the_same_after_many_code_posts(app, query):
    make_account(app)
    outcomes = {name: attempt(app, f"203.0.113.{n + 10}", *details) for n, (name, details) in enumerate(CASES.items())}
    unknown, wrong_date, right = outcomes.values()
    assert [step[0] for step in right] == [302] + [422] * 10 + [429] * (POSTS - 10)
    assert unknown == wrong_date == right
    # Every first step opened its own pending challenge; only the right pair got a text.
    assert query.one(select(func.count()).select_from(OneTimeCode)) == 3
    assert query.one(select(func.count()).select_from(OutboxMessage)) == 1


def test_one_clients_code_posts_do_not_hold_back_another(app):
    make_account(app)
    attacker = attempt(app, "198.51.100.7", "4111111111111111", DOB.isoformat())
    assert attacker[-1][0] == 429
    # Another stranger, elsewhere, with details that match nobody: a fresh bucket.
    other = attempt(app, "192.0.2.44", "4000000000000002", "1970-01-01")
    assert [step[0] for step in other[:2]] == [302, 422]
    # The cardholder, on their own phone, signs in as usual.
    holder = at(app, "10.20.30.40")
    holder.start()
    assert holder.enter(last_code(app)).headers["Location"].endswith("/account")


def test_a_stranger_typing_a_card_number_does_not_use_up_the_holders_tries(app):
    make_account(app)
    stranger = at(app, "198.51.100.8")
    statuses = [stranger.start(dob="1970-01-01").status_code for _ in range(11)]
    assert statuses[-1] == 429
    holder = at(app, "10.20.30.41")
    assert holder.start().status_code == 302
    assert holder.enter(last_code(app)).headers["Location"].endswith("/account")
