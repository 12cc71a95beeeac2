"""``flask --app wsgi portal api prune [--json]``: forget what the API no longer needs.

Spent message ids are kept 10 minutes (twice the signature window) and answers per
Idempotency-Key 24 hours. A call also prunes the message ids itself; run this hourly
beside the outbox worker so that answers do not pile up between calls.
"""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from portal.db_types import utcnow
from portal.integrations.core_banking.guard import prune
from portal.unit_of_work import unit_of_work

api_cli = AppGroup("api", help="The core banking system's API.")


@api_cli.command("prune")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of counts.")
def prune_command(as_json: bool) -> None:
    """Delete spent message ids (older than 10 minutes) and stored answers (older than 24 hours)."""
    with unit_of_work():
        messages, answers = prune(utcnow())
    if as_json:
        click.echo(json.dumps({"messages": messages, "answers": answers}))
        return
    click.echo(f"Forgot {messages} spent message ids and {answers} stored answers.")
