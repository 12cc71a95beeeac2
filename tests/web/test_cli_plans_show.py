"""`portal plans show ID_OR_REFERENCE`: a plan and its installments judged on a day."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from tests.conftest import make_account
from tests.plan_factories import FIRST_DUE, make_pending_agreement, make_plan
from tests.servicing_helpers import pay


def show(app, *args: str):
    return app.test_cli_runner().invoke(args=["portal", "plans", "show", *args])


def test_show_json_gives_the_state_and_each_installment_with_amounts_as_strings(app):
    account = make_account(app)
    plan = make_plan(app, account, "installment", "en")
    result = show(app, str(plan), "--json", "--date", (FIRST_DUE + timedelta(days=3)).isoformat())
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["state"] == "active" and data["id"] == plan and data["account_reference"] == "T00000017"
    assert len(data["installments"]) == 12
    first = data["installments"][0]
    assert set(first) == {"number", "due_date", "amount", "paid", "state"}
    assert first["number"] == 1 and first["due_date"] == FIRST_DUE.isoformat() and first["state"] == "late"
    assert isinstance(first["amount"], str) and Decimal(first["amount"]) > 0 and first["paid"] == "0.00"
    assert data["installments"][1]["state"] == "upcoming"
    assert data["next_due"]["number"] == 1 and data["paid_count"] == 0


def test_show_finds_a_plan_by_its_agreement_reference_and_shows_payments(app):
    from portal.agreements.models import Agreement
    from portal.extensions import db

    account = make_account(app)
    plan = make_plan(app, account, "installment", "en")
    agreement_id = make_pending_agreement(app, plan)
    with app.app_context():
        reference = db.session.get(Agreement, agreement_id).reference
    pay(app, account, "1000.00", FIRST_DUE, plan)
    data = json.loads(show(app, reference.lower(), "--json", "--date", FIRST_DUE.isoformat()).output)
    assert data["id"] == plan and data["agreement_reference"] == reference and data["paid"] == "1000.00"
    assert data["installments"][0]["state"] == "paid" and data["installments"][1]["paid"] != "0.00"
    table = show(app, str(plan), "--date", FIRST_DUE.isoformat())
    assert table.exit_code == 0 and "1 of 12 installments" in table.output and reference in table.output


def test_an_unknown_plan_is_a_clear_message_and_exit_status_1(app):
    for key in ("999999", "PA-0000-0000-0", "not a plan", "1" * 40):
        result = show(app, key, "--json")
        assert result.exit_code == 1, key
        assert "No plan has the id or agreement reference" in result.output and "Traceback" not in result.output
