"""``flask --app wsgi portal audit verify``: check the whole hash chain.

Exit status 0 when every event is intact and the chain ends at its keyed head record,
1 naming the first event that was changed, deleted or stored out of order, or a tail that
is gone. ``--known`` (a hash printed by an earlier run) is an extra check kept outside.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.audit.service import last_hash, verify_chain
from portal.extensions import db

audit_cli = AppGroup("audit", help="Audit trail commands.")


@audit_cli.command("verify")
@click.option("--known", metavar="HASH", help="A hash printed by an earlier run; it must still be in the chain.")
def verify_command(known: str | None) -> None:
    """Check every audit event's hash and link; name the first broken one."""
    problem = verify_chain()
    if problem is not None:
        click.echo(f"audit chain broken at event {problem.event_id} ({problem.code}): {problem.reason}", err=True)
        sys.exit(1)
    if known and db.session.execute(select(AuditEvent.id).where(AuditEvent.hash == known)).first() is None:
        click.echo(f"audit chain broken: the known event with hash {known} is missing (events were deleted)", err=True)
        sys.exit(1)
    count = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar()
    click.echo(f"audit chain intact: {count} events, newest hash {last_hash()}")
