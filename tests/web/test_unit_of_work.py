"""The unit of work: one commit at the end of a request, none for a read, nothing kept
from a failed request, refusals that keep what they must, and work after commit.

The rules are tested on a small app of their own (the portal's factory plus a few
routes that write a session row), then on the portal's own acceptance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, abort
from sqlalchemy import func, select, text

from portal.agreements import signing
from portal.agreements.models import Agreement
from portal.audit.models import AuditEvent
from portal.audit.service import SYSTEM
from portal.auth.models import OneTimeCode, WebSession
from portal.cases.models import CaseEvent
from portal.db_types import utcnow
from portal.extensions import db
from portal.links.models import PlanLink
from portal.notifications.models import OutboxMessage
from portal.plans.models import Plan
from portal.policies.service import ensure_default_policy
from portal.unit_of_work import NestedUnitOfWorkError, after_commit, keep_on_refusal, unit_of_work
from tests.conftest import CardholderAuth, csrf_token, make_account, make_app, unit
from tests.web.test_links import issue


def _write(principal: str) -> None:
    now = utcnow()
    db.session.add(
        WebSession(token_hash=principal.ljust(64, "0"), principal=principal, created_at=now, last_seen_at=now)
    )
    db.session.flush()


@pytest.fixture
def rules_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """The portal with routes that write a row, then answer in different ways."""
    rules = make_app(database_url)
    ran: list[str] = []
    rules.config["RAN"] = ran

    @rules.get("/t/ok")
    def ok() -> str:
        _write("ok")
        after_commit(lambda: ran.append("after ok"))
        return "ok"

    @rules.get("/t/read")
    def read() -> str:
        db.session.execute(select(WebSession.id)).all()
        after_commit(lambda: ran.append("after read"))
        return "read"

    @rules.get("/t/refused")
    def refused() -> str:
        _write("refused")
        after_commit(lambda: ran.append("after refused"))
        abort(409)

    @rules.get("/t/kept")
    def kept() -> tuple[str, int]:
        _write("kept")
        keep_on_refusal()
        after_commit(lambda: ran.append("after kept"))
        return "kept", 422

    @rules.get("/t/crash")
    def crash() -> str:
        _write("crash")
        after_commit(lambda: ran.append("after crash"))
        raise RuntimeError("late failure")

    @rules.get("/t/after-fails")
    def after_fails() -> str:
        _write("after-fails")

        def broken() -> None:
            _write("written by broken work")
            raise OSError("the key is unreadable")

        after_commit(broken)
        after_commit(lambda: ran.append("after the broken one"))
        return "fine"

    yield rules
    with rules.app_context():
        db.engine.dispose()  # its own engine: close its connections


def principals(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(db.session.execute(select(WebSession.principal)).scalars())


def test_a_request_commits_once_when_it_wrote_and_not_at_all_for_a_read(rules_app, commits):
    client = rules_app.test_client()
    (response, n) = commits.during(lambda: client.get("/t/ok"))
    assert (response.status_code, n) == (200, 1)
    assert rules_app.config["RAN"] == ["after ok"]
    (response, n) = commits.during(lambda: client.get("/t/read"))
    assert (response.status_code, n) == (200, 0)
    assert rules_app.config["RAN"] == ["after ok", "after read"]  # a read "commits" nothing, but it ended well
    assert principals(rules_app) == ["ok"]


def test_a_refusal_keeps_nothing_unless_a_service_asked_to(rules_app, commits):
    client = rules_app.test_client()
    assert commits.during(lambda: client.get("/t/refused"))[1] == 0
    (response, n) = commits.during(lambda: client.get("/t/kept"))
    assert (response.status_code, n) == (422, 1)
    assert principals(rules_app) == ["kept"]
    assert rules_app.config["RAN"] == []  # work queued for a success never runs after a refusal


def test_an_exception_rolls_everything_back_and_runs_no_after_commit_work(rules_app, commits):
    (response, n) = commits.during(lambda: rules_app.test_client().get("/t/crash"))
    assert (response.status_code, n) == (500, 0)
    assert principals(rules_app) == [] and rules_app.config["RAN"] == []


def test_failing_after_commit_work_is_no_error_page_and_undoes_only_itself(rules_app):
    response = rules_app.test_client().get("/t/after-fails")
    assert response.status_code == 200
    assert principals(rules_app) == ["after-fails"]  # not the broken work's row
    assert rules_app.config["RAN"] == ["after the broken one"]


def test_units_of_work_do_not_nest(app):
    with app.app_context(), unit_of_work():
        _write("outer")
        with pytest.raises(NestedUnitOfWorkError), unit_of_work():
            pass
    assert principals(app) == ["outer"]


# --- the portal's own requests ---------------------------------------------------------


@pytest.fixture
def policy(app: Flask) -> None:
    with unit(app):
        ensure_default_policy(SYSTEM)


def _counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        count = lambda model: db.session.execute(select(func.count()).select_from(model)).scalar_one()  # noqa: E731
        return {
            "plans": count(Plan),
            "agreements": count(Agreement),
            "outbox": count(OutboxMessage),
            "audit": count(AuditEvent),
            "case_events": count(CaseEvent),
        }


def _link_used_by_someone_else(app: Flask, link_id: int) -> Any:
    """A trigger that, as the plan row is written, marks the link used by another request:
    the acceptance meets a used link at its stamp, after plan, audit and outbox rows."""
    with app.app_context():
        dialect = db.engine.dialect.name
        with db.engine.begin() as conn:
            if dialect == "sqlite":
                conn.execute(
                    text(
                        "CREATE TRIGGER uow_steal_link AFTER INSERT ON plans BEGIN "
                        f"UPDATE plan_links SET used_at = expires_at WHERE id = {link_id}; END"
                    )
                )
            else:
                conn.execute(
                    text(
                        "CREATE FUNCTION uow_steal_link() RETURNS trigger AS $$ BEGIN "
                        f"UPDATE plan_links SET used_at = expires_at WHERE id = {link_id}; RETURN NEW; END $$ "
                        "LANGUAGE plpgsql"
                    )
                )
                conn.execute(
                    text(
                        "CREATE TRIGGER uow_steal_link AFTER INSERT ON plans "
                        "FOR EACH ROW EXECUTE FUNCTION uow_steal_link()"
                    )
                )
    return dialect


def _drop_trigger(app: Flask, dialect: str) -> None:
    with app.app_context(), db.engine.begin() as conn:
        if dialect == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS uow_steal_link"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS uow_steal_link ON plans"))
            conn.execute(text("DROP FUNCTION IF EXISTS uow_steal_link()"))


@pytest.mark.real_commits  # the trigger is built through its own connection
def test_a_used_link_met_at_the_stamp_undoes_the_whole_acceptance(app, client, policy, frozen):
    account_id = make_account(app, dpd=35)
    link_id, token = issue(app, account_id)
    assert client.get(f"/l/{token}").status_code == 302
    CardholderAuth(client).sign_in()
    client.get("/plan/from-link")  # the journey takes the link over (stamped verified)
    fp = re.findall(r"/plan/offers/([0-9a-f]{64})", client.get("/plan/offers").get_data(as_text=True))[0]
    page = client.get(f"/plan/offers/{fp}/accept")
    before = _counts(app)
    dialect = _link_used_by_someone_else(app, link_id)
    try:
        response = client.post(
            f"/plan/offers/{fp}/accept",
            data={"csrf_token": csrf_token(page.data), "full_name": "Li Na", "consent": "y"},
        )
    finally:
        _drop_trigger(app, dialect)
    assert response.status_code == 409 and "This link was already used" in response.get_data(as_text=True)
    assert _counts(app) == before  # no plan, agreement, confirmation message, audit or case event
    with app.app_context():
        assert db.session.get(PlanLink, link_id).plan_id is None
    # Without the link in the way the same offer can be accepted; its PDF follows the commit.
    page = client.get(f"/plan/offers/{fp}/accept")
    signed = client.post(
        f"/plan/offers/{fp}/accept", data={"csrf_token": csrf_token(page.data), "full_name": "Li Na", "consent": "y"}
    )
    assert signed.status_code == 302
    with app.app_context():
        assert db.session.execute(select(Agreement.state)).scalar_one() == "signed"


def test_a_pdf_that_fails_after_commit_leaves_the_plan_and_a_pending_agreement(app, client, policy, monkeypatch):
    make_account(app, dpd=35)
    CardholderAuth(client).sign_in()
    fp = re.findall(r"/plan/offers/([0-9a-f]{64})", client.get("/plan/offers").get_data(as_text=True))[0]
    page = client.get(f"/plan/offers/{fp}/accept")

    def no_key(*args: object, **kwargs: object) -> bytes:
        raise OSError("the key is unreadable")

    monkeypatch.setattr(signing, "sign_pdf", no_key)
    signed = client.post(
        f"/plan/offers/{fp}/accept", data={"csrf_token": csrf_token(page.data), "full_name": "Li Na", "consent": "y"}
    )
    assert signed.status_code == 302
    done = client.get(signed.headers["Location"])
    assert done.status_code == 200 and "being prepared" in done.get_data(as_text=True)
    with app.app_context():
        agreement = db.session.execute(select(Agreement)).scalar_one()
        assert (agreement.state, agreement.attempts, agreement.last_error) == ("pending", 1, "sign failed: OSError")
        assert db.session.execute(select(Plan.state)).scalar_one() == "active"


def test_a_refused_code_keeps_its_counted_attempt(app, client, frozen):
    make_account(app)
    auth = CardholderAuth(client)
    auth.start()
    assert auth.enter("000000").status_code == 422
    with app.app_context():
        assert db.session.execute(select(OneTimeCode.attempts)).scalar_one() == 1
        assert db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc())).first()[0] == (
            "signin.code_failed"
        )


def test_a_read_touches_the_session_at_most_every_thirty_seconds(app, client, auth, frozen, commits):
    make_account(app)
    auth.sign_in()
    start = utcnow()
    frozen.set(start + timedelta(seconds=29))
    assert commits.during(lambda: client.get("/account"))[1] == 0
    frozen.set(start + timedelta(seconds=30))
    assert commits.during(lambda: client.get("/account"))[1] == 1  # the last-seen touch
    frozen.set(start + timedelta(seconds=40))
    assert commits.during(lambda: client.get("/account"))[1] == 0


def test_a_refused_page_still_counts_as_activity(app, client, auth, frozen):
    make_account(app)
    auth.sign_in()
    later = utcnow() + timedelta(seconds=60)
    frozen.set(later)
    assert client.get("/account/no-such-page").status_code == 404  # rolled back, but the touch is redone
    with app.app_context():
        assert db.session.execute(select(func.max(WebSession.last_seen_at))).scalar_one() == later
    frozen.set(later + timedelta(minutes=14))
    assert client.get("/account").status_code == 200  # 14 minutes after the refused page: not idle


def _principals(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(db.session.execute(select(WebSession.principal)).scalars())


def test_a_change_never_flushed_is_still_committed_by_its_unit(app):
    with unit(app):
        _write("before")
    with unit(app):
        row = db.session.execute(select(WebSession).where(WebSession.principal == "before")).scalar_one()
        row.principal = "after"  # only marked dirty: no flush, no query after it
    assert _principals(app) == ["after"]


def test_a_savepoint_inside_a_unit_does_not_end_it(app):
    ran: list[str] = []
    with unit(app):
        _write("kept")
        after_commit(lambda: ran.append("after"))
        with db.session.begin_nested():  # released: the unit's write and queue stay
            _write("nested")
        with pytest.raises(RuntimeError), db.session.begin_nested():
            _write("undone")
            raise RuntimeError("rolled back to the savepoint")
    assert _principals(app) == ["kept", "nested"] and ran == ["after"]


def test_a_plain_rollback_drops_the_work_queued_for_success(app):
    ran: list[str] = []
    with unit(app):
        _write("gone")
        after_commit(lambda: ran.append("after"))
        db.session.rollback()  # a service gave up: nothing it queued may run
    assert _principals(app) == [] and ran == []
