"""Agents pressing "next case" at the same moment on PostgreSQL each draw a different case.

Each agent's draw is its own unit of work in its own thread, released together by a
barrier; the candidates are read with FOR UPDATE SKIP LOCKED and the claim is a
conditional upsert, so no case goes to two agents, even when there are fewer cases than
agents (the ones left over draw nothing).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.audit.service import SYSTEM, Actor
from portal.care import queries, workbench
from portal.care.models import CaseState
from portal.cases.models import CaseEvent
from portal.extensions import db
from portal.policies.service import ensure_default_policy
from portal.staff.models import Role
from portal.unit_of_work import unit_of_work
from tests.conftest import PG_TEST_DB, make_account, separate_postgres_app
from tests.staff_helpers import make_staff

pytestmark = pytest.mark.postgres
DATABASE = f"{PG_TEST_DB}_next_case"
AGENTS = 8


@pytest.fixture
def app() -> Iterator[Flask]:
    with separate_postgres_app(DATABASE, pool_size=2 * AGENTS + 2, max_overflow=4) as app:
        with app.app_context():
            ensure_default_policy(SYSTEM, ("CNY",))
            db.session.commit()
        yield app


def press_at_once(app: Flask, agents: list[int]) -> tuple[list[int | None], list[BaseException]]:
    start = threading.Barrier(len(agents))
    drawn: list[int | None] = []
    errors: list[BaseException] = []

    def press(agent_id: int) -> None:
        with app.app_context():
            tiers = queries.policy_tiers()
            start.wait()
            try:
                with unit_of_work():  # one request's unit of work, committed at its end
                    drawn.append(workbench.next_case(Actor.staff(agent_id), None, workbench.tier_order(tiers)))
            except BaseException as error:  # collected: a thread's exception is otherwise lost
                errors.append(error)

    threads = [threading.Thread(target=press, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return drawn, errors


@pytest.mark.parametrize("cases", [AGENTS * 2, AGENTS // 2])
def test_agents_pressing_next_case_at_once_draw_different_cases(app, cases):
    for n in range(cases):  # every case equally urgent: the same tier, the same balance
        make_account(app, card=f"622200000{n:06d}1", reference=f"RACE{n:04d}", dpd=40)
    agents = [make_staff(app, Role.AGENT)[0] for _ in range(AGENTS)]

    drawn, errors = press_at_once(app, agents)

    assert errors == []
    got = [account for account in drawn if account is not None]
    assert len(got) == min(cases, AGENTS)  # everyone drew one while there were enough
    assert len(set(got)) == len(got)  # and never the same one
    with app.app_context():
        owners = db.session.execute(select(CaseState.owner_id).where(CaseState.owner_id.is_not(None))).scalars()
        assert len(set(owners)) == len(got)  # one case to each agent who drew one
        leased = db.session.execute(select(func.count()).select_from(CaseState).where(CaseState.owner_id.is_not(None)))
        assert leased.scalar() == len(got)
        events = db.session.execute(select(func.count()).where(CaseEvent.kind == "case_assigned")).scalar()
        assert events == len(got)
