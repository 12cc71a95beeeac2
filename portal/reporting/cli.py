"""``flask --app wsgi portal reports rebuild --from YYYY-MM-DD [--to YYYY-MM-DD]``."""

from __future__ import annotations

import sys
from datetime import datetime

import click
from flask.cli import AppGroup

from portal.inputs import MAX_YEAR, MIN_YEAR
from portal.reporting.aggregate import MAX_REBUILD_DAYS, rebuild

reports_cli = AppGroup("reports", help="The results pages' daily aggregates.")


@reports_cli.command("rebuild")
@click.option("--from", "first", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="First day.")
@click.option("--to", "last", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day (default: the first).")
def rebuild_command(first: datetime, last: datetime | None) -> None:
    """Fold the days from FROM to TO into the report tables again (after an upgrade, or to
    fill days before the reports existed). The daily servicing run keeps them otherwise;
    what only a daily look can see (first payments, cures, month-start tiers) is not redone."""
    start, end = first.date(), (last or first).date()
    if end < start or (end - start).days >= MAX_REBUILD_DAYS:
        click.echo(f"Give --to on or after --from, at most {MAX_REBUILD_DAYS} days later.", err=True)
        sys.exit(2)
    if start.year < MIN_YEAR or end.year > MAX_YEAR:
        click.echo(f"Give days in the years {MIN_YEAR} to {MAX_YEAR}.", err=True)
        sys.exit(2)
    days = rebuild(start, end)
    click.echo(f"Folded {days} day(s), {start.isoformat()} to {end.isoformat()}.")
