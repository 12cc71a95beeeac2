"""``flask portal scheduler``: the timed jobs run when due, once per due time, however
many schedulers run."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time as clock_time
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.scheduler.jobs import Job, run_job
from portal.scheduler.models import SchedulerJob
from tests.conftest import ROOT

MORNING = datetime(2026, 11, 28, 4, 0, 20, tzinfo=UTC)  # the `frozen` fixture's day, 04:00 UTC
JOBS = ["policy-activate-due", "audit-seal", "api-prune", "servicing-run", "answers-prune"]


def scheduler(app) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["portal", "scheduler", "--once"])
    return result.exit_code, result.output


def states(app) -> dict[str, SchedulerJob]:
    with app.app_context():
        rows = db.session.execute(select(SchedulerJob)).scalars().all()
        for row in rows:
            db.session.expunge(row)
        return {row.name: row for row in rows}


def test_due_times_are_interval_multiples_and_the_latest_daily_time():
    every_five = Job("x", lambda slot: "", every=timedelta(minutes=5))
    assert every_five.slot(datetime(2026, 11, 28, 4, 7, 59, tzinfo=UTC)) == datetime(2026, 11, 28, 4, 5, tzinfo=UTC)
    daily = Job("y", lambda slot: "", daily_at=time(0, 30))
    assert daily.slot(datetime(2026, 11, 28, 0, 29, tzinfo=UTC)) == datetime(2026, 11, 27, 0, 30, tzinfo=UTC)
    assert daily.slot(datetime(2026, 11, 28, 0, 30, tzinfo=UTC)) == datetime(2026, 11, 28, 0, 30, tzinfo=UTC)


def test_each_job_runs_once_per_due_time(app, frozen):
    frozen.set(MORNING)
    code, output = scheduler(app)
    assert code == 0, output
    assert all(f"{name}: ran" in output for name in JOBS), output
    assert "servicing day 2026-11-28" in output  # today's 00:30 had passed
    assert scheduler(app) == (0, "")  # the same minute again: nothing is due

    frozen.set(MORNING + timedelta(minutes=1))
    code, output = scheduler(app)
    assert "policy-activate-due: ran" in output and "audit-seal: ran" in output
    assert "api-prune" not in output and "servicing-run" not in output

    frozen.set(datetime(2026, 11, 29, 0, 31, tzinfo=UTC))  # the next day's run, once
    code, output = scheduler(app)
    assert "servicing-run: ran: servicing day 2026-11-29" in output and "api-prune: ran" in output
    found = states(app)
    assert found["servicing-run"].runs == 2 and found["servicing-run"].done_slot == datetime(
        2026, 11, 29, 0, 30, tzinfo=UTC
    )
    assert found["policy-activate-due"].runs == 3 and found["api-prune"].runs == 2


def test_a_failed_job_is_retried_later_not_every_minute(app, frozen, monkeypatch):
    from portal.servicing import run as servicing

    def broken(day):
        raise RuntimeError("statement missing")

    monkeypatch.setattr(servicing, "run_day", broken)
    frozen.set(MORNING)
    code, output = scheduler(app)
    assert code == 1 and "servicing-run: failed: RuntimeError" in output and "api-prune: ran" in output
    row = states(app)["servicing-run"]
    assert row.done_slot is None and row.last_error == "RuntimeError"
    frozen.set(MORNING + timedelta(minutes=2))
    assert "servicing-run" not in scheduler(app)[1]  # waiting: 5 minutes between tries
    monkeypatch.undo()
    frozen.set(MORNING + timedelta(minutes=6))
    assert "servicing-run: ran: servicing day 2026-11-28" in scheduler(app)[1]
    assert states(app)["servicing-run"].last_error is None


@pytest.mark.real_commits
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_schedulers_at_once_run_a_job_once(app):
    """Two schedulers reach a slow job's due time together: the advisory lock lets one run
    it; the other reports it busy; a third, later, finds it done."""
    ran: list[str] = []
    start = threading.Barrier(2)

    def slow(slot: datetime) -> str:
        ran.append(threading.current_thread().name)
        clock_time.sleep(0.5)
        return "slow job done"

    job = Job("slow", slow, every=timedelta(minutes=1))
    outcomes: dict[str, str] = {}

    def one_scheduler(name: str) -> None:
        with app.app_context():
            start.wait()
            outcomes[name] = run_job(job, MORNING)
            db.session.remove()

    threads = [threading.Thread(target=one_scheduler, args=(n,), name=n) for n in ("node-a", "node-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(ran) == 1
    assert sorted(outcomes.values()) == ["busy", "ran: slow job done"]
    with app.app_context():
        assert run_job(job, MORNING + timedelta(seconds=30)) == "not due"
        assert db.session.get(SchedulerJob, "slow").runs == 1
        db.session.remove()


@pytest.mark.real_commits
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_scheduler_processes_run_every_job_once(app, database_url):
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_ENV": "development"}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "portal", "scheduler", "--once"]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    printed = "".join(out for out, _err in outputs)
    for name in JOBS:
        assert printed.count(f"{name}: ran") == 1, printed  # the other process: busy or not due
    runs = {name: row.runs for name, row in states(app).items()}
    assert runs == dict.fromkeys(JOBS, 1)
