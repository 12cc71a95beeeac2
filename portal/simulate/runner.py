"""Create a synthetic book and play it for some days (``portal simulate``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import event, select

from portal import clock
from portal.accounts.models import CardAccount
from portal.audit.service import SYSTEM, Actor
from portal.bulk import among
from portal.extensions import db
from portal.inputs import MAX_YEAR, MIN_YEAR
from portal.policies.service import ensure_default_policy
from portal.simulate.behaviour import BehaviourModel, Draws
from portal.simulate.book import create_book
from portal.simulate.play import BankStrategy, Simulation, at
from portal.simulate.summary import summarise
from portal.staff.models import Role, StaffUser
from portal.staff.service import find_by_email
from portal.unit_of_work import unit_of_work

DEFAULT_START = date(2027, 1, 4)
_LABEL = re.compile(r"^[A-Z][A-Z0-9]{0,11}$")


class SimulationError(ValueError):
    """A simulation that cannot run here (a message for the command line)."""


@dataclass(frozen=True)
class SimulationSpec:
    accounts: int
    days: int
    seed: int
    start: date = DEFAULT_START
    label: str = "SIM"
    model: BehaviourModel = field(default_factory=BehaviourModel)
    bank: BankStrategy = field(default_factory=BankStrategy)


def _check_bounds(spec: SimulationSpec) -> None:
    """What the spec alone must satisfy (before the clock is moved to its first day)."""
    if current_app.config.get("PORTAL_ENV") == "production":
        raise SimulationError("simulate writes a synthetic book and moves the clock: never in production")
    if not 1 <= spec.accounts <= 999_999:
        raise SimulationError("--accounts must be from 1 to 999999")
    if not 1 <= spec.days <= 3660:
        raise SimulationError("--days must be from 1 to 3660")
    # The book's history reaches years before --start and its plans years after the last day.
    if not MIN_YEAR + 10 <= spec.start.year <= MAX_YEAR - 20:
        raise SimulationError(f"--start must be in the years {MIN_YEAR + 10} to {MAX_YEAR - 20}")
    if not _LABEL.fullmatch(spec.label):
        raise SimulationError("--label must be 1 to 12 capital letters or digits, starting with a letter")


def _check_label_free(spec: SimulationSpec) -> None:
    taken = db.session.execute(
        select(CardAccount.id).where(CardAccount.reference == f"{spec.label}{1:06d}").limit(1)
    ).first()
    if taken:
        raise SimulationError(
            f"a book labelled {spec.label} is already in this database: use another --label or a fresh database"
        )


SUPERVISOR_EMAIL = "simulated-supervisor@example.invalid"


def _supervisor() -> Actor:
    """The supervisor who decides the book's requests: a staff record that names the
    decisions and can never sign in (no password, not enrolled, inactive)."""
    user = find_by_email(SUPERVISOR_EMAIL)
    if user is None:
        user = StaffUser(
            email=SUPERVISOR_EMAIL,
            display_name="Simulated supervisor",
            role=Role.SUPERVISOR.value,
            password_hash=None,
            totp_secret="",
            failed_attempts=0,
            active=False,
        )
        db.session.add(user)
        db.session.flush()
    return Actor.staff(user.id)


_NO_WAIT = {
    "sqlite": "PRAGMA synchronous = OFF",
    "postgresql": "SET synchronous_commit TO OFF",  # this session's own commits only
}


@contextmanager
def _commits_without_waiting() -> Iterator[None]:
    """Commit without waiting for the disk while the simulation runs: the book is
    synthetic and disposable, and a wait per commit (thousands a day) was most of its
    time. A crash may lose the last commits, never corrupt the database."""
    engine = db.engine
    statement = _NO_WAIT.get(engine.dialect.name)
    if statement is None:
        yield
        return

    def no_wait(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()  # or the pool's reset would roll the setting back

    event.listen(engine, "connect", no_wait)
    db.session.remove()
    engine.dispose()  # the next connections are opened with it
    try:
        yield
    finally:
        event.remove(engine, "connect", no_wait)
        db.session.remove()
        engine.dispose()


def simulate(spec: SimulationSpec) -> dict[str, Any]:
    """Run ``spec`` and return its summary (see ``portal.simulate.summary``). The portal
    clock is moved day by day and put back as it was at the end."""
    _check_bounds(spec)  # before the engine is touched: a refusal leaves every connection as it was
    with _commits_without_waiting():
        return _simulate(spec)


def _simulate(spec: SimulationSpec) -> dict[str, Any]:
    was = clock.frozen_at()
    try:
        clock.freeze(at(spec.start - timedelta(days=1), 9))
        draws = Draws(spec.seed)
        with unit_of_work():
            _check_label_free(spec)
            ensure_default_policy(SYSTEM)
            supervisor = _supervisor()
            book = create_book(draws, spec.accounts, spec.label, spec.start)
            balances: dict[str, Decimal] = {}
            for row in db.session.execute(
                select(CardAccount.currency, CardAccount.principal, CardAccount.interest, CardAccount.late_fees).where(
                    among(CardAccount.id, [a.account_id for a in book])
                )
            ):
                balances[row[0]] = balances.get(row[0], Decimal(0)) + row[1] + row[2] + row[3]
        simulation = Simulation(book, draws, spec.model, spec.bank, supervisor)
        for offset in range(spec.days):
            simulation.play_day(spec.start + timedelta(days=offset))
        with unit_of_work():
            summary = summarise(book, balances, simulation.counts, spec.start + timedelta(days=spec.days - 1))
    finally:
        clock.freeze(was)
    return {
        "seed": spec.seed,
        "start": spec.start.isoformat(),
        "end": (spec.start + timedelta(days=spec.days - 1)).isoformat(),
        "days": spec.days,
        **summary,
    }
