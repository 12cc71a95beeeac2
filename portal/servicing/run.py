"""``portal servicing run``: one day for the whole book, as a sequence of named steps.

1. ``age_accounts``     days past due grow for accounts the core system did not update;
2. ``judge_plans``      every active plan is completed, broken or left active;
3. ``judge_promises``   every open promise is kept, broken or left open;
4. ``queue_reminders``  reminders before and after due dates (none when catching up a
                        day gone by);
5. ``fold_reports``     the day (and the day before) folded into the report aggregates
                        (``portal.reporting.aggregate``), after the verdicts it counts.

Each step streams its rows in chunks, one commit per chunk, so memory stays bounded and
a crash loses at most one chunk's work; running the day again finishes what is left.
Running the same day twice changes nothing (the second run counts 0 in ``CHANGES``): only
accounts not yet dated the run date are aged, and only active plans and open promises
are judged. Running days in order from a past date catches up, day by day.

Every run is kept in ``servicing_runs`` (one row per day; ``runs`` counts how often it
ran, ``counts`` holds the day's totals).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from portal import clock
from portal.audit.service import SealRefused, seal_pending
from portal.db_types import utcnow
from portal.extensions import db
from portal.locks import transaction_lock
from portal.reporting.aggregate import refresh as refresh_reports
from portal.servicing.aging import age_accounts
from portal.servicing.models import ServicingRun
from portal.servicing.plans import judge_plans
from portal.servicing.promises import judge_promises
from portal.servicing.records import RUN_LOCK
from portal.servicing.reminders import queue_reminders
from portal.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

COUNTS = (
    "plans_checked",
    "plans_completed",
    "plans_broken",
    "promises_checked",
    "promises_kept",
    "promises_broken",
    "accounts_aged",
    "tiers_changed",
    "reminders_queued",
)
# What a run changed; a second run of the same day counts 0 in each (it may still check).
CHANGES = tuple(name for name in COUNTS if not name.endswith("_checked"))


@dataclass
class RunReport:
    """What one run did. ``as_json()`` is the contract of ``portal servicing run --json``."""

    day: date
    plans_checked: int = 0
    plans_completed: int = 0
    plans_broken: int = 0
    promises_checked: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    accounts_aged: int = 0
    tiers_changed: int = 0
    reminders_queued: int = 0
    # The plans this run ended, for what follows a verdict (plan events, the calm message).
    completed_plan_ids: list[int] = field(default_factory=list)
    broken_plan_ids: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}

    def as_json(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), **self.counts()}


def run_day(day: date) -> RunReport:
    """Run the servicing day ``day`` for the whole book (see the module's docstring)."""
    _started(day)
    report = RunReport(day)
    for step in (step_age_accounts, step_judge_plans, step_judge_promises, step_queue_reminders, step_fold_reports):
        step(report)
    _finished(report)
    _seal()
    return report


# --- the steps --------------------------------------------------------------------------


def step_age_accounts(report: RunReport) -> None:
    aged = age_accounts(report.day)
    report.accounts_aged, report.tiers_changed = aged.accounts_aged, aged.tiers_changed


def step_judge_plans(report: RunReport) -> None:
    for chunk in judge_plans(report.day):
        report.plans_checked += chunk.checked
        report.completed_plan_ids += chunk.completed
        report.broken_plan_ids += chunk.broken
    report.plans_completed = len(report.completed_plan_ids)
    report.plans_broken = len(report.broken_plan_ids)


def step_judge_promises(report: RunReport) -> None:
    counts = judge_promises(report.day)
    report.promises_checked, report.promises_kept, report.promises_broken = counts.checked, counts.kept, counts.broken


def step_queue_reminders(report: RunReport) -> None:
    """Reminders before and after due dates (``portal.servicing.reminders``), after the
    verdicts, so an ended plan gets none. Catching up a day gone by queues none: "due
    today" or "due in 3 days" about a date already past would only confuse."""
    if report.day < clock.now().date():
        return
    with unit_of_work():
        transaction_lock(RUN_LOCK)
        report.reminders_queued = queue_reminders(report.day)


def step_fold_reports(report: RunReport) -> None:
    """The report pages' aggregates; re-running a day replaces its rows."""
    refresh_reports(report.day)


# --- the record of runs -------------------------------------------------------------------


def _started(day: date) -> None:
    with unit_of_work():
        transaction_lock(RUN_LOCK)
        run = db.session.execute(select(ServicingRun).where(ServicingRun.day == day)).scalar()
        if run is None:
            db.session.add(ServicingRun(day=day, started_at=utcnow(), runs=1, counts={}))
        else:
            run.started_at, run.finished_at, run.runs = utcnow(), None, run.runs + 1


def _finished(report: RunReport) -> None:
    with unit_of_work():
        run = db.session.execute(select(ServicingRun).where(ServicingRun.day == report.day)).scalar_one()
        totals = dict(run.counts or {})
        run.counts = {name: int(totals.get(name, 0)) + value for name, value in report.counts().items()}
        run.finished_at = utcnow()


def _seal() -> None:
    """Chain the run's audit events now, all of them: the hook after each commit seals a
    bounded number, and a run's backlog must not fall to cardholders' requests."""
    try:
        seal_pending()
    except SealRefused as refused:  # the verdicts stand; the trail's own check reports the head
        log.warning("audit events left pending: %s", refused)


def last_runs(limit: int = 10) -> list[dict[str, Any]]:
    """The latest runs, newest day first, for the CLI."""
    runs = db.session.execute(select(ServicingRun).order_by(ServicingRun.day.desc()).limit(limit)).scalars()
    return [
        {
            "day": r.day.isoformat(),
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "runs": r.runs,
            **r.counts,
        }
        for r in runs
    ]
