"""Each arm's counts for the analysis: accounts assigned, and those among them that meet
the primary metric or a guardrail (``Metric``), by plans accepted and events recorded on
or after assignment.

Every assigned account counts in its arm's ``n`` (intention to treat): an account that
saw the offers and chose nothing is a failure of the arm, not a missing value. Personalised
(hardship) plans never count: they are not part of any experiment.

Kept to the third installment needs time: a plan accepted at assignment has its third
installment due about three months later. With that primary metric, ``n`` holds only the
accounts assigned at least ``KEPT_MATURITY_DAYS`` ago (and the successes are counted
among them), so recent accounts, which cannot have succeeded yet, do not dilute both
arms. Guardrails count over every assigned account: a harm should ring early.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select

from portal.cases.models import CaseEvent, CaseEventKind
from portal.db_types import one_of, utcnow
from portal.domain.schedule import PlanType
from portal.experiments.models import Experiment, ExperimentAssignment, Metric
from portal.extensions import db
from portal.plans.models import Plan, PlanInstallment, PlanState

KEPT_MATURITY_DAYS = 120  # three monthly installments and the grace days after the third


@dataclass
class ArmCounts:
    assigned: int = 0
    n: int = 0  # the accounts the primary metric is judged on (all assigned, or the mature ones)
    successes: int = 0
    guardrails: dict[str, int] = field(default_factory=dict)


def _plan_condition(metric: Metric) -> Any:
    """Plans of the assigned account, accepted since its assignment, that meet ``metric``."""
    condition = and_(
        Plan.account_id == ExperimentAssignment.account_id,
        Plan.accepted_at.is_not(None),
        Plan.accepted_at >= ExperimentAssignment.assigned_at,
        Plan.plan_type != PlanType.PERSONALISED.value,
    )
    if metric == Metric.PLAN_BROKEN:
        return and_(condition, Plan.state == PlanState.BROKEN)
    if metric == Metric.KEPT_TO_CYCLE_3:
        third_paid = exists().where(
            PlanInstallment.plan_id == Plan.id,
            PlanInstallment.number == 3,
            PlanInstallment.paid >= PlanInstallment.total,
        )
        return and_(condition, third_paid)
    return condition


def _event_condition(metric: Metric) -> Any:
    """Case events of the assigned account, since its assignment, that mean ``metric``:
    an opt-out (the cardholder's own, or a consent flag set at the care desk) or a dispute
    flag."""
    from portal.care.service import CONSENT_FLAGS

    since = and_(
        CaseEvent.account_id == ExperimentAssignment.account_id,
        CaseEvent.created_at >= ExperimentAssignment.assigned_at,
    )
    flag = CaseEvent.data["flag"].as_string()
    flag_set = CaseEvent.kind == CaseEventKind.FLAG_SET.value
    if metric == Metric.DISPUTE_RAISED:
        return and_(since, flag_set, flag == "dispute")
    opted_out = CaseEvent.kind == CaseEventKind.OPTED_OUT.value
    return and_(since, or_(opted_out, and_(flag_set, one_of(flag, CONSENT_FLAGS))))


def _condition(metric: Metric) -> Any:
    if metric in (Metric.OPTED_OUT, Metric.DISPUTE_RAISED):
        return _event_condition(metric)
    if metric == Metric.HARDSHIP_REQUESTED:  # a request for a plan the bank must approve, with its reason
        return and_(
            Plan.account_id == ExperimentAssignment.account_id,
            Plan.hardship.is_not(None),
            Plan.created_at >= ExperimentAssignment.assigned_at,
        )
    return _plan_condition(metric)


def _count_meeting(experiment: Experiment, metric: Metric, *, assigned_by: datetime | None = None) -> dict[int, int]:
    query = select(ExperimentAssignment.arm_id, func.count()).where(
        ExperimentAssignment.experiment_id == experiment.id, exists().where(_condition(metric))
    )
    if assigned_by is not None:
        query = query.where(ExperimentAssignment.assigned_at <= assigned_by)
    query = query.group_by(ExperimentAssignment.arm_id)
    return {arm_id: count for arm_id, count in db.session.execute(query).all()}


def needs_maturity(metric: str) -> bool:
    """Whether ``metric`` is judged only on accounts assigned ``KEPT_MATURITY_DAYS`` ago."""
    return metric == Metric.KEPT_TO_CYCLE_3


def assigned_counts(experiment: Experiment, assigned_by: datetime | None = None) -> dict[int, int]:
    """Accounts assigned per arm id (only those assigned by ``assigned_by``, if given)."""
    query = select(ExperimentAssignment.arm_id, func.count()).where(ExperimentAssignment.experiment_id == experiment.id)
    if assigned_by is not None:
        query = query.where(ExperimentAssignment.assigned_at <= assigned_by)
    return {arm_id: count for arm_id, count in db.session.execute(query.group_by(ExperimentAssignment.arm_id)).all()}


def arm_counts(experiment: Experiment, assigned: dict[int, int] | None = None) -> dict[int, ArmCounts]:
    """Counts per arm id (every arm present, zeros included); ``assigned``: the
    ``assigned_counts`` of the experiment, if the caller has them."""
    assigned = assigned_counts(experiment) if assigned is None else assigned
    counts = {arm.id: ArmCounts(assigned=assigned.get(arm.id, 0), n=assigned.get(arm.id, 0)) for arm in experiment.arms}
    # One cut-off for n and its successes, so that successes can never exceed n.
    assigned_by = utcnow() - timedelta(days=KEPT_MATURITY_DAYS) if needs_maturity(experiment.primary_metric) else None
    if assigned_by is not None:  # only the accounts assigned long enough ago; an arm without any has none
        mature = assigned_counts(experiment, assigned_by)
        for arm_id, arm_counted in counts.items():
            arm_counted.n = mature.get(arm_id, 0)
    primary = Metric(experiment.primary_metric)
    for arm_id, count in _count_meeting(experiment, primary, assigned_by=assigned_by).items():
        counts[arm_id].successes = count
    for guardrail in experiment.guardrails or []:
        for arm_id, count in _count_meeting(experiment, Metric(guardrail)).items():
            counts[arm_id].guardrails[guardrail] = count
    return counts
