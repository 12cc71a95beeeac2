"""The policy cache: ordinary requests read no policy table, a version is parsed once into
an immutable policy, drafts are never cached, and another worker's approval is seen
within the cache's lifetime."""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum

import pytest
from flask import Flask
from sqlalchemy import select

from portal.audit.service import SYSTEM, Actor
from portal.domain.default_policy import default_policy
from portal.extensions import db
from portal.policies import workflow
from portal.policies.cache import PolicyCache
from portal.policies.models import PolicyVersion
from portal.policies.service import NoActivePolicy, active_version, ensure_default_policy, load_policy
from tests.conftest import make_account, make_app, sql_statements, unit

MAKER = Actor("staff", "1")
CHECKER = Actor("staff", "2")
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def default_cny_policy(app: Flask) -> None:
    with app.app_context():
        ensure_default_policy(SYSTEM, ("CNY",))
        db.session.commit()


def approve_new_version(at: datetime | None = None, **policy_fields: object) -> int:
    """Draft, submit and approve a CNY version (active now, or scheduled ``at``)."""
    draft = workflow.create_draft(MAKER, "CNY")
    workflow.save_draft(draft.number, replace(load_policy(draft), **policy_fields), MAKER)
    submitted = workflow.submit(draft.number, MAKER)
    return workflow.approve(submitted.number, CHECKER, workflow.review_digest(submitted), at).number


def states(app: Flask) -> dict[int, str]:
    with app.app_context():
        return dict(db.session.execute(select(PolicyVersion.number, PolicyVersion.state)).all())


def test_ordinary_requests_read_no_policy_table(app, auth):
    make_account(app)
    default_cny_policy(app)
    auth.sign_in()
    assert auth.client.get("/plan/offers").status_code == 200  # this worker learns the versions
    with sql_statements(app, "policy_versions") as seen:
        for page in ("/account", "/plan/offers", "/plan/promise", "/learn"):
            assert auth.client.get(page).status_code == 200, page
    assert seen == []


def offer_links(html: str) -> set[str]:
    return set(re.findall(r'href="(/plan/offers/[0-9a-f]{8,})"', html))


def test_a_scheduled_version_takes_effect_at_its_time_with_no_policy_query_or_write(app, auth, frozen):
    make_account(app)
    default_cny_policy(app)
    fewer = tuple(  # the account's tier (M2, 35 days past due) loses its longer installment plans
        replace(t, installment=replace(t.installment, tenors=(3, 6), agent_max_tenor=6)) if t.name == "M2" else t
        for t in default_policy().tiers
    )
    with unit(app):
        approve_new_version(NOW + timedelta(minutes=5), tiers=fewer)
    auth.sign_in()
    with sql_statements(app, "policy_versions") as first:
        before = offer_links(auth.client.get("/plan/offers").text)  # this worker reads the versions
    frozen.set(NOW + timedelta(minutes=5))
    with sql_statements(app, "policy_versions") as due:
        after = offer_links(auth.client.get("/plan/offers").text)
    assert first and due == []  # read once; the time passing needs no look-up
    assert after and after != before  # the new version's offers, at its time
    assert states(app) == {1: "active", 2: "scheduled"}  # no request activated it
    result = app.test_cli_runner().invoke(args=["portal", "policy", "activate-due"])
    assert "activated CNY policy version 2" in result.output
    assert states(app) == {1: "retired", 2: "active"}
    assert offer_links(auth.client.get("/plan/offers").text) == after


def test_a_version_approved_by_another_worker_is_seen_within_the_cache_lifetime(app, database_url):
    default_cny_policy(app)
    worker = make_app(database_url, POLICY_CACHE_SECONDS=1)
    try:
        with worker.app_context():
            assert active_version("CNY").number == 1
        with unit(app):  # another worker (its own cache) approves a new version
            approve_new_version(cooldown_days=30)
        with worker.app_context(), sql_statements(worker, "policy_versions") as seen:
            assert active_version("CNY").number == 1  # still trusted: no query
        assert seen == []
        time.sleep(1.1)
        with worker.app_context():
            version = active_version("CNY")
        assert (version.number, version.policy.cooldown_days) == (2, 30)
    finally:
        with worker.app_context():
            db.engine.dispose()


def test_the_scheduler_activating_elsewhere_changes_nothing_a_worker_shows(app, database_url, frozen):
    default_cny_policy(app)
    with unit(app):
        approve_new_version(NOW + timedelta(hours=1), cooldown_days=30)
    with app.app_context():
        assert active_version("CNY").number == 1  # this worker learns the versions and their times
    frozen.set(NOW + timedelta(hours=1))
    scheduler = make_app(database_url)  # the scheduler (its own process) activates
    try:
        result = scheduler.test_cli_runner().invoke(args=["portal", "policy", "activate-due"])
        assert "activated CNY policy version 2" in result.output
    finally:
        with scheduler.app_context():
            db.engine.dispose()
    with app.app_context(), sql_statements(app, "policy_versions") as seen:
        version = active_version("CNY")  # from memory: the due version, as before the scheduler ran
    assert (version.number, version.policy.cooldown_days, seen) == (2, 30, [])
    app.extensions["policy_cache"].forget()
    with app.app_context():
        assert active_version("CNY").number == 2  # and from the database alike
    assert states(app) == {1: "retired", 2: "active"}


@pytest.mark.real_commits  # the second request must have a connection of its own
def test_an_uncommitted_change_is_seen_only_by_its_own_transaction(app):
    default_cny_policy(app)
    with app.app_context():
        assert active_version("CNY").number == 1  # this worker knows version 1
        stored = db.session.execute(select(PolicyVersion).where(PolicyVersion.number == 1)).scalar_one()
        stored.state = "retired"  # not flushed yet
        with pytest.raises(NoActivePolicy):
            active_version("CNY")
        with app.app_context():  # another request of this worker, before that transaction ends
            assert active_version("CNY").number == 1
        db.session.rollback()
    with app.app_context():
        assert active_version("CNY").number == 1


def test_this_workers_own_approval_is_seen_at_once(app):
    default_cny_policy(app)
    with app.app_context():
        assert active_version("CNY").number == 1
        approve_new_version(cooldown_days=30)
        assert active_version("CNY").policy.cooldown_days == 30


def assert_deeply_immutable(value: object, path: str = "policy") -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        assert type(value).__dataclass_params__.frozen, f"{path} is a mutable dataclass"  # type: ignore[attr-defined]
        for f in dataclasses.fields(value):
            assert_deeply_immutable(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, tuple | frozenset):
        for index, item in enumerate(value):
            assert_deeply_immutable(item, f"{path}[{index}]")
    else:
        assert value is None or isinstance(value, str | int | Decimal | Enum), f"{path} is a {type(value).__name__}"


def test_the_active_policy_is_parsed_once_and_cannot_be_changed(app):
    default_cny_policy(app)
    with app.app_context():
        first = active_version("CNY")
    with app.app_context():  # another request
        second = active_version("CNY")
        stored = db.session.execute(select(PolicyVersion).where(PolicyVersion.number == 1)).scalar_one()
        assert load_policy(stored) is first.policy
    assert second.policy is first.policy
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.policy.cooldown_days = 1  # type: ignore[misc]
    assert_deeply_immutable(first.policy)


def test_a_draft_being_edited_is_parsed_afresh_every_time(app):
    default_cny_policy(app)
    with app.app_context():
        draft = workflow.create_draft(MAKER, "CNY")
        assert load_policy(draft) is not load_policy(draft)  # never from the cache
        workflow.save_draft(draft.number, replace(load_policy(draft), cooldown_days=30), MAKER)
        assert load_policy(draft).cooldown_days == 30
        assert active_version("CNY").policy.cooldown_days == default_policy().cooldown_days


def test_a_reused_version_id_never_serves_another_document():
    cache = PolicyCache(ttl=5)
    first, second = default_policy(), replace(default_policy(), cooldown_days=7)
    assert cache.parsed(1, first.to_dict()) == first
    assert cache.parsed(1, second.to_dict()) == second
