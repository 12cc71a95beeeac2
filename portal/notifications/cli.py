"""``flask --app wsgi portal deliver``: the outbox worker.

Each round it also retries the pending agreements that are due (rendering or signing
failed earlier): the page tells the cardholder it takes a few minutes, and this worker
runs anyway, so no second scheduler is needed.
"""

from __future__ import annotations

import os
import socket
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from portal.agreements.service import retry_due_agreements
from portal.agreements.warm import warm_up
from portal.extensions import db
from portal.notifications.delivery import DeliveryReport, deliver_due


@click.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
@click.option(
    "--batch", default=100, show_default=True, type=click.IntRange(1, 10_000), help="Messages claimed per round."
)
@click.option(
    "--sleep",
    "pause",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds to wait when nothing is due.",
)
@click.option("--worker", default=None, help="Worker name in claimed_by (default host:pid).")
@with_appcontext
def deliver_command(once: bool, batch: int, pause: float, worker: str | None) -> None:
    """Send due outbox messages. Several workers may run at once (PostgreSQL)."""
    worker = (worker or f"{socket.gethostname()}:{os.getpid()}")[:64]
    if not once:  # a long-running worker retries agreements: load their renderer once, now
        warm_up(current_app._get_current_object())  # type: ignore[attr-defined]
    total = DeliveryReport()
    try:
        while True:
            try:
                report = deliver_due(worker, batch)
                agreements = retry_due_agreements()
            except SQLAlchemyError:
                if once:
                    raise
                # The database went away for a moment: keep the worker alive and try again.
                db.session.rollback()
                click.echo("Database error; retrying shortly.", err=True)
                time.sleep(pause)
                continue
            total.add(report)
            if report.claimed:
                click.echo(_line(report))
            if agreements.pending:
                click.echo(
                    f"agreements retried {agreements.pending}, produced {agreements.produced}, "
                    f"failed {agreements.failed}"
                )
            if once:
                if report.claimed < batch:
                    break
                continue
            if report.claimed < batch:
                time.sleep(pause)
    except KeyboardInterrupt:
        pass
    click.echo("Total: " + _line(total))


def _line(report: DeliveryReport) -> str:
    return (
        f"claimed {report.claimed}, sent {report.sent}, held {report.held}, blocked {report.blocked}, "
        f"retrying {report.retried}, failed {report.failed}"
    )
