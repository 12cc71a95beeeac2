"""``flask --app wsgi portal plans export --date YYYY-MM-DD [--out FILE] [--format csv|jsonl]``.

The command lives beside the export it runs; ``portal/plans/cli.py`` adds it to the one
``plans`` group, beside ``plans show``.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from portal.integrations.core_banking.export import FORMATS, write_export


@click.command("export")
@click.option(
    "--date",
    "day",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The UTC day whose plan events to write (YYYY-MM-DD).",
)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@with_appcontext
def export_command(day: datetime, out: Path | None, fmt: str) -> None:
    """Write every plan event of one UTC day, for core systems that take files (docs/plan-events-export.md)."""
    if out is None:
        write_export(sys.stdout, day.date(), fmt)
        return
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        count = write_export(handle, day.date(), fmt)
    partial.replace(out)  # a reader never sees half a file
    click.echo(f"{count} plan events of {day.date().isoformat()} written to {out}", err=True)
