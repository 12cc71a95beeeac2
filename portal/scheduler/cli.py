"""``flask --app wsgi portal scheduler [--once]``: run the timed jobs when they are due.

One process per deployment is enough, and more are harmless (each job's due time is run
once: ``portal.scheduler.jobs``). It checks at the start of every minute; SIGTERM (a
container stopping) lets the job that is running finish, then stops.
"""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from portal.db_types import utcnow
from portal.extensions import db
from portal.scheduler.jobs import next_round, portal_jobs, run_due


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run what is due now, then stop.")
@with_appcontext
def scheduler_command(once: bool) -> None:
    """Run the timed jobs (policy activation, audit sealing, API pruning, the daily
    servicing run) when they are due; several schedulers never run one job twice."""
    jobs = portal_jobs(current_app.config)
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    if not once:
        signal.signal(signal.SIGTERM, stop)
    failed = False
    while True:
        try:
            outcomes = run_due(utcnow(), jobs)
        except SQLAlchemyError:
            if once:
                raise
            db.session.rollback()  # the database went away for a moment: try next minute
            click.echo("Database error; trying again next minute.", err=True)
            outcomes = {}
        for name, outcome in outcomes.items():
            if outcome != "not due":
                click.echo(f"{utcnow():%Y-%m-%d %H:%M:%S} {name}: {outcome}")
            failed = failed or outcome.startswith("failed")
        if once:
            sys.exit(1 if failed else 0)
        pause = next_round(utcnow())
        while pause > 0 and not stopping:
            time.sleep(min(pause, 1.0))
            pause -= 1.0
        if stopping:
            click.echo("Scheduler stopping.")
            return
