"""``flask --app wsgi portal audit verify`` and ``… audit seal``.

verify: exit status 0 when every event is intact and the chain ends at its keyed head
record, 1 naming the first event that was changed, deleted or stored out of order, or a
tail that is gone. ``--known`` (a hash printed by an earlier run) is an extra check kept
outside. It seals pending events first (their content MACs still catch a change).

seal: chain the events committed since the last seal, for a scheduler (a write's commit
seals its own events right away; page reads' events may wait for the next seal:
``portal.audit.sealing``). Exit status 1 when the head record is missing or forged, so
the events stay pending.
"""

from __future__ import annotations

import contextlib
import sys

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.audit.service import SealRefused, last_hash, seal_pending, verify_chain
from portal.extensions import db

audit_cli = AppGroup("audit", help="Audit trail commands.")


@audit_cli.command("verify")
@click.option("--known", metavar="HASH", help="A hash printed by an earlier run; it must still be in the chain.")
def verify_command(known: str | None) -> None:
    """Check every audit event's hash and link; name the first broken one."""
    with contextlib.suppress(SealRefused):  # the check below names what is wrong with the head
        seal_pending()
    if db.engine.dialect.name == "postgresql":
        # One snapshot for both passes and the head, while sealers go on moving the head.
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    problem = verify_chain()
    if problem is not None:
        click.echo(f"audit chain broken at event {problem.event_id} ({problem.code}): {problem.reason}", err=True)
        sys.exit(1)
    if known and db.session.execute(select(AuditEvent.id).where(AuditEvent.hash == known)).first() is None:
        click.echo(f"audit chain broken: the known event with hash {known} is missing (events were deleted)", err=True)
        sys.exit(1)
    count = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar()
    click.echo(f"audit chain intact: {count} events, newest hash {last_hash()}")


@audit_cli.command("seal")
def seal_command() -> None:
    """Chain the audit events committed since the last seal."""
    try:
        sealed = seal_pending()
    except SealRefused as refused:
        click.echo(f"audit events not sealed: {refused}", err=True)
        sys.exit(1)
    click.echo(f"audit chain sealed: {sealed} new events")
