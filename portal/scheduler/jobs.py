"""The timed jobs and how a scheduler runs the ones that are due.

| job | when (UTC) | what |
|---|---|---|
| ``policy-activate-due`` | every minute | scheduled policy versions take effect |
| ``audit-seal`` | every ``PORTAL_SCHEDULER_SEAL_MINUTES`` (1) | chain audit events a commit left pending |
| ``api-prune`` | every ``PORTAL_SCHEDULER_PRUNE_MINUTES`` (60) | forget spent API message ids and old answers |
| ``servicing-run`` | daily at ``PORTAL_SCHEDULER_SERVICING_AT`` (00:30) | the day's servicing run |
| ``answers-prune`` | daily at 01:00 | delete questions kept past ``PORTAL_QUESTION_RETENTION_DAYS`` (180) |

Each job has a due time ("slot"): the latest multiple of its interval, or the latest
daily time, not after now. A job runs when its slot is later than the last one it
completed (``scheduler_jobs.done_slot``), so a scheduler that was down catches up with
one run, not one per missed slot (the servicing run ages accounts by the days between).

Several schedulers may run at once (one per node, or two during a deploy): on PostgreSQL
a scheduler takes a session-level advisory lock per job before it looks at the job's row
and holds it until it has recorded the run, so one job's slot is run by one scheduler,
once. A job that fails is retried after ``RETRY`` (its slot stays not done).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import text

from portal.db_types import utcnow
from portal.extensions import db
from portal.scheduler.models import SchedulerJob
from portal.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

RETRY = timedelta(minutes=5)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[datetime], str]  # gets the slot; returns a one-line summary
    every: timedelta | None = None  # an interval job ...
    daily_at: time | None = None  # ... or a daily one

    def slot(self, now: datetime) -> datetime:
        """The latest due time not after ``now``."""
        if self.every is not None:
            return now - (now - _EPOCH) % self.every
        assert self.daily_at is not None
        today = datetime.combine(now.date(), self.daily_at, tzinfo=UTC)
        return today if today <= now else today - timedelta(days=1)


# --- the jobs ------------------------------------------------------------------------


def _activate_due(slot: datetime) -> str:
    from portal.policies.workflow import activate_due_versions

    with unit_of_work():
        activated = activate_due_versions(utcnow())
    return f"{len(activated)} policy versions activated"


def _seal(slot: datetime) -> str:
    from portal.audit.service import seal_pending

    return f"{seal_pending()} audit events sealed"


def _prune(slot: datetime) -> str:
    from portal.integrations.core_banking.guard import prune

    with unit_of_work():
        messages, answers = prune(utcnow())
    return f"forgot {messages} message ids and {answers} answers"


def _answers_prune(slot: datetime) -> str:
    from flask import current_app

    from portal.answers.service import prune

    keep = current_app.config.get("QUESTION_RETENTION_DAYS", 180)
    with unit_of_work():
        gone = prune(utcnow() - timedelta(days=keep))
    return f"deleted {gone} questions older than {keep} days"


def _servicing(slot: datetime) -> str:
    from portal.servicing.run import run_day

    report = run_day(slot.date())
    counts = ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in report.counts().items())
    return f"servicing day {report.day.isoformat()}: {counts}"[:200]


def portal_jobs(config: Mapping[str, Any]) -> list[Job]:
    """The portal's jobs, at the times this deployment configured."""
    return [
        Job("policy-activate-due", _activate_due, every=timedelta(minutes=1)),
        Job("audit-seal", _seal, every=timedelta(minutes=config.get("SCHEDULER_SEAL_MINUTES", 1))),
        Job("api-prune", _prune, every=timedelta(minutes=config.get("SCHEDULER_PRUNE_MINUTES", 60))),
        Job("servicing-run", _servicing, daily_at=config.get("SCHEDULER_SERVICING_AT", time(0, 30))),
        Job("answers-prune", _answers_prune, daily_at=time(1, 0)),
    ]


# --- running them --------------------------------------------------------------------


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"scheduler:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def _job_lock(name: str) -> Iterator[bool]:
    """Hold the job's lock while the block runs; yields False when another holds it.

    A session-level PostgreSQL advisory lock on a connection of its own, so it spans
    the job's own commits and goes away with the process if it dies. SQLite (one
    machine, development) runs one scheduler and takes no lock."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        key = _lock_key(name)
        won = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        conn.commit()  # hold the lock outside any transaction: nothing is left idle in one
        try:
            yield won
        finally:
            if won:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()


def _state(name: str) -> SchedulerJob:
    job = db.session.get(SchedulerJob, name, populate_existing=True)
    if job is None:
        job = SchedulerJob(name=name, runs=0)
        db.session.add(job)
    return job


def _due(job: Job, now: datetime) -> datetime | None:
    """The slot to run now, or None (done already, or waiting to retry)."""
    slot = job.slot(now)
    with unit_of_work():
        state = db.session.get(SchedulerJob, job.name, populate_existing=True)
        if state is None:
            return slot
        if state.done_slot is not None and state.done_slot >= slot:
            return None
        if state.retry_at is not None and state.retry_at > now:
            return None
        return slot


def run_job(job: Job, now: datetime) -> str:
    """Run ``job`` for its slot at ``now`` if it is due and no other scheduler has it.
    Returns what happened: ``ran: …``, ``failed: …``, ``not due`` (done already, or
    waiting to retry) or ``busy`` (another scheduler is running it)."""
    with _job_lock(job.name) as won:
        if not won:
            return "busy"  # another scheduler is running it now
        slot = _due(job, now)
        if slot is None:
            return "not due"
        with unit_of_work():
            _state(job.name).started_at = utcnow()
        try:
            summary = job.run(slot)
        except Exception as problem:
            db.session.rollback()
            log.exception("scheduled job %s failed", job.name)
            with unit_of_work():
                state = _state(job.name)
                state.last_error = f"{type(problem).__name__}"[:200]
                state.retry_at = utcnow() + RETRY
            return f"failed: {type(problem).__name__}"
        with unit_of_work():
            state = _state(job.name)
            state.done_slot = slot
            state.finished_at = utcnow()
            state.runs = (state.runs or 0) + 1
            state.last_result = summary[:200]
            state.last_error = None
            state.retry_at = None
        return f"ran: {summary}"


def run_due(now: datetime, jobs: list[Job]) -> dict[str, str]:
    """One round: every job in turn, each run if due. Returns each job's outcome."""
    return {job.name: run_job(job, now) for job in jobs}


def next_round(now: datetime) -> float:
    """Seconds until just after the next minute starts (every slot starts on a minute)."""
    return 60 - now.second - now.microsecond / 1_000_000 + 1
