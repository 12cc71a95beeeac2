"""``flask --app wsgi portal servicing run [--date YYYY-MM-DD] [--json]`` and ``… servicing runs``."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from portal.db_types import utcnow
from portal.servicing.run import last_runs, run_day
from portal.unit_of_work import unit_of_work

servicing_cli = AppGroup("servicing", help="The daily servicing run.")


@servicing_cli.command("run")
@click.option(
    "--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="The day to act as (default: today, UTC)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of counts.")
@click.option("--allow-future", is_flag=True, help="Act as a day after tomorrow (refused in production without it).")
def run_command(day: datetime | None, as_json: bool, allow_future: bool) -> None:
    """Run one servicing day for the whole book: age accounts, judge plans and promises,
    queue reminders. Running a day again changes nothing.

    A day after tomorrow is a rehearsal: it ages every account to that day and breaks the
    plans that would break by then, which no later run undoes. Production refuses it
    unless asked with ``--allow-future``; elsewhere (trying the demo) the words say so."""
    today = utcnow().date()
    acting = day.date() if day else today
    to_come = acting > today + timedelta(days=1)
    if to_come and current_app.config.get("PORTAL_ENV") == "production" and not allow_future:
        click.echo(
            f"Refusing to act as {acting.isoformat()}, a day still to come: it would age every account and "
            "break plans ahead of time. Pass --allow-future if that is meant.",
            err=True,
        )
        sys.exit(2)
    report = run_day(acting)
    if as_json:
        click.echo(json.dumps(report.as_json()))
        return
    if to_come:
        click.echo(f"Acted as {acting.isoformat()}, a day still to come: a rehearsal no later run undoes.")
    click.echo(
        f"Servicing run for {report.day.isoformat()}: {report.accounts_aged} accounts aged "
        f"({report.tiers_changed} changed tier); {report.plans_checked} active plans checked: "
        f"{report.plans_completed} completed, {report.plans_broken} broken; {report.promises_checked} open "
        f"promises checked: {report.promises_kept} kept, {report.promises_broken} broken; "
        f"{report.reminders_queued} reminders queued."
    )


@servicing_cli.command("runs")
@click.option("--limit", default=10, show_default=True, help="How many days, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def runs_command(limit: int, as_json: bool) -> None:
    """Show the days the servicing run acted as, newest first."""
    with unit_of_work():
        runs = last_runs(limit)
    if as_json:
        click.echo(json.dumps(runs))
        return
    if not runs:
        click.echo("The servicing run has not run yet.")
    for run in runs:
        state = f"finished {run['finished_at']}" if run["finished_at"] else "not finished"
        click.echo(
            f"{run['day']}  {state}, {run['runs']} run(s): {run.get('plans_completed', 0)} plans completed, "
            f"{run.get('plans_broken', 0)} broken, {run.get('promises_kept', 0)} promises kept, "
            f"{run.get('promises_broken', 0)} broken"
        )
