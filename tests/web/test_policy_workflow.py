"""The policy approval workflow as a service: maker-checker, scheduling, retiring, audit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal.audit.models import AuditEvent
from portal.audit.service import SYSTEM, Actor, verify_chain
from portal.domain.policy import OfferPolicy
from portal.extensions import db
from portal.policies import workflow
from portal.policies.cache import load_policy
from portal.policies.models import PolicyVersion
from portal.policies.service import active_version, ensure_default_policy
from portal.unit_of_work import unit_of_work, wrote

MAKER = Actor("staff", "1")
CHECKER = Actor("staff", "2")
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


@pytest.fixture
def ctx(app, frozen):
    """An app context with the default CNY policy active (version 1)."""
    with app.app_context():
        ensure_default_policy(SYSTEM, ("CNY",))
        db.session.commit()
        yield frozen


class Requests:
    """The workflow's services, each call one request: its own unit of work, committed
    when it returns and rolled back when it raises."""

    def __getattr__(self, name: str) -> Any:
        service = getattr(workflow, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with unit_of_work():
                return service(*args, **kwargs)

        return call


flow = Requests()


def changed(policy: OfferPolicy, **policy_fields: object) -> OfferPolicy:
    return replace(policy, **policy_fields)


def pending_draft(**policy_fields: object) -> PolicyVersion:
    draft = flow.create_draft(MAKER, "CNY")
    if policy_fields:
        flow.save_draft(draft.number, changed(load_policy(draft), **policy_fields), MAKER)
    return flow.submit(draft.number, MAKER, "shorter cool-down")


def events(action: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.execute(query).scalars())


def states() -> dict[int, str]:
    return dict(db.session.execute(select(PolicyVersion.number, PolicyVersion.state)).all())


def test_a_draft_copies_the_active_version_and_is_audited(ctx):
    draft = flow.create_draft(MAKER, "CNY")
    active = active_version("CNY")
    assert (draft.state, draft.number, draft.author, draft.based_on_id) == ("draft", 2, "staff:1", active.id)
    assert load_policy(draft) == active.policy
    (event,) = events("policy.draft_created")
    assert (event.actor_type, event.actor_id, event.object_id) == ("staff", "1", str(draft.id))
    assert event.after == {"number": 2, "currency": "CNY", "state": "draft", "based_on": 1}


def test_saving_records_only_the_changed_limits(ctx):
    draft = flow.create_draft(MAKER, "CNY")
    policy = load_policy(draft)
    tier = policy.tiers[0]
    edited = replace(
        policy,
        cooldown_days=30,
        tiers=(replace(tier, installment=replace(tier.installment, tenors=(3, 6, 24))), *policy.tiers[1:]),
    )
    flow.save_draft(draft.number, edited, MAKER)
    (event,) = events("policy.draft_saved")
    assert event.before == {"cooldown_days": 90, "tiers[M1].installment.tenors": [3, 6, 12, 24]}
    assert event.after == {"cooldown_days": 30, "tiers[M1].installment.tenors": [3, 6, 24]}
    assert db.session.get(PolicyVersion, draft.id).document["cooldown_days"] == 30


def test_an_invalid_draft_is_not_saved(ctx):
    draft = flow.create_draft(MAKER, "CNY")
    bad = changed(load_policy(draft), affordability_share=Decimal("1.5"))
    with pytest.raises(workflow.InvalidPolicyError) as raised:
        flow.save_draft(draft.number, bad, MAKER)
    assert [(p.field, p.code) for p in raised.value.problems] == [("affordability_share", "percent_out_of_range")]
    db.session.rollback()
    assert db.session.get(PolicyVersion, draft.id).document["affordability_share"] == "0.5"
    assert events("policy.draft_saved") == []


def test_only_the_author_edits_submits_or_withdraws(ctx):
    draft = flow.create_draft(MAKER, "CNY")
    for step in (
        lambda: flow.save_draft(draft.number, load_policy(draft), CHECKER),
        lambda: flow.submit(draft.number, CHECKER),
    ):
        with pytest.raises(workflow.PolicyError, match="not_author"):
            step()
        db.session.rollback()
    flow.submit(draft.number, MAKER)
    with pytest.raises(workflow.PolicyError, match="not_author"):
        flow.withdraw(draft.number, CHECKER)
    db.session.rollback()
    assert flow.withdraw(draft.number, MAKER).state == "draft"
    assert [e.after["state"] for e in events() if e.action in ("policy.submitted", "policy.withdrawn")] == [
        "pending",
        "draft",
    ]


def test_the_author_can_never_approve_or_reject_their_own_version(ctx):
    version = pending_draft(cooldown_days=30)
    before = len(events())
    for step in (
        lambda: flow.approve(version.number, MAKER, workflow.review_digest(version)),
        lambda: flow.reject(version.number, MAKER, "no"),
    ):
        with pytest.raises(workflow.PolicyError, match="own_draft"):
            step()
        db.session.rollback()
    assert states() == {1: "active", 2: "pending"} and len(events()) == before


def test_the_database_refuses_an_approver_who_is_the_author(ctx):
    version = pending_draft()
    with pytest.raises(IntegrityError):
        db.session.execute(update(PolicyVersion).where(PolicyVersion.id == version.id).values(approver="staff:1"))
        db.session.flush()
    db.session.rollback()


def test_approving_now_activates_and_retires_the_previous_version(ctx):
    version = pending_draft(cooldown_days=30)
    flow.approve(version.number, CHECKER, workflow.review_digest(version), comment="fine")
    assert states() == {1: "retired", 2: "active"}
    assert active_version("CNY").number == 2 and load_policy(active_version("CNY")).cooldown_days == 30
    old = db.session.execute(select(PolicyVersion).where(PolicyVersion.number == 1)).scalar_one()
    assert old.retired_at == NOW and version.effective_from == NOW and version.approver == "staff:2"
    approved, retired, activated = events()[-3:]
    assert (approved.action, approved.before, approved.after["state"]) == (
        "policy.approved",
        {"state": "pending"},
        "active",
    )
    assert (retired.action, retired.before, retired.after["state"]) == (
        "policy.retired",
        {"state": "active"},
        "retired",
    )
    assert (activated.action, activated.before, activated.after["state"]) == (
        "policy.activated",
        {"state": "pending"},
        "active",
    )
    assert {e.actor_id for e in (approved, retired, activated)} == {"2"}
    assert verify_chain() is None


def test_a_scheduled_version_is_in_effect_at_its_date_and_the_scheduler_marks_it_active(app, ctx):
    frozen = ctx
    at = NOW + timedelta(days=2)
    version = pending_draft(cooldown_days=30)
    assert flow.approve(version.number, CHECKER, workflow.review_digest(version), at).state == "scheduled"
    db.session.remove()
    assert active_version("CNY").number == 1  # not yet
    frozen.set(at - timedelta(seconds=1))
    assert active_version("CNY").number == 1
    frozen.set(at + timedelta(minutes=5))
    assert active_version("CNY").number == 2  # in effect from its time, before the scheduler ran
    assert load_policy(active_version("CNY")).cooldown_days == 30
    db.session.remove()
    assert states() == {1: "active", 2: "scheduled"}  # reading wrote nothing
    result = app.test_cli_runner().invoke(args=["portal", "policy", "activate-due"])
    assert "activated CNY policy version 2" in result.output
    db.session.remove()
    assert states() == {1: "retired", 2: "active"}
    assert active_version("CNY").number == 2
    old = db.session.execute(select(PolicyVersion).where(PolicyVersion.number == 1)).scalar_one()
    assert old.retired_at == at  # retired at the effective moment, not when the scheduler ran
    retired, activated = events()[-2:]
    assert (retired.action, retired.actor_type, activated.action, activated.actor_type) == (
        "policy.retired",
        "system",
        "policy.activated",
        "system",
    )
    assert activated.before == {"state": "scheduled"} and activated.after["replaces"] == 1


def test_reading_a_due_version_writes_nothing(ctx):
    frozen = ctx
    version = pending_draft()
    flow.approve(version.number, CHECKER, workflow.review_digest(version), NOW + timedelta(hours=1))
    db.session.remove()
    recorded = len(events())
    frozen.set(NOW + timedelta(hours=2))
    assert active_version("CNY").number == 2
    assert not wrote() and not (db.session.new or db.session.dirty)
    db.session.rollback()  # a read-only request ends without committing
    assert active_version("CNY").number == 2  # and nothing was lost by that
    assert states() == {1: "active", 2: "scheduled"} and len(events()) == recorded


def test_a_version_approved_now_replaces_one_whose_time_came_before_the_scheduler_ran(app, ctx):
    frozen = ctx
    scheduled = pending_draft(cooldown_days=60)
    flow.approve(scheduled.number, CHECKER, workflow.review_digest(scheduled), NOW + timedelta(hours=1))
    later = pending_draft(cooldown_days=30)  # drafted and submitted before that time
    frozen.set(NOW + timedelta(hours=2))
    assert active_version("CNY").number == 2  # in effect, not yet marked active
    flow.approve(later.number, CHECKER, workflow.review_digest(later))
    db.session.remove()
    assert states() == {1: "retired", 2: "retired", 3: "active"}
    assert active_version("CNY").number == 3
    result = app.test_cli_runner().invoke(args=["portal", "policy", "activate-due"])
    assert "no scheduled policy version is due" in result.output  # nothing left to undo the approval


def test_no_request_commits_an_activation(app, ctx, commits):
    """A page after a version's time reads it from memory; making it active is the scheduler's."""
    frozen = ctx
    version = pending_draft()
    flow.approve(version.number, CHECKER, workflow.review_digest(version), NOW + timedelta(hours=1))
    db.session.remove()
    client = app.test_client()
    assert client.get("/learn").status_code == 200
    frozen.set(NOW + timedelta(hours=2))
    for page in ("/learn", "/sign-in", "/learn/annualised-rate"):
        response, made = commits.during(lambda page=page: client.get(page))
        assert (response.status_code, made) == (200, 0), page
    db.session.remove()
    assert states() == {1: "active", 2: "scheduled"}


def test_the_cli_activates_due_versions_in_order(app, ctx):
    frozen = ctx
    first = pending_draft(cooldown_days=60)
    flow.approve(first.number, CHECKER, workflow.review_digest(first), NOW + timedelta(days=1))
    second = pending_draft(cooldown_days=30)
    flow.approve(second.number, CHECKER, workflow.review_digest(second), NOW + timedelta(days=2))
    db.session.remove()
    runner = app.test_cli_runner()
    assert "no scheduled policy version is due" in runner.invoke(args=["portal", "policy", "activate-due"]).output
    frozen.set(NOW + timedelta(days=3))
    result = runner.invoke(args=["portal", "policy", "activate-due"])
    assert result.exit_code == 0
    assert result.output.splitlines()[:2] == [
        f"activated CNY policy version 2 (effective {(NOW + timedelta(days=1)).isoformat()})",
        f"activated CNY policy version 3 (effective {(NOW + timedelta(days=2)).isoformat()})",
    ]
    db.session.remove()
    assert states() == {1: "retired", 2: "retired", 3: "active"}
    v2 = db.session.execute(select(PolicyVersion).where(PolicyVersion.number == 2)).scalar_one()
    assert v2.retired_at == NOW + timedelta(days=2)


def test_an_effective_date_must_be_in_the_future(ctx):
    version = pending_draft()
    with pytest.raises(workflow.PolicyError, match="effective_in_past"):
        flow.approve(version.number, CHECKER, workflow.review_digest(version), NOW - timedelta(minutes=1))
    db.session.rollback()
    assert states()[2] == "pending"


def test_rejecting_needs_a_reason_and_is_final(ctx):
    version = pending_draft()
    with pytest.raises(workflow.PolicyError, match="comment_required"):
        flow.reject(version.number, CHECKER, "  ")
    db.session.rollback()
    rejected = flow.reject(version.number, CHECKER, "Tenors too long for M1")
    assert (rejected.state, rejected.decision_comment, rejected.approver) == (
        "rejected",
        "Tenors too long for M1",
        "staff:2",
    )
    assert events()[-1].after == {"state": "rejected", "comment": "Tenors too long for M1"}
    with pytest.raises(workflow.PolicyError, match="not_pending"):
        flow.approve(version.number, CHECKER, workflow.review_digest(version))


def test_each_currency_has_its_own_active_version(ctx):
    ensure_default_policy(SYSTEM, ("HKD",))
    db.session.commit()
    draft = flow.create_draft(MAKER, "HKD")
    flow.submit(draft.number, MAKER)
    flow.approve(draft.number, CHECKER, workflow.review_digest(draft))
    assert active_version("CNY").number == 1 and active_version("HKD").number == draft.number
    assert states()[2] == "retired"


def test_a_draft_needs_a_known_currency(ctx):
    with pytest.raises(workflow.PolicyError, match="unknown_currency"):
        flow.create_draft(MAKER, "XYZ")
    db.session.rollback()
    assert states() == {1: "active"}


def test_a_currency_without_a_line_starts_from_the_default_policy(ctx):
    draft = flow.create_draft(MAKER, "HKD")
    assert draft.based_on_id is None and load_policy(draft).currency == "HKD"
    assert events("policy.draft_created")[0].after["based_on"] is None


def test_an_approval_names_the_content_reviewed_and_a_later_change_refuses_it(ctx):
    version = pending_draft(cooldown_days=30)
    reviewed = workflow.review_digest(version)
    flow.withdraw(version.number, MAKER)
    policy = load_policy(version)
    greedy = replace(
        policy,
        tiers=tuple(replace(t, settlement=replace(t.settlement, max_discount=Decimal("0.9"))) for t in policy.tiers),
    )
    flow.save_draft(version.number, greedy, MAKER)
    flow.submit(version.number, MAKER, "same as before")
    before = len(events())
    with pytest.raises(workflow.PolicyError, match="changed_since_review"):
        flow.approve(version.number, CHECKER, reviewed)
    db.session.rollback()
    assert states() == {1: "active", 2: "pending"} and len(events()) == before
    assert flow.approve(version.number, CHECKER, workflow.review_digest(version)).state == "active"


def test_the_review_digest_covers_the_document_and_the_submission(ctx):
    version = pending_draft()
    digest = workflow.review_digest(version)
    assert len(digest) == 64 and workflow.review_digest(version) == digest
    version.submitted_by = "staff:3"
    assert workflow.review_digest(version) != digest
    db.session.rollback()
    version.document = {**version.document, "cooldown_days": 1}
    assert workflow.review_digest(version) != digest
    db.session.rollback()
