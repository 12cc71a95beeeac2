"""Pending agreements are retried by the outbox worker, with backoff, until produced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.agreements import signing
from portal.agreements.models import Agreement
from portal.agreements.service import produce_agreement, retry_delay, retry_due_agreements
from portal.extensions import db
from tests.conftest import make_account
from tests.plan_factories import make_pending_agreement, make_plan

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def no_key(*args, **kwargs):
    raise OSError("the key is unreadable")


def stored(app, agreement_id: int) -> Agreement:
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        db.session.expunge(agreement)
        return agreement


def test_the_wait_doubles_from_a_minute_up_to_an_hour():
    assert [retry_delay(n).total_seconds() / 60 for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_failed_agreement_is_retried_when_due_and_then_produced(app, frozen, monkeypatch):
    agreement_id = make_pending_agreement(app, make_plan(app, make_account(app), "settlement", "en"))
    monkeypatch.setattr(signing, "sign_pdf", no_key)
    with app.app_context():
        assert produce_agreement(agreement_id) is False  # as the accepting request tries it
    assert stored(app, agreement_id).next_attempt_at == NOW + timedelta(minutes=1)
    with app.app_context():
        assert retry_due_agreements().pending == 0  # not due yet
    frozen.set(NOW + timedelta(minutes=1))
    with app.app_context():
        assert retry_due_agreements().failed == 1  # still no key: wait longer
    assert stored(app, agreement_id).next_attempt_at == NOW + timedelta(minutes=3)
    assert stored(app, agreement_id).attempts == 2
    monkeypatch.undo()
    frozen.set(NOW + timedelta(minutes=3))
    with app.app_context():
        result = retry_due_agreements()
    assert (result.pending, result.produced) == (1, 1)
    agreement = stored(app, agreement_id)
    assert (agreement.state, agreement.attempts, agreement.next_attempt_at) == ("signed", 3, None)


def test_an_agreement_never_tried_is_left_to_its_request_for_a_minute(app, frozen):
    agreement_id = make_pending_agreement(app, make_plan(app, make_account(app), "settlement", "en"))
    with app.app_context():
        assert retry_due_agreements().pending == 0
    frozen.set(NOW + timedelta(minutes=1))
    with app.app_context():
        assert retry_due_agreements().produced == 1
    assert stored(app, agreement_id).state == "signed"


def test_the_outbox_worker_retries_due_agreements(app, frozen, monkeypatch):
    agreement_id = make_pending_agreement(app, make_plan(app, make_account(app), "settlement", "en"))
    monkeypatch.setattr(signing, "sign_pdf", no_key)
    with app.app_context():
        produce_agreement(agreement_id)
    monkeypatch.undo()
    frozen.set(NOW + timedelta(minutes=2))
    result = app.test_cli_runner().invoke(args=["portal", "deliver", "--once"])
    assert result.exit_code == 0, result.output
    assert "agreements retried 1, produced 1, failed 0" in result.output
    assert stored(app, agreement_id).state == "signed"
