"""``POST /api/v1/payments``: posted through the statement files' service, idempotent twice over."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import jsonschema
import pytest
from sqlalchemy import func, select

from portal import clock
from portal.api.views import OPENAPI
from portal.audit.models import AuditEvent
from portal.payments.models import Payment
from portal.plans.models import PlanInstallment
from tests.api_helpers import SECRET, ApiClient, payment, written
from tests.conftest import make_account
from tests.payment_files import camt_file, entry
from tests.plan_factories import make_plan
from tests.web.test_payments_import import counts


@pytest.fixture
def api(app, frozen):
    app.config["API_SECRETS"] = (SECRET,)
    yield ApiClient(app)
    app.config["API_SECRETS"] = ()


def documented(answer: dict, schema: str) -> None:
    """``answer`` has the shape the OpenAPI file gives ``schema``."""
    document = json.loads(OPENAPI.read_text())
    jsonschema.validate(answer, {**document, "$ref": f"#/components/schemas/{schema}"})


def paid(app) -> Decimal:
    from portal.extensions import db

    with app.app_context():
        return db.session.execute(select(func.coalesce(func.sum(PlanInstallment.paid), 0))).scalar_one()


def test_a_payment_quoting_the_account_reference_is_posted_matched_and_audited(app, api, query):
    account = make_account(app, reference="DEMO0001")
    plan = make_plan(app, account, "installment", "en", months=6)
    response = api.post_payment(payment(amount="50.00"))
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = response.get_json()
    documented(answer, "PaymentAnswer")
    assert answer["duplicate"] is False
    assert answer["payment"] == {
        "id": "CORE-1", "source": "api", "status": "posted", "direction": "credit", "amount": "50.00",
        "currency": "CNY", "booking_date": "2026-11-28", "account_reference": "DEMO0001",
        "match_basis": "account_reference", "reverses": None,
    }  # fmt: skip
    assert answer["counts"] == {"entries": 1, "posted": 1, "duplicates": 0, "unmatched": 0, "debits": 0, "reversed": 0}
    (row,) = query(select(Payment))
    assert (row.account_id, row.plan_id, row.source, row.statement_id, row.entry_reference, row.bank_reference) == (
        account, plan, "api", "API", "CORE-1", "CORE-1",
    )  # fmt: skip
    assert paid(app) == Decimal("50.00")
    (event,) = query(select(AuditEvent).where(AuditEvent.action == "payment.posted"))
    assert (event.actor_type, event.actor_id, event.object_id) == ("system", "core", str(row.id))


def test_a_payment_naming_no_account_waits_unmatched(app, api):
    response = api.post_payment(payment(remittance="for my card", creditor_reference="XYZ"))
    assert response.status_code == 201
    assert response.get_json()["payment"]["status"] == "unmatched"
    assert response.get_json()["payment"]["account_reference"] is None


def test_the_same_payment_id_again_is_a_duplicate_whatever_the_key(app, api, query):
    make_account(app, reference="DEMO0001")
    assert api.post_payment(payment(), key="a").status_code == 201
    again = api.post_payment(payment(), key="b")
    assert again.status_code == 200
    assert again.get_json()["duplicate"] is True and again.get_json()["payment"]["status"] == "posted"
    assert again.get_json()["counts"]["duplicates"] == 1
    other = api.post_payment(payment(amount="99.00"), key="c")
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "payment_id_conflict"
    assert len(query(select(Payment))) == 1


def test_same_key_and_body_gives_the_same_answer_and_another_body_409(app, api, query):
    make_account(app, reference="DEMO0001")
    first = api.post_payment(payment(), key="pay-1")
    again = api.post_payment(payment(), key="pay-1")
    assert (again.status_code, again.get_data()) == (first.status_code, first.get_data())
    assert again.headers["Idempotent-Replayed"] == "true"
    before = written(app)
    other = api.post_payment(payment("CORE-2"), key="pay-1")
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert written(app) == before and len(query(select(Payment))) == 1


def test_post_needs_an_idempotency_key(app, api):
    response = api.call("POST", "/api/v1/payments", payment())
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "idempotency_key_missing"
    assert written(app)["payments"] == 0


def test_an_error_is_not_stored_under_the_key_so_the_call_can_be_corrected(app, api):
    bad = api.post_payment(payment(amount=245.0), key="fix-me")
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "amount"
    assert "not a JSON number" in bad.get_json()["error"]["message"]
    assert api.post_payment(payment(), key="fix-me").status_code == 201


def test_a_stored_answer_expires_after_24_hours(app, api, frozen):
    assert api.post_payment(payment(), key="old").status_code == 201
    frozen.set(clock.now() + timedelta(hours=24, minutes=1))
    response = api.post_payment(payment("CORE-2", booked_at="2026-11-29T10:00:00+08:00"), key="old")
    assert response.status_code == 201 and response.get_json()["payment"]["id"] == "CORE-2"
    runner = app.test_cli_runner()
    frozen.set(clock.now() + timedelta(hours=25))
    result = runner.invoke(args=["portal", "api", "prune", "--json"])
    assert result.exit_code == 0 and json.loads(result.output) == {"messages": 1, "answers": 1}


def test_a_reversal_by_the_api_unposts_the_payment_and_takes_it_out_of_the_plan(app, api, query):
    account = make_account(app, reference="DEMO0001")
    make_plan(app, account, "installment", "en", months=6)
    assert api.post_payment(payment(amount="50.00")).status_code == 201
    reversal = payment("CORE-9", amount="50.00", direction="debit", reverses="CORE-1", remittance=None)
    del reversal["remittance"]
    response = api.post_payment(reversal)
    assert response.status_code == 201
    answer = response.get_json()
    documented(answer, "PaymentAnswer")
    assert answer["payment"]["reverses"] == "CORE-1" and answer["counts"]["reversed"] == 1
    original, back = query(select(Payment).order_by(Payment.id))
    assert (original.status, back.reverses_id, back.account_id) == ("reversed", original.id, account)
    assert paid(app) == 0
    assert query(select(AuditEvent.action).where(AuditEvent.action == "payment.reversed")) == ["payment.reversed"]


def test_a_payment_sent_by_the_api_and_listed_in_the_camt053_is_posted_once(app, api, tmp_path, query):
    make_account(app, reference="DEMO0001")
    assert api.post_payment(payment("BANK-77")).status_code == 201
    listed = entry("S-1", "245.00", bank_reference="BANK-77", remittance="DEMO0001")
    assert counts(app, camt_file(tmp_path, [listed])) == {"entries": 1, "posted": 0, "duplicates": 1, "unmatched": 0}
    notified = entry("N-1", "30.00", bank_reference="BANK-78", remittance="DEMO0001")
    counts(app, camt_file(tmp_path, [notified], "n.xml", fmt="camt054", statement="N-1"))
    response = api.post_payment(payment("BANK-78", amount="30.00"))
    assert response.status_code == 200 and response.get_json()["duplicate"] is True
    assert response.get_json()["payment"]["source"] == "camt054"
    assert len(query(select(Payment))) == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": 245}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"currency": "CYN"}, "currency"),
        ({"direction": "in"}, "direction"),
        ({"booked_at": "2026-11-28"}, "booked_at"),
        ({"booked_at": "2026-11-28T12:10:00+08:00"}, "booked_at"),
        ({"id": "x" * 36}, "id"),
        ({"reverses": "CORE-1"}, "reverses"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_payment_that_is_not_right_is_refused_422(app, api, fields, field):
    response = api.post_payment(payment(**fields))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["field"] == field
    assert written(app)["payments"] == 0


def test_a_card_number_in_the_remittance_sent_by_the_api_is_stored_masked(app, api, query):
    account = make_account(app, reference="DEMO0001")
    response = api.post_payment(payment(remittance="4111 1111 1111 1111 DEMO0001"))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert "4111 1111 1111" not in response.get_data(as_text=True)
    (row,) = query(select(Payment))
    assert (row.account_id, row.remittance) == (account, "************1111 DEMO0001")
