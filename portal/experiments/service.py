"""Starting, stopping and promoting experiments: maker-checker, audited like policy changes.

One policy admin proposes (creating an experiment proposes its start); a different one
approves or rejects, after reviewing exactly what was proposed (:func:`review_digest`).
Approving a start makes each challenger policy version a ``challenger`` (the approval of
its content: it passed ``validate_policy`` like any policy, so no challenger exceeds the
regulatory limits, and the checker is neither its author nor its submitter). Approving a
promotion activates the challenger version through the policy workflow's own activation
(the champion is retired, audited as any policy activation) and stops the experiment.

Every function writes its audit event(s) in the same transaction and flushes; the request
or CLI command commits once (``portal.unit_of_work``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.db_types import utcnow
from portal.domain.money import is_known_currency
from portal.domain.policy_validation import validate_policy
from portal.experiments import stats
from portal.experiments.analysis import analyse
from portal.experiments.assignment import running_experiment
from portal.experiments.design import changes_hardship, expected_date
from portal.experiments.models import (
    GUARDRAIL_METRICS,
    PRIMARY_METRICS,
    Experiment,
    ExperimentArm,
    ExperimentAssignment,
    ExperimentProposal,
    ExperimentState,
    design_summary,
)
from portal.experiments.outcomes import KEPT_MATURITY_DAYS, arm_counts, assigned_counts, needs_maturity
from portal.extensions import db
from portal.locks import transaction_lock
from portal.policies.cache import load_policy
from portal.policies.models import PolicyState, PolicyVersion
from portal.policies.workflow import PolicyError, _activate, active_or_none, get_version


class ExperimentError(Exception):
    """A change that may not happen; ``code`` is for the view to translate.

    Codes: not_found, unknown_currency, no_champion, bad_design, bad_shares, bad_metric,
    not_challenger_version, currency_mismatch, changes_hardship, already_running,
    not_pending, not_running, proposal_open, no_proposal, own_proposal, own_version,
    comment_required, changed_since_review, champion_changed, version_scheduled, bad_arm,
    invalid.
    """

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ChallengerSpec:
    version_number: int
    share: Decimal


def get_experiment(experiment_id: int) -> Experiment:
    found = db.session.get(Experiment, experiment_id)
    if found is None:
        raise ExperimentError("not_found")
    return found


def _obj(experiment: Experiment) -> tuple[str, int]:
    return ("experiment", experiment.id)


def _one_at_a_time(currency: str) -> None:
    transaction_lock(f"experiment:{currency}")


def _check_challenger(version: PolicyVersion, champion: PolicyVersion) -> None:
    if version.currency != champion.currency:
        raise ExperimentError("currency_mismatch")
    if version.state != PolicyState.PENDING:
        raise ExperimentError("not_challenger_version")  # submitted for approval, not yet decided
    policy = load_policy(version)
    if validate_policy(policy):
        raise ExperimentError("invalid")
    if changes_hardship(load_policy(champion), policy):
        raise ExperimentError("changes_hardship")


MAX_PLANNED = 2**31 - 1  # an integer column
_RATE_PLACES = Decimal("0.000001")  # Rate(): NUMERIC(9, 6)


def _stored_exactly(value: Decimal) -> bool:
    return value.is_finite() and abs(value) < 1000 and value == value.quantize(_RATE_PLACES)


def create_experiment(
    actor: Actor,
    *,
    name: str,
    currency: str,
    challengers: Sequence[ChallengerSpec],
    primary_metric: str,
    guardrails: Sequence[str],
    baseline_rate: Decimal,
    mde: Decimal,
    alpha: Decimal,
    power: Decimal,
) -> Experiment:
    """Propose an experiment (its start waits for a second admin): the currency's active
    version is the champion, on the share the challengers leave.

    Each challenger is a pending (submitted) policy version of the currency that passes
    ``validate_policy`` and leaves the hardship terms as the champion has them.
    """
    name = (name or "").strip()
    if not is_known_currency(currency):
        raise ExperimentError("unknown_currency")
    if not name or len(name) > 120:
        raise ExperimentError("bad_design")
    if primary_metric not in PRIMARY_METRICS or any(g not in GUARDRAIL_METRICS for g in guardrails):
        raise ExperimentError("bad_metric")
    if not 0 < alpha < 1 or not 0 < power < 1 or not all(map(_stored_exactly, (baseline_rate, mde, alpha, power))):
        raise ExperimentError("bad_design")
    _one_at_a_time(currency)
    champion = active_or_none(currency)
    if champion is None:
        raise ExperimentError("no_champion")
    shares = [spec.share for spec in challengers]
    champion_share = Decimal(1) - sum(shares, Decimal(0))
    numbers = [spec.version_number for spec in challengers]
    if (
        not challengers
        or len(set(numbers)) != len(numbers)
        or any(not 0 < s < 1 or not _stored_exactly(s) for s in [*shares, champion_share])
    ):
        raise ExperimentError("bad_shares")
    versions = []
    for spec in challengers:
        try:
            version = get_version(spec.version_number)
        except PolicyError as error:
            raise ExperimentError("not_challenger_version") from error
        _check_challenger(version, champion)
        versions.append(version)
    try:
        planned = stats.required_sample_size(
            float(baseline_rate), float(mde), float(alpha), float(power), [float(champion_share), *map(float, shares)]
        )
    except ValueError as error:
        raise ExperimentError("bad_design") from error
    if planned.total > MAX_PLANNED:
        raise ExperimentError("bad_design")  # a difference too small to find in any book
    now = utcnow()
    experiment = Experiment(
        name=name,
        currency=currency,
        state=ExperimentState.PENDING,
        primary_metric=primary_metric,
        guardrails=list(guardrails),
        baseline_rate=baseline_rate,
        mde=mde,
        alpha=alpha,
        power=power,
        planned_n=planned.total,
        author=actor.key,
        created_at=now,
        proposed_action=ExperimentProposal.START,
        proposed_by=actor.key,
        proposed_at=now,
    )
    db.session.add(experiment)
    db.session.flush()
    arms = [ExperimentArm(experiment_id=experiment.id, position=0, policy_version_id=champion.id, share=champion_share)]
    arms += [
        ExperimentArm(experiment_id=experiment.id, position=i, policy_version_id=v.id, share=spec.share)
        for i, (v, spec) in enumerate(zip(versions, challengers, strict=True), start=1)
    ]
    db.session.add_all(arms)
    db.session.flush()
    db.session.refresh(experiment, ["arms"])
    record(actor, Action.Experiment.CREATED, _obj(experiment), after=design_summary(experiment))
    record(actor, Action.Experiment.PROPOSED, _obj(experiment), after={"action": ExperimentProposal.START})
    db.session.flush()
    return experiment


def propose(
    experiment_id: int,
    actor: Actor,
    action: ExperimentProposal,
    arm_position: int | None = None,
    comment: str | None = None,
) -> Experiment:
    """Propose stopping a running experiment, or promoting one of its challengers."""
    experiment = get_experiment(experiment_id)
    if action == ExperimentProposal.START:
        raise ExperimentError("not_pending")
    if experiment.state != ExperimentState.RUNNING:
        raise ExperimentError("not_running")
    if experiment.proposed_action is not None:
        raise ExperimentError("proposal_open")
    arm = None
    if action == ExperimentProposal.PROMOTE:
        arm = next((a for a in experiment.arms if a.position == arm_position and a.position > 0), None)
        if arm is None:
            raise ExperimentError("bad_arm")
    experiment.proposed_action, experiment.proposed_by, experiment.proposed_at = action, actor.key, utcnow()
    experiment.proposed_arm_id, experiment.approver = (arm.id if arm else None), None
    experiment.proposal_comment = (comment or "").strip() or None
    record(
        actor,
        Action.Experiment.PROPOSED,
        _obj(experiment),
        after={"action": action.value, "arm": arm.position if arm else None, "comment": experiment.proposal_comment},
    )
    db.session.flush()
    return experiment


def review_digest(experiment: Experiment) -> str:
    """SHA-256 of what a checker reviews: the design, each arm's policy version as it is
    now (a challenger withdrawn, edited and resubmitted since is another review), and the
    open proposal. :func:`approve` refuses a digest that no longer matches."""
    versions = []
    for arm in experiment.arms:
        version = db.session.get(PolicyVersion, arm.policy_version_id)
        assert version is not None  # a foreign key
        versions.append(
            {
                "number": version.number,
                "document": version.document,
                "submitted_at": version.submitted_at.isoformat() if version.submitted_at else None,
            }
        )
    reviewed = {
        "id": experiment.id,
        "design": design_summary(experiment),
        "versions": versions,
        "proposal": experiment.proposed_action,
        "arm": experiment.proposed_arm_id,
        "proposed_by": experiment.proposed_by,
        "proposed_at": experiment.proposed_at.isoformat() if experiment.proposed_at else None,
    }
    canonical = json.dumps(reviewed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _for_checker(experiment_id: int, actor: Actor) -> Experiment:
    experiment = get_experiment(experiment_id)
    if experiment.proposed_action is None:
        raise ExperimentError("no_proposal")
    if actor.key == experiment.proposed_by:
        raise ExperimentError("own_proposal")
    return experiment


def approve(experiment_id: int, actor: Actor, reviewed: str, comment: str | None = None) -> Experiment:
    """Approve another admin's proposal (start, stop or promote) as reviewed."""
    experiment = _for_checker(experiment_id, actor)
    if not hmac.compare_digest(reviewed.encode(), review_digest(experiment).encode()):
        raise ExperimentError("changed_since_review")
    _one_at_a_time(experiment.currency)
    action = ExperimentProposal(experiment.proposed_action or "")
    before = {"state": experiment.state, "proposal": action.value}
    if action == ExperimentProposal.START:
        _start(experiment, actor)
    elif action == ExperimentProposal.STOP:
        _stop(experiment, actor, promoted=None)
    else:
        arm = next(a for a in experiment.arms if a.id == experiment.proposed_arm_id)
        _stop(experiment, actor, promoted=arm)
    experiment.approver = actor.key
    experiment.proposed_action, experiment.proposed_arm_id = None, None
    note = (comment or "").strip() or None
    verb = {
        ExperimentProposal.START: Action.Experiment.STARTED,
        ExperimentProposal.STOP: Action.Experiment.STOPPED,
        ExperimentProposal.PROMOTE: Action.Experiment.PROMOTED,
    }[action]
    after: dict[str, Any] = {"state": experiment.state, "approver": actor.key, "comment": note}
    if experiment.promoted_version_id is not None:
        after["promoted_version_id"] = experiment.promoted_version_id
    record(actor, verb, _obj(experiment), before=before, after=after)
    db.session.flush()
    return experiment


def _start(experiment: Experiment, actor: Actor) -> None:
    if experiment.state != ExperimentState.PENDING:
        raise ExperimentError("not_pending")
    champion = active_or_none(experiment.currency, for_update=True)
    if champion is None or champion.id != experiment.arms[0].policy_version_id:
        raise ExperimentError("champion_changed")
    if running_experiment(experiment.currency) is not None:
        raise ExperimentError("already_running")
    scheduled = (
        select(func.count())
        .select_from(PolicyVersion)
        .where(PolicyVersion.currency == experiment.currency, PolicyVersion.state == PolicyState.SCHEDULED)
    )
    if db.session.execute(scheduled).scalar():
        raise ExperimentError("version_scheduled")  # it would replace the champion mid-experiment
    now = utcnow()
    for arm in experiment.arms[1:]:
        version = db.session.get(PolicyVersion, arm.policy_version_id)
        assert version is not None
        _check_challenger(version, champion)
        if actor.key in (version.author, version.submitted_by):
            raise ExperimentError("own_version")
        version.state, version.approver, version.decided_at = PolicyState.CHALLENGER, actor.key, now
        record(
            actor,
            Action.Policy.APPROVED,
            ("policy_version", version.id),
            before={"state": PolicyState.PENDING},
            after={"state": PolicyState.CHALLENGER, "approver": actor.key, "experiment": experiment.id},
        )
    experiment.state, experiment.started_at = ExperimentState.RUNNING, now


def _stop(experiment: Experiment, actor: Actor, promoted: ExperimentArm | None) -> None:
    if experiment.state != ExperimentState.RUNNING:
        raise ExperimentError("not_running")
    now = utcnow()
    for arm in experiment.arms[1:]:
        version = db.session.get(PolicyVersion, arm.policy_version_id)
        assert version is not None
        if version.state != PolicyState.CHALLENGER:
            continue
        if promoted is not None and arm.id == promoted.id:
            version.effective_from = now
            _activate(version, now, actor)  # retires the champion, audited as any activation
            experiment.promoted_version_id = version.id
            continue
        version.state, version.retired_at = PolicyState.RETIRED, now
        record(
            actor,
            Action.Policy.RETIRED,
            ("policy_version", version.id),
            before={"state": PolicyState.CHALLENGER},
            after={"state": PolicyState.RETIRED, "retired_at": now.isoformat(), "experiment": experiment.id},
        )
    db.session.flush()
    experiment.state, experiment.stopped_at = ExperimentState.STOPPED, now


def reject(experiment_id: int, actor: Actor, comment: str) -> Experiment:
    """Reject another admin's proposal, saying why: a proposed start ends the experiment
    (rejected); a proposed stop or promotion is dropped and the experiment runs on."""
    comment = (comment or "").strip()
    if not comment:
        raise ExperimentError("comment_required")
    experiment = _for_checker(experiment_id, actor)
    before = {"state": experiment.state, "proposal": experiment.proposed_action}
    if experiment.proposed_action == ExperimentProposal.START:
        experiment.state = ExperimentState.REJECTED
    experiment.proposed_action, experiment.proposed_arm_id = None, None
    experiment.approver = actor.key
    record(
        actor,
        Action.Experiment.REJECTED,
        _obj(experiment),
        before=before,
        after={"state": experiment.state, "comment": comment},
    )
    db.session.flush()
    return experiment


# --- reading ---------------------------------------------------------------------------


def list_experiments() -> list[Experiment]:
    return list(db.session.execute(select(Experiment).order_by(Experiment.id.desc())).scalars())


def expected_on(experiment: Experiment, today: date, per_arm: dict[int, int] | None = None) -> date | None:
    """When the planned sample is expected at the assignment rate so far (None before any);
    ``per_arm``: the experiment's ``assigned_counts``, if the caller has them."""
    if experiment.started_at is None:
        return None
    assigned = sum((assigned_counts(experiment) if per_arm is None else per_arm).values())
    expected = expected_date(experiment.planned_n, assigned, experiment.started_at.date(), today)
    if expected is None or not needs_maturity(experiment.primary_metric):
        return expected
    # The last account needed must then have had KEPT_MATURITY_DAYS to pay three installments.
    if assigned >= experiment.planned_n:
        last_needed = db.session.execute(
            select(ExperimentAssignment.assigned_at)
            .where(ExperimentAssignment.experiment_id == experiment.id)
            .order_by(ExperimentAssignment.assigned_at, ExperimentAssignment.id)
            .offset(experiment.planned_n - 1)
            .limit(1)
        ).scalar_one()
        expected = last_needed.date()
    return max(today, expected + timedelta(days=KEPT_MATURITY_DAYS))


def analysis_input(experiment: Experiment, assigned: dict[int, int] | None = None) -> dict[str, Any]:
    """The experiment's counts in the CLI's input format (``portal experiments analyse``)."""
    counts = arm_counts(experiment, assigned)
    return {
        "alpha": float(experiment.alpha),
        "planned_n": experiment.planned_n,
        "arms": [
            {
                "name": str(arm.position),
                "share": float(arm.share),
                "assigned": counts[arm.id].assigned,
                "n": counts[arm.id].n,
                "successes": counts[arm.id].successes,
                "guardrails": {g: counts[arm.id].guardrails.get(g, 0) for g in experiment.guardrails or []},
            }
            for arm in experiment.arms
        ],
    }


def results(experiment: Experiment, assigned: dict[int, int] | None = None) -> dict[str, Any]:
    """The same analysis as the CLI, on the experiment's own counts."""
    return analyse(analysis_input(experiment, assigned))
