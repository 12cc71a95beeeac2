"""Experiments as data: maker-checker start/stop/promote, assignment at first exposure,
offers from the arm's policy version, and the results the pages show."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.audit.service import SYSTEM, Actor
from portal.experiments import service
from portal.experiments.assignment import policy_for_account
from portal.experiments.design import arm_position
from portal.experiments.models import Experiment, ExperimentAssignment, ExperimentProposal
from portal.experiments.service import ChallengerSpec, ExperimentError
from portal.extensions import db
from portal.offers.adapter import offers_for_account
from portal.policies import workflow
from portal.policies.cache import load_policy
from portal.policies.models import PolicyVersion
from portal.policies.service import active_version, ensure_default_policy
from portal.unit_of_work import unit_of_work
from tests.conftest import make_account
from tests.plan_factories import card_number

MAKER = Actor("staff", "1")
CHECKER = Actor("staff", "2")
THIRD = Actor("staff", "3")
TODAY = date(2026, 11, 28)


@pytest.fixture
def ctx(app, frozen):
    with app.app_context():
        ensure_default_policy(SYSTEM, ("CNY",))
        db.session.commit()
        yield frozen


def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """One request: committed when it returns, rolled back when it raises."""
    with unit_of_work():
        return function(*args, **kwargs)


def challenger_version(author: Actor = THIRD, **fields: Any) -> PolicyVersion:
    draft = call(workflow.create_draft, author, "CNY")
    policy = load_policy(draft)
    call(workflow.save_draft, draft.number, replace(policy, **(fields or {"cooldown_days": 60})), author)
    return call(workflow.submit, draft.number, author, "challenger")


def propose(*versions: PolicyVersion, share: str = "0.1", **design: Any) -> Experiment:
    values: dict[str, Any] = dict(
        name="Shorter cool-down",
        currency="CNY",
        challengers=[ChallengerSpec(v.number, Decimal(share)) for v in versions],
        primary_metric="plan_accepted",
        guardrails=["plan_broken"],
        baseline_rate=Decimal("0.2"),
        mde=Decimal("0.05"),
        alpha=Decimal("0.05"),
        power=Decimal("0.8"),
    )
    values.update(design)
    return call(service.create_experiment, MAKER, **values)


def start(experiment: Experiment, actor: Actor = CHECKER) -> Experiment:
    return call(service.approve, experiment.id, actor, service.review_digest(experiment))


def actions() -> list[str]:
    return list(db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


def test_a_proposed_experiment_states_its_design_and_the_sample_it_needs(ctx):
    experiment = propose(challenger_version())
    assert experiment.state == "pending" and experiment.proposed_action == "start"
    assert [str(a.share) for a in experiment.arms] == ["0.900000", "0.100000"]
    assert experiment.arms[0].policy_version_id == active_version("CNY").id
    # 20 % -> 25 % at a 90/10 split needs far more than the 2 x 1,092 of an even split.
    assert experiment.planned_n > 5000
    assert actions()[-2:] == ["experiment.created", "experiment.proposed"]


def test_a_second_admin_starts_it_and_the_challenger_becomes_an_approved_challenger(ctx):
    version = challenger_version()
    experiment = start(propose(version))
    assert experiment.state == "running" and experiment.approver == "staff:2"
    stored = db.session.get(PolicyVersion, version.id)
    assert stored.state == "challenger" and stored.approver == "staff:2"
    assert "experiment.started" in actions() and actions().count("policy.approved") == 1
    assert active_version("CNY").number == 1  # the champion stays active


def test_nobody_starts_their_own_proposal_or_approves_their_own_challenger(ctx):
    experiment = propose(challenger_version(author=THIRD))
    with pytest.raises(ExperimentError, match="own_proposal"):
        start(experiment, MAKER)
    with pytest.raises(ExperimentError, match="own_version"):
        start(experiment, THIRD)
    assert db.session.get(Experiment, experiment.id).state == "pending"


def test_a_challenger_must_leave_the_hardship_terms_alone(ctx):
    policy = load_policy(db.session.get(PolicyVersion, active_version("CNY").id))
    tiers = tuple(replace(t, personalised=replace(t.personalised, max_tenor=36)) for t in policy.tiers)
    with pytest.raises(ExperimentError, match="changes_hardship"):
        propose(challenger_version(tiers=tiers))


def test_a_challenger_must_be_a_submitted_valid_version(ctx):
    draft = call(workflow.create_draft, THIRD, "CNY")
    with pytest.raises(ExperimentError, match="not_challenger_version"):
        propose(draft)
    with pytest.raises(ExperimentError, match="bad_shares"):
        propose(challenger_version(), share="1.0")


def test_a_changed_proposal_is_not_approved_by_an_old_review(ctx):
    experiment = propose(challenger_version())
    digest = service.review_digest(experiment)
    experiment.name = "Something else"
    db.session.commit()
    with pytest.raises(ExperimentError, match="changed_since_review"):
        call(service.approve, experiment.id, CHECKER, digest)


def _accounts(app, count: int) -> list[int]:
    return [make_account(app, card=card_number(700 + n)) for n in range(count)]


def test_assignment_at_first_exposure_is_stored_audited_and_never_changes(app, ctx):
    from portal.accounts.models import CardAccount

    version = challenger_version()
    experiment = start(propose(version, share="0.5"))
    ids = _accounts(app, 24)
    seen: dict[int, int] = {}
    for account_id in ids:
        account = db.session.get(CardAccount, account_id)
        offered, _offers = call(offers_for_account, account, TODAY)
        seen[account_id] = offered.id
    rows = dict(db.session.execute(select(ExperimentAssignment.account_id, ExperimentAssignment.arm_id)).all())
    assert sorted(rows) == sorted(ids)
    arms = {arm.id: arm for arm in experiment.arms}
    key = app.config["CARD_HASH_KEY"].encode()
    for account_id, arm_id in rows.items():
        arm = arms[arm_id]
        # The keyed hash picked the arm, and the offers came from that arm's version.
        assert arm.position == arm_position(key, experiment.id, account_id, [a.share for a in experiment.arms])
        assert seen[account_id] == arm.policy_version_id
    assert {arms[a].position for a in rows.values()} == {0, 1}  # 24 accounts at 50/50 fill both
    assert actions().count("experiment.assigned") == 24
    # Seen again: the same arm, no new row, no new audit event.
    account = db.session.get(CardAccount, ids[0])
    assert call(policy_for_account, account).id == seen[ids[0]]
    assert db.session.execute(select(func.count()).select_from(ExperimentAssignment)).scalar() == 24
    assert actions().count("experiment.assigned") == 24


def test_without_a_running_experiment_nobody_is_assigned(app, ctx):
    from portal.accounts.models import CardAccount

    propose(challenger_version(), share="0.5")  # proposed, not started
    account = db.session.get(CardAccount, _accounts(app, 1)[0])
    assert call(policy_for_account, account).id == active_version("CNY").id
    assert db.session.execute(select(func.count()).select_from(ExperimentAssignment)).scalar() == 0


def test_stopping_needs_a_second_admin_and_returns_everyone_to_the_champion(app, ctx):
    from portal.accounts.models import CardAccount

    version = challenger_version()
    experiment = start(propose(version, share="0.5"))
    ids = _accounts(app, 6)
    for account_id in ids:
        call(policy_for_account, db.session.get(CardAccount, account_id))
    call(service.propose, experiment.id, CHECKER, ExperimentProposal.STOP, comment="enough")
    with pytest.raises(ExperimentError, match="own_proposal"):
        start(db.session.get(Experiment, experiment.id), CHECKER)
    stopped = start(db.session.get(Experiment, experiment.id), MAKER)
    assert stopped.state == "stopped" and db.session.get(PolicyVersion, version.id).state == "retired"
    champion = active_version("CNY").id
    for account_id in ids:
        assert call(policy_for_account, db.session.get(CardAccount, account_id)).id == champion


def test_promoting_a_challenger_activates_it_through_the_approval(ctx):
    version = challenger_version()
    experiment = start(propose(version))
    old_champion = active_version("CNY").id
    call(service.propose, experiment.id, MAKER, ExperimentProposal.PROMOTE, arm_position=1)
    promoted = start(db.session.get(Experiment, experiment.id), THIRD)
    assert promoted.state == "stopped" and promoted.promoted_version_id == version.id
    assert active_version("CNY").id == version.id
    assert db.session.get(PolicyVersion, old_champion).state == "retired"
    assert {"policy.activated", "policy.retired", "experiment.promoted"} <= set(actions())


def test_results_use_the_same_analysis_as_the_cli(app, ctx):
    from portal.accounts.models import CardAccount

    experiment = start(propose(challenger_version(), share="0.5"))
    for account_id in _accounts(app, 4):
        call(policy_for_account, db.session.get(CardAccount, account_id))
    data = service.analysis_input(db.session.get(Experiment, experiment.id))
    assert sum(arm["assigned"] for arm in data["arms"]) == 4 and data["planned_n"] == experiment.planned_n
    result = service.results(db.session.get(Experiment, experiment.id))
    assert result["decision"] == "not_yet" and result["comparisons"] == []
    assert service.expected_on(db.session.get(Experiment, experiment.id), TODAY) is not None


def test_no_other_version_becomes_active_while_an_experiment_runs(ctx):
    from portal.policies.workflow import PolicyError

    start(propose(challenger_version()))
    other = challenger_version(cooldown_days=45)
    with pytest.raises(PolicyError, match="experiment_running"):
        call(workflow.approve, other.number, CHECKER, workflow.review_digest(other))
    assert db.session.get(PolicyVersion, other.id).state == "pending"


def test_an_experiment_does_not_start_while_a_version_is_scheduled(ctx):
    from datetime import timedelta

    from portal.db_types import utcnow

    scheduled = challenger_version(cooldown_days=45)
    later = utcnow() + timedelta(days=3)
    call(workflow.approve, scheduled.number, CHECKER, workflow.review_digest(scheduled), later)
    experiment = propose(challenger_version())
    with pytest.raises(ExperimentError, match="version_scheduled"):
        start(experiment)


def test_without_a_challenger_the_hook_costs_no_query(app, ctx):
    from portal.accounts.models import CardAccount
    from tests.conftest import sql_statements

    account = db.session.get(CardAccount, _accounts(app, 1)[0])
    active_version("CNY")  # the cache knows the versions
    with sql_statements(app) as seen:
        version = policy_for_account(account)
    assert version.id == active_version("CNY").id and seen == []


def test_staff_looking_at_offers_see_the_arm_and_assign_nothing(app, ctx):
    from portal.accounts.models import CardAccount

    experiment = start(propose(challenger_version(), share="0.5"))
    ids = _accounts(app, 12)
    key = app.config["CARD_HASH_KEY"].encode()
    versions = {arm.position: arm.policy_version_id for arm in experiment.arms}
    for account_id in ids:
        account = db.session.get(CardAccount, account_id)
        offered, _offers = call(offers_for_account, account, TODAY, by_staff=True)
        # The arm the account will be given at its first real exposure, not stored yet.
        position = arm_position(key, experiment.id, account_id, [a.share for a in experiment.arms])
        assert offered.id == versions[position]
    assert db.session.execute(select(func.count()).select_from(ExperimentAssignment)).scalar() == 0
    assert "experiment.assigned" not in actions()


def test_sending_a_plan_link_is_a_first_exposure(app, ctx):
    from portal.links.service import issue_plan_link

    start(propose(challenger_version(), share="0.5"))
    account_id = _accounts(app, 1)[0]
    call(issue_plan_link, account_id, "sms", Actor("staff", "9"))
    row = db.session.execute(select(ExperimentAssignment)).scalar_one()
    assert (row.account_id, row.exposure) == (account_id, "link_sent")


def test_a_concurrent_first_exposure_keeps_the_first_row_and_audits_once(app, ctx):
    from portal.accounts.models import CardAccount
    from portal.experiments.assignment import _assign
    from portal.experiments.models import Exposure

    experiment = start(propose(challenger_version(), share="0.5"))
    account = db.session.get(CardAccount, _accounts(app, 1)[0])
    first = call(policy_for_account, account, Exposure.LINK_SENT)
    # The other request had read "no assignment" before this one committed its row.
    again = call(_assign, account, Exposure.OFFERS_VIEWED, active_version("CNY"))
    assert again == first.id
    row = db.session.execute(select(ExperimentAssignment)).scalar_one()
    assert row.exposure == "link_sent" and row.experiment_id == experiment.id
    assert actions().count("experiment.assigned") == 1


def test_a_design_the_columns_cannot_hold_exactly_is_refused(ctx):
    with pytest.raises(ExperimentError, match="bad_shares"):
        propose(challenger_version(), share="0.1234567")
    with pytest.raises(ExperimentError, match="bad_design"):
        propose(challenger_version(), mde=Decimal("0.000001"), alpha=Decimal("0.000001"))
    assert db.session.execute(select(func.count()).select_from(Experiment)).scalar() == 0


def test_a_challenger_changed_after_review_is_not_started_by_that_review(ctx):
    version = challenger_version()
    experiment = propose(version)
    digest = service.review_digest(experiment)
    call(workflow.withdraw, version.number, THIRD)
    draft = db.session.get(PolicyVersion, version.id)
    call(workflow.save_draft, version.number, replace(load_policy(draft), cooldown_days=20), THIRD)
    call(workflow.submit, version.number, THIRD, "changed")
    with pytest.raises(ExperimentError, match="changed_since_review"):
        call(service.approve, experiment.id, CHECKER, digest)
    assert db.session.get(Experiment, experiment.id).state == "pending"


def test_opt_outs_disputes_and_hardship_requests_count_as_guardrails_after_assignment(app, ctx):
    from portal.accounts.models import CardAccount
    from portal.cases.models import CaseEventKind
    from portal.cases.service import add_event
    from portal.experiments.outcomes import arm_counts

    guardrails = ["plan_broken", "opted_out", "dispute_raised", "hardship_requested"]
    experiment = start(propose(challenger_version(), share="0.5", guardrails=guardrails))
    before, after, other_flag = _accounts(app, 3)
    call(add_event, before, CaseEventKind.OPTED_OUT, SYSTEM, {"channel": "sms"})  # before its assignment
    ctx.set(datetime(2026, 11, 28, 4, 1, tzinfo=UTC))
    for account_id in (before, after, other_flag):
        call(policy_for_account, db.session.get(CardAccount, account_id))
    ctx.set(datetime(2026, 11, 28, 4, 2, tzinfo=UTC))
    call(add_event, after, CaseEventKind.OPTED_OUT, SYSTEM, {"channel": "sms"})
    call(add_event, after, CaseEventKind.FLAG_SET, SYSTEM, {"flag": "dispute", "note": "not my debt"})
    call(add_event, other_flag, CaseEventKind.FLAG_SET, SYSTEM, {"flag": "deceased", "note": ""})
    counts = arm_counts(db.session.get(Experiment, experiment.id))
    totals = {g: sum(c.guardrails.get(g, 0) for c in counts.values()) for g in guardrails}
    assert totals == {"plan_broken": 0, "opted_out": 1, "dispute_raised": 1, "hardship_requested": 0}
    # An opt-out taken at the care desk (a consent flag) is an opt-out too.
    call(add_event, other_flag, CaseEventKind.FLAG_SET, SYSTEM, {"flag": "optout_sms", "note": "asked by phone"})
    counts = arm_counts(db.session.get(Experiment, experiment.id))
    assert sum(c.guardrails.get("opted_out", 0) for c in counts.values()) == 2


def test_kept_to_cycle_3_is_judged_on_accounts_assigned_long_enough_ago(app, ctx):
    from datetime import timedelta

    from portal.accounts.models import CardAccount
    from portal.experiments.design import expected_date
    from portal.experiments.outcomes import KEPT_MATURITY_DAYS

    design = {"primary_metric": "kept_to_cycle_3", "mde": Decimal("0.6")}  # a small sample, so a date
    experiment = start(propose(challenger_version(), share="0.5", **design))
    early, late = _accounts(app, 2)
    call(policy_for_account, db.session.get(CardAccount, early))
    ctx.set(datetime(2026, 11, 28, 4, 0, tzinfo=UTC) + timedelta(days=KEPT_MATURITY_DAYS))
    call(policy_for_account, db.session.get(CardAccount, late))
    data = service.analysis_input(db.session.get(Experiment, experiment.id))
    assert sum(arm["assigned"] for arm in data["arms"]) == 2
    assert sum(arm["n"] for arm in data["arms"]) == 1  # the late account cannot have paid three installments yet
    running = db.session.get(Experiment, experiment.id)
    today = date(2027, 3, 28)
    assigned_by = expected_date(running.planned_n, 2, running.started_at.date(), today)
    assert assigned_by is not None
    assert service.expected_on(running, today) == assigned_by + timedelta(days=KEPT_MATURITY_DAYS)


def test_a_harm_before_the_kept_metric_can_judge_anyone_still_rings_and_never_breaks_the_page(app, ctx):
    from portal.accounts.models import CardAccount
    from portal.cases.models import CaseEventKind
    from portal.cases.service import add_event

    design = {"primary_metric": "kept_to_cycle_3", "guardrails": ["opted_out"]}
    experiment = start(propose(challenger_version(), share="0.5", **design))
    ids = _accounts(app, 4)
    for account_id in ids:
        call(policy_for_account, db.session.get(CardAccount, account_id))
    ctx.set(datetime(2026, 11, 28, 5, 0, tzinfo=UTC))
    for account_id in ids:
        call(add_event, account_id, CaseEventKind.OPTED_OUT, SYSTEM, {"channel": "sms"})
    running = db.session.get(Experiment, experiment.id)
    data = service.analysis_input(running)
    assert sum(arm["n"] for arm in data["arms"]) == 0  # nobody assigned 120 days ago yet
    assert sum(arm["guardrails"]["opted_out"] for arm in data["arms"]) == 4  # counted among the assigned
    result = service.results(running)  # no AnalysisInputError: harms are counted among the assigned
    assert result["decision"] == "not_yet" and len(result["guardrail_alarms"]) == 1


def test_the_kept_metric_is_expected_once_the_last_account_needed_has_matured(app, ctx):
    from datetime import timedelta

    from portal.accounts.models import CardAccount
    from portal.experiments.outcomes import KEPT_MATURITY_DAYS

    design = {"primary_metric": "kept_to_cycle_3", "mde": Decimal("0.6")}
    experiment = start(propose(challenger_version(), share="0.5", **design))
    running = db.session.get(Experiment, experiment.id)
    ids = _accounts(app, running.planned_n)
    for account_id in ids:
        call(policy_for_account, db.session.get(CardAccount, account_id))
    assigned_on = date(2026, 11, 28)
    # Every account needed is assigned: the date no longer moves with today.
    for today in (date(2026, 12, 5), date(2027, 1, 5)):
        assert service.expected_on(running, today) == assigned_on + timedelta(days=KEPT_MATURITY_DAYS)
    later = assigned_on + timedelta(days=KEPT_MATURITY_DAYS + 30)
    assert service.expected_on(running, later) == later  # reached
