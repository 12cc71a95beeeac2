"""``flask --app wsgi portal …`` commands."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click
from flask.cli import AppGroup, with_appcontext

from portal.agreements.cli import agreements_cli, keys_command
from portal.answers.cli import answers_cli, ask_command
from portal.audit.cli import audit_cli
from portal.demo import DEMO_CARDHOLDERS, load_demo, write_demo_statement
from portal.experiments.cli import experiments_cli
from portal.integrations.core_banking.cli import api_cli
from portal.notifications.cli import deliver_command
from portal.notifications.service import message_as_dict, recent_messages
from portal.offers.cli import offers_command
from portal.payments.cli import payments_cli
from portal.plans.cli import plans_cli
from portal.policies.cli import policy_cli, quote_command
from portal.reporting.cli import reports_cli
from portal.scheduler.cli import scheduler_command
from portal.servicing.cli import servicing_cli
from portal.simulate.cli import simulate_command
from portal.staff.cli import staff_cli
from portal.staff.service import DEMO_STAFF
from portal.unit_of_work import unit_of_work

portal_cli = AppGroup("portal", help="Repayment portal commands.")
portal_cli.add_command(quote_command)
portal_cli.add_command(offers_command)
portal_cli.add_command(policy_cli)
portal_cli.add_command(audit_cli)
portal_cli.add_command(deliver_command)
portal_cli.add_command(agreements_cli)
portal_cli.add_command(keys_command)
portal_cli.add_command(staff_cli)
portal_cli.add_command(payments_cli)
portal_cli.add_command(api_cli)
portal_cli.add_command(plans_cli)
portal_cli.add_command(servicing_cli)
portal_cli.add_command(reports_cli)
portal_cli.add_command(scheduler_command)
portal_cli.add_command(experiments_cli)
portal_cli.add_command(simulate_command)
portal_cli.add_command(ask_command)
portal_cli.add_command(answers_cli)


@portal_cli.command("outbox")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", default=20, show_default=True, help="How many messages, newest first.")
def outbox_command(as_json: bool, limit: int) -> None:
    """Print queued and sent messages, newest first (development outbox)."""
    messages = [message_as_dict(m) for m in recent_messages(limit)]
    if as_json:
        click.echo(json.dumps(messages, ensure_ascii=False, indent=2))
        return
    if not messages:
        click.echo("The outbox is empty.")
    for m in messages:
        reason = m["blocked_reason"] or m["held_reason"] or m["last_error"]
        click.echo(
            f"#{m['id']} {m['created_at']} {m['channel']} to {m['recipient']} [{m['kind']}, {m['status']}"
            + (f": {reason}" if reason else "")
            + "]"
        )
        click.echo(f"    {m['body']}")


@portal_cli.group("demo", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the demo sign-in details as JSON.")
@click.pass_context
@with_appcontext  # a group's own callback is not wrapped as its commands are
def demo_command(ctx: click.Context, as_json: bool) -> None:
    """Load demo cardholders (idempotent) and print how to sign in."""
    if ctx.invoked_subcommand is not None:
        return
    with unit_of_work():  # the whole demo set in one commit
        created = load_demo()
    details = [
        {
            "card_number": d.card_number,
            "date_of_birth": d.date_of_birth.isoformat(),
            "name": d.name,
            "locale": d.locale,
            "currency": d.currency,
            "days_past_due": d.days_past_due,
        }
        for d in DEMO_CARDHOLDERS
    ]
    if as_json:
        click.echo(json.dumps(details, ensure_ascii=False, indent=2))
        return
    click.echo(f"Demo data ready ({created} new accounts, {len(details)} in all). Sign in as a cardholder with:")
    for d in details:
        click.echo(
            f"  {d['card_number']}  born {d['date_of_birth']}  {d['name']} ({d['locale']}, "
            f"{d['currency']}, {d['days_past_due']} days past due)"
        )
    click.echo("The sign-in code goes to the outbox: `flask --app wsgi portal outbox` or /dev/outbox.")
    _echo_demo_staff()


@demo_command.command("statement")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="The statement's day.")
def demo_statement_command(day: datetime) -> None:
    """Write a camt.053 statement with repayments for the demo accounts to stdout."""
    sys.stdout.flush()
    write_demo_statement(sys.stdout.buffer, day.date())
    sys.stdout.buffer.flush()


def _echo_demo_staff() -> None:
    from flask import current_app

    if current_app.config["PORTAL_ENV"] == "production":
        return
    click.echo(f"Demo staff sign in at {current_app.config['PUBLIC_URL']}/care/sign-in with:")
    for s in DEMO_STAFF:
        click.echo(f"  {s.email:24} password {s.password:26} {s.role.value:13} TOTP secret {s.totp_secret}")
    click.echo(
        "For the current 6-digit code use `flask --app wsgi portal staff totp EMAIL` "
        "(or add the secret to an authenticator app)."
    )
