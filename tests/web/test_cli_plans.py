"""`portal quote` and `portal offers`: the plan engine from the command line."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.audit.service import SYSTEM
from portal.extensions import db
from tests.conftest import make_account

QUOTE = ["portal", "quote"]


def run(app, *args):
    return app.test_cli_runner().invoke(args=[*QUOTE, *args])


def test_installment_with_monthly_fee_matches_the_known_figure(app):
    result = run(
        app,
        "--plan",
        "installment",
        "--amount",
        "10000",
        "--months",
        "12",
        "--monthly-fee-rate",
        "0.006",
        "--currency",
        "CNY",
        "--first-due",
        "2027-01-15",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"installments", "total_repaid", "total_cost", "apr", "ear", "currency"}
    assert data["total_cost"] == "720.00" and data["total_repaid"] == "10720.00" and data["currency"] == "CNY"
    assert abs(Decimal(data["apr"]) - Decimal("0.1303")) < Decimal("0.0001")
    assert abs(Decimal(data["ear"]) - Decimal("0.1384")) < Decimal("0.0001")
    first, last = data["installments"][0], data["installments"][-1]
    assert first == {"number": 1, "due_date": "2027-01-15", "principal": "833.33", "charge": "60.00", "total": "893.33"}
    assert last["due_date"] == "2027-12-15" and last["principal"] == "833.37"
    assert sum(Decimal(i["principal"]) for i in data["installments"]) == Decimal("10000.00")


@pytest.mark.parametrize(
    "args",
    [
        ["--plan", "installment", "--amount", "12000", "--months", "12", "--annual-rate", "0.12", "--currency", "CNY"],
        [
            "--plan",
            "installment",
            "--amount",
            "12000",
            "--months",
            "6",
            "--monthly-fee-rate",
            "0.006",
            "--down-payment",
            "2000",
            "--currency",
            "HKD",
        ],
        [
            "--plan",
            "relief",
            "--amount",
            "8000",
            "--relief-months",
            "6",
            "--relief-rate",
            "0",
            "--annual-rate",
            "0.18",
            "--after-months",
            "12",
            "--fees",
            "200",
            "--late-fees",
            "100",
            "--waiver",
            "0.5",
            "--currency",
            "CNY",
        ],
        [
            "--plan",
            "settlement",
            "--amount",
            "5000",
            "--discount",
            "0.3",
            "--payments",
            "3",
            "--deadline-days",
            "45",
            "--currency",
            "CNY",
        ],
        ["--plan", "personalised", "--amount", "30000", "--months", "60", "--currency", "CNY"],
    ],
)
def test_other_plan_types_quote(app, args):
    result = run(app, *args, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["installments"] and Decimal(data["total_repaid"]) > 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--amount", "-5", "--months", "12"], "amount"),
        (["--amount", "0", "--months", "12"], "amount"),
        (["--amount", "1000", "--months", "0"], "months"),
        (["--amount", "1000", "--months", "61"], "months"),
        (["--amount", "1000", "--months", "12", "--monthly-fee-rate", "0.5"], "rate"),
        (["--amount", "1000", "--months", "12", "--monthly-fee-rate", "-0.01"], "rate"),
        (["--amount", "10.001", "--months", "12"], "decimals"),
        (["--amount", "abc", "--months", "12"], "number"),
        (["--amount", "1000", "--months", "12", "--first-due", "2027-02-30"], "date"),
        # Issue 12, item 14: each of these was a traceback.
        (["--amount", "1e308", "--months", "12"], "--amount must be a finite number under 10^15"),
        (["--amount", "1e999999", "--months", "12"], "--amount must be a finite number"),
        (["--amount", "sNaN", "--months", "12"], "--amount must be a finite number"),
        (["--amount", "1000", "--months", "12", "--annual-rate", "1e-999999"], "--annual-rate must be a finite number"),
        (["--amount", "1000", "--months", "12", "--first-due", "9999-12-31"], "years 1900 to 2200"),
        (["--amount", "1000", "--months", "12", "--first-due", "0001-01-01"], "years 1900 to 2200"),
        (["--amount", "1000", "--months", "12", "--down-payment", "1e30"], "--down-payment must be a finite number"),
        (["--amount", "1000", "--months", "12", "--monthly-fee-rate", "1E+999999999"], "--monthly-fee-rate"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(app, args, fragment):
    result = run(app, "--plan", "installment", "--currency", "CNY", *args)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_unknown_currency(app):
    result = run(app, "--plan", "installment", "--amount", "1000", "--months", "12", "--currency", "XYZ")
    assert result.exit_code == 2 and "currency" in result.stderr


def test_offers_for_a_stored_account(app):
    make_account(app, dpd=35, reference="CLI0001")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["portal", "offers", "CLI0001"]).exit_code == 2  # no policy yet
    with app.app_context():
        from portal.policies.service import ensure_default_policy

        ensure_default_policy(SYSTEM)
        db.session.commit()
    result = runner.invoke(args=["portal", "offers", "CLI0001", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["account"] == "CLI0001" and data["offers"]
    assert all(len(o["fingerprint"]) == 64 and o["tier"] == "M2" for o in data["offers"])
    assert runner.invoke(args=["portal", "offers", "NOPE"]).exit_code == 2


HUGE = st.sampled_from(
    [
        "1e308",
        "1e999999",
        "-1e999999",
        "1e-999999",
        "sNaN",
        "NaN",
        "-Infinity",
        "9" * 40,
        "999999999999999.99",
        "99999999999999",
        "0.000000000001",
        "1E+999999999",
        "0",
        "-0",
        "1",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plan=st.sampled_from(["installment", "relief", "settlement", "personalised"]),
    amount=HUGE,
    rate=HUGE,
    payment=HUGE,
    down=HUGE,
    first_due=st.sampled_from(["9999-12-31", "0001-01-01", "2200-12-31", "1900-01-01", "2027-01-15"]),
)
def test_quote_never_prints_a_traceback_for_extreme_values(app, plan, amount, rate, payment, down, first_due):
    result = run(
        app,
        "--plan",
        plan,
        "--currency",
        "CNY",
        "--amount",
        amount,
        "--months",
        "12",
        "--annual-rate",
        rate,
        "--down-payment",
        down,
        "--relief-months",
        "6",
        "--relief-payment",
        payment,
        "--discount",
        "0.3",
        "--first-due",
        first_due,
        "--json",
    )
    assert result.exit_code in (0, 2), result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) == 1
