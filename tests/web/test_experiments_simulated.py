"""The slow-but-real cross-check of ``tests/unit/test_experiments_simulated.py``: one small
A/A experiment really started in the database and one short ``portal simulate`` run.
Simulated cardholders are assigned by the keyed hash at their first exposure, see their
arm's offers through the real services, and the arm counts come out of the database."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.audit.service import SYSTEM, Actor
from portal.domain.schedule import PlanType
from portal.experiments import service
from portal.experiments.assignment import assignment_key
from portal.experiments.design import arm_position
from portal.experiments.models import ExperimentAssignment
from portal.experiments.service import ChallengerSpec
from portal.extensions import db
from portal.plans.models import Plan
from portal.policies import workflow
from portal.policies.cache import load_policy
from portal.policies.service import active_version, ensure_default_policy
from portal.simulate.runner import SimulationSpec, simulate
from portal.unit_of_work import unit_of_work

MAKER, CHECKER, AUTHOR = Actor("staff", "1"), Actor("staff", "2"), Actor("staff", "3")


def _a_a_experiment() -> int:
    """A challenger identical to the CNY champion, on half the accounts, started by a second admin."""
    with unit_of_work():
        ensure_default_policy(SYSTEM)
    with unit_of_work():
        draft = workflow.create_draft(AUTHOR, "CNY")
        number = draft.number
        workflow.save_draft(number, load_policy(active_version("CNY")), AUTHOR)
    with unit_of_work():
        challenger = workflow.submit(number, AUTHOR, "A/A: the champion again")
        experiment = service.create_experiment(
            MAKER,
            name="A/A",
            currency="CNY",
            challengers=[ChallengerSpec(challenger.number, Decimal("0.5"))],
            primary_metric="plan_accepted",
            guardrails=["plan_broken"],
            baseline_rate=Decimal("0.2"),
            mde=Decimal("0.05"),
            alpha=Decimal("0.05"),
            power=Decimal("0.8"),
        )
        experiment_id = experiment.id
    with unit_of_work():
        experiment = service.get_experiment(experiment_id)
        service.approve(experiment_id, CHECKER, service.review_digest(experiment))
    return experiment_id


@pytest.mark.real_commits
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_a_a_experiment_assigns_simulated_cardholders_who_accept_their_arms_offers(app):
    with app.app_context():
        experiment_id = _a_a_experiment()
        summary = simulate(SimulationSpec(accounts=120, days=21, seed=21, label="AAX"))
        assert summary["plans"]["accepted"] > 0
        with unit_of_work():
            experiment = service.get_experiment(experiment_id)
            arms = {arm.id: arm for arm in experiment.arms}
            shares = [arm.share for arm in experiment.arms]
            assigned = db.session.execute(
                select(ExperimentAssignment).where(ExperimentAssignment.experiment_id == experiment_id)
            ).scalars()
            assignment = {a.account_id: a for a in assigned}
            assert {arms[a.arm_id].position for a in assignment.values()} == {0, 1}
            for account_id, a in assignment.items():  # the keyed hash picked every arm
                assert arms[a.arm_id].position == arm_position(assignment_key(), experiment_id, account_id, shares)
            plans = db.session.execute(
                select(Plan.account_id, Plan.policy_version_id, Plan.plan_type, Plan.accepted_at).where(
                    Plan.accepted_at.is_not(None)
                )
            ).all()
            accepted: dict[int, set[int]] = defaultdict(set)  # arm id → accounts that accepted a plan
            for account_id, version_id, plan_type, accepted_at in plans:
                a = assignment.get(account_id)
                if a is None or plan_type == PlanType.PERSONALISED.value:
                    continue  # HKD (no experiment) or hardship (never experimented on)
                assert accepted_at >= a.assigned_at
                assert version_id == arms[a.arm_id].policy_version_id  # the arm's offers
                accepted[a.arm_id].add(account_id)
            assert all(accepted[arm_id] for arm_id in arms)  # plans accepted in both arms
            counts = service.analysis_input(experiment)
            results = service.results(experiment)
        by_position = {arm.position: arm.id for arm in arms.values()}
        for row in counts["arms"]:
            arm_id = by_position[int(row["name"])]
            assert row["assigned"] == sum(a.arm_id == arm_id for a in assignment.values())
            assert row["successes"] == len(accepted[arm_id])
        print(f"\nA/A in the database: {counts['arms']}; decision {results['decision']}")
        assert results["decision"] == "not_yet"  # 120 accounts are far below the planned sample
