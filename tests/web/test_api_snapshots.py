"""``PUT /api/v1/accounts/<reference>``: balance snapshots, the newest of which wins."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.audit.models import AuditEvent
from tests.api_helpers import SECRET, ApiClient, snapshot, written
from tests.conftest import make_account


@pytest.fixture
def api(app, frozen):
    app.config["API_SECRETS"] = (SECRET,)
    make_account(app, reference="DEMO0001")
    yield ApiClient(app)
    app.config["API_SECRETS"] = ()


def account(query) -> CardAccount:
    return query(select(CardAccount))[0]


def test_a_snapshot_replaces_the_figures_and_is_audited_as_the_core_system(app, api, query):
    response = api.put_snapshot("DEMO0001", snapshot())
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["applied"] is True
    assert answer["account"] == {
        "reference": "DEMO0001", "currency": "CNY", "principal": "9500.00", "interest": "450.00",
        "fees": "0.00", "late_fees": "100.00", "balance": "10050.00", "overdue_amount": "1500.00",
        "minimum_due": "1600.00", "due_date": "2026-12-15", "days_past_due": 40,
        "snapshot_at": "2026-11-28T04:00:00+00:00",
    }  # fmt: skip
    held = account(query)
    assert (held.principal, held.interest, held.late_fees, held.overdue_amount, held.minimum_due) == (
        Decimal("9500.00"), Decimal("450.00"), Decimal("100.00"), Decimal("1500.00"), Decimal("1600.00"),
    )  # fmt: skip
    assert held.days_past_due == 40 and held.snapshot_at == datetime(2026, 11, 28, 4, tzinfo=UTC)
    (event,) = query(select(AuditEvent).where(AuditEvent.action == "account.snapshot_applied"))
    assert (event.actor_type, event.actor_id, event.object_type) == ("system", "core", "account")
    assert event.before["principal"] == "10000.00" and event.after["principal"] == "9500.00"


def test_an_older_snapshot_never_overwrites_a_newer_one(app, api, query):
    assert api.put_snapshot("DEMO0001", snapshot(as_of="2026-11-28T11:00:00+08:00")).get_json()["applied"]
    older = snapshot(as_of="2026-11-28T02:59:59Z", principal="1.00", minimum_due="0.00", days_past_due=1)
    response = api.put_snapshot("DEMO0001", older)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["applied"] is False
    assert (
        answer["account"]["principal"] == "9500.00" and answer["account"]["snapshot_at"] == "2026-11-28T03:00:00+00:00"
    )
    held = account(query)
    assert (held.principal, held.days_past_due) == (Decimal("9500.00"), 40)
    same_time = snapshot(as_of="2026-11-28T03:00:00Z", principal="2.00", minimum_due="0.00")
    assert api.put_snapshot("DEMO0001", same_time).get_json()["applied"] is False
    assert account(query).principal == Decimal("9500.00")
    newer = snapshot(as_of="2026-11-28T11:30:00+08:00", principal="3.00", minimum_due="0.00")
    assert api.put_snapshot("DEMO0001", newer).get_json()["applied"] is True
    assert account(query).principal == Decimal("3.00")
    events = query(select(AuditEvent.action).where(AuditEvent.action == "account.snapshot_applied"))
    assert len(events) == 2


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"principal": 9500.5}, "invalid_field", "principal"),
        ({"principal": 9500}, "invalid_field", "principal"),
        ({"fees": "1e3"}, "invalid_field", "fees"),
        ({"fees": "-1.00"}, "invalid_field", "fees"),
        ({"interest": "1.001"}, "invalid_field", "interest"),
        ({"days_past_due": 4.0}, "invalid_field", "days_past_due"),
        ({"days_past_due": True}, "invalid_field", "days_past_due"),
        ({"days_past_due": -1}, "invalid_field", "days_past_due"),
        ({"as_of": "2026-11-28T12:00:00"}, "invalid_field", "as_of"),
        ({"as_of": "2026-02-30T12:00:00Z"}, "invalid_field", "as_of"),
        ({"as_of": "2026-11-28T12:06:00+08:00"}, "as_of_in_future", "as_of"),
        ({"due_date": "15/12/2026"}, "invalid_field", "due_date"),
        ({"due_date": None}, "missing_field", "due_date"),
        ({"currency": "USD"}, "currency_mismatch", "currency"),
        ({"principle": "1.00"}, "unknown_field", "principle"),
        ({"minimum_due": "10050.01"}, "minimum_due_above_balance", "minimum_due"),
    ],
)
def test_a_snapshot_that_is_not_right_is_refused_422_and_changes_nothing(app, api, query, fields, code, field):
    response = api.put_snapshot("DEMO0001", snapshot(**fields))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code and response.get_json()["error"]["field"] == field
    held = account(query)
    assert held.principal == Decimal("10000.00") and held.snapshot_at is None
    assert written(app)["api_messages"] == 0 and written(app)["audit_events"] == 0


def test_a_snapshot_of_an_unknown_account_is_404(app, api):
    response = api.put_snapshot("NOPE0001", snapshot())
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "account_not_found"


def test_a_snapshot_with_an_idempotency_key_is_answered_the_same_again(app, api, query):
    first = api.put_snapshot("DEMO0001", snapshot(), key="snap-1")
    again = api.put_snapshot("DEMO0001", snapshot(), key="snap-1")
    assert (again.status_code, again.get_json()) == (first.status_code, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    other = api.put_snapshot("DEMO0001", snapshot(principal="1.00", minimum_due="0.00"), key="snap-1")
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert account(query).principal == Decimal("9500.00")
