"""``flask --app wsgi portal simulate --accounts N --days D --seed S [--json]``."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Any

import click
from flask.cli import with_appcontext

from portal.simulate.runner import DEFAULT_START, SimulationError, SimulationSpec, simulate


@click.command("simulate")
@click.option("--accounts", default=200, show_default=True, help="How many synthetic accounts.")
@click.option("--days", default=60, show_default=True, help="How many days to play.")
@click.option("--seed", default=1, show_default=True, help="The same seed gives the same result.")
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=DEFAULT_START.isoformat(),
    show_default=True,
    help="The first simulated day.",
)
@click.option("--label", default="SIM", show_default=True, help="Account references start with it (one per book).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@with_appcontext
def simulate_command(accounts: int, days: int, seed: int, start: datetime, label: str, as_json: bool) -> None:
    """Create a synthetic book and play DAYS days of it through the portal's services
    (links, offers, plans, promises, payments, the daily servicing run), cardholders
    following the behaviour model of ``portal.simulate.behaviour``. Use a database of its
    own: the servicing run of each simulated day acts on every account in it."""
    spec = SimulationSpec(accounts=accounts, days=days, seed=seed, start=start.date(), label=label)
    began = time.perf_counter()
    try:
        summary = simulate(spec)
    except SimulationError as refused:
        click.echo(f"simulate: {refused}", err=True)
        sys.exit(2)
    seconds = time.perf_counter() - began
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    _table(summary)
    click.echo(f"({accounts} accounts x {days} days in {seconds:.1f} s)")


def _table(summary: dict[str, Any]) -> None:
    rows = [
        ("days", f"{summary['start']} to {summary['end']} ({summary['days']})"),
        ("accounts", f"{summary['accounts']} {summary['tiers']}"),
        ("links", " > ".join(f"{step} {n}" for step, n in summary["funnel"].items())),
        ("plans accepted", f"{summary['plans']['accepted']} {summary['plans']['by_type']}"),
        ("plan states", str(summary["plans"]["by_state"])),
        (
            "kept to cycle 3",
            f"{summary['plans']['kept_to_cycle_3']} of {summary['plans']['reached_cycle_3']} that reached it "
            f"({summary['plans']['kept_to_cycle_3_rate']:.1%})",
        ),
        ("requests", str(summary["requests"])),
        ("promises", str(summary["promises"])),
        ("recovered", f"{summary['recovered']} share {summary['recovered_share']}"),
        ("cured", f"{summary['cured']} ({summary['cure_rate']:.1%})"),
        ("opted out", str(summary["opted_out"])),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        click.echo(f"{name:<{width}}  {value}")
