"""Copies of one call racing on PostgreSQL: one Idempotency-Key gives one payment and one
answer; one webhook-id is accepted once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from portal.payments.models import Payment
from tests.api_helpers import SECRET, ApiClient, payment
from tests.conftest import make_account

# SQLite has one writer: these races exist on PostgreSQL only, so only it is asked for.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.real_commits,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
COPIES = 8


@pytest.fixture
def api(app):
    app.config["API_SECRETS"] = (SECRET,)
    make_account(app, reference="DEMO0001")
    yield ApiClient(app)
    app.config["API_SECRETS"] = ()


def race(calls) -> list:
    start = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(index: int) -> None:
        start.wait(timeout=30)
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_concurrent_calls_with_one_idempotency_key_make_one_payment_and_one_answer(app, api, query):
    answers = race([lambda: ApiClient(app).post_payment(payment(), key="same-key") for _ in range(COPIES)])
    assert [a.status_code for a in answers] == [201] * COPIES
    assert len({a.get_data() for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == COPIES - 1
    assert len(query(select(Payment))) == 1


def test_concurrent_copies_of_one_message_are_accepted_once(app, api, query):
    answers = race(
        [lambda n=n: ApiClient(app).post_payment(payment(f"P-{n}"), webhook_id="one-message") for n in range(COPIES)]
    )
    assert sorted(a.status_code for a in answers) == [201] + [409] * (COPIES - 1)
    assert len(query(select(Payment))) == 1
