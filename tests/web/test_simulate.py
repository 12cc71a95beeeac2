"""``portal simulate``: a synthetic book played through the portal's services; the same
seed gives the same result; the behaviour model's parameters drive what happens."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.accounts.models import CardAccount
from portal.agreements.models import Agreement
from portal.domain.default_policy import default_policy
from portal.domain.policy import OfferPolicy
from portal.extensions import db
from portal.payments.models import Payment
from portal.plans.models import Plan
from portal.policies.models import PolicyVersion
from portal.servicing.models import ServicingRun
from portal.simulate.behaviour import BehaviourModel
from portal.simulate.runner import SimulationSpec, simulate
from portal.unit_of_work import unit_of_work
from tests.conftest import empty_tables


def _run(app, spec):
    with app.app_context():
        return simulate(spec)


# Really committed: a simulation is thousands of units of work, each a savepoint otherwise.
@pytest.mark.real_commits
def test_the_same_seed_gives_the_same_result(app):
    spec = SimulationSpec(accounts=30, days=30, seed=11)
    first = _run(app, spec)
    empty_tables(app)
    second = _run(app, spec)
    assert first == second
    assert first["plans"]["accepted"] > 0 and first["funnel"]["opened"] > 0  # something happened to compare
    empty_tables(app)
    other = _run(app, replace(spec, seed=12))
    assert other != first


@pytest.mark.real_commits
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_small_book_plays_through_the_real_services(app):
    result = app.test_cli_runner().invoke(
        args=["portal", "simulate", "--accounts", "200", "--days", "60", "--seed", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    funnel = list(summary["funnel"].values())
    assert funnel == sorted(funnel, reverse=True) and funnel[0] > 200  # each step a subset of the one before
    assert summary["plans"]["accepted"] > 20 and summary["requests"]["sent"] > 0
    assert summary["promises"] and summary["cured"] > 0 and summary["opted_out"] > 0
    assert float(summary["recovered"]["CNY"]) > 0
    by_version = summary["plans"]["by_policy_version"]  # the default CNY and HKD versions
    assert sum(v["accepted"] for v in by_version.values()) == summary["plans"]["accepted"]
    assert set(by_version) <= {"1", "2"}
    with app.app_context():
        # Plans came through acceptance (each with its agreement, left pending), payments
        # through the statement import, and every day had its servicing run.
        plans = db.session.execute(select(func.count()).select_from(Plan).where(Plan.accepted_at.is_not(None)))
        agreements = list(db.session.execute(select(Agreement.state)).scalars())
        assert plans.scalar_one() == summary["plans"]["accepted"] == len(agreements)
        assert set(agreements) == {"pending"}  # left for `agreements retry`: no PDF rendered per plan
        sources = set(db.session.execute(select(Payment.source).distinct()).scalars())
        assert sources == {"camt053"}
        assert db.session.execute(select(func.count()).select_from(ServicingRun)).scalar_one() == 60


@pytest.mark.real_commits
def test_cardholders_who_never_open_their_links_make_no_plans(app):
    spec = SimulationSpec(accounts=30, days=10, seed=5, model=replace(BehaviourModel(), open_link=0.0))
    summary = _run(app, spec)
    assert summary["funnel"]["sent"] > 0
    assert summary["funnel"]["opened"] == 0 and summary["plans"]["accepted"] == 0


@pytest.mark.real_commits
def test_a_second_book_with_the_same_label_is_refused(app):
    runner = app.test_cli_runner()
    args = ["portal", "simulate", "--accounts", "3", "--days", "1", "--label", "TWICE"]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=args)
    assert again.exit_code == 2 and "already in this database" in again.output
    assert runner.invoke(args=[*args[:-1], "bad-label"]).exit_code == 2


def test_a_start_day_outside_the_years_the_portal_reads_is_refused(app):
    runner = app.test_cli_runner()
    for start in ("9999-12-31", "0001-01-01"):
        result = runner.invoke(args=["portal", "simulate", "--accounts", "3", "--days", "2", "--start", start])
        assert result.exit_code == 2 and "--start must be in the years" in result.output, result.output
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(CardAccount)).scalar() == 0


def _fee_policy(rate: str) -> OfferPolicy:
    """The default policy with installments in M1 to M3 at ``rate`` a month."""
    policy = default_policy()
    tiers = tuple(
        replace(t, installment=replace(t.installment, max_monthly_fee_rate=Decimal(rate))) if index < 3 else t
        for index, t in enumerate(policy.tiers)
    )
    return replace(policy, tiers=tiers)


def _activate(app, policy: OfferPolicy) -> None:
    with app.app_context(), unit_of_work():
        for number, currency in enumerate(("CNY", "HKD"), start=1):
            document = replace(policy, currency=currency).to_dict()
            db.session.add(
                PolicyVersion(
                    number=number, currency=currency, state="active", document=document, author="a", approver="b"
                )
            )
    app.extensions["policy_cache"].clear()


@pytest.mark.real_commits
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_policy_that_asks_less_of_cardholders_shows_better_outcomes(app):
    """The offers come from the active policy through the journey's offer service: the
    same book and luck under installments without fees accepts more plans, and more of
    them installments, than under a 2 % monthly fee."""
    spec = SimulationSpec(accounts=100, days=35, seed=4)
    _activate(app, _fee_policy("0"))
    cheap = _run(app, spec)
    empty_tables(app)
    _activate(app, _fee_policy("0.02"))
    dear = _run(app, spec)
    assert cheap["plans"]["accepted"] > dear["plans"]["accepted"]
    assert cheap["plans"]["by_type"]["installment"] > dear["plans"]["by_type"]["installment"]
