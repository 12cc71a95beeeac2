"""``flask --app wsgi portal staff …``: create staff, re-issue enrolment, dev TOTP codes."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from portal.audit.service import Actor, ActorType
from portal.extensions import db
from portal.staff.management import change_role, create_staff, reissue_enrolment, set_active
from portal.staff.models import Role, StaffUser
from portal.staff.service import StaffError, current_code
from portal.unit_of_work import one_unit_of_work

staff_cli = AppGroup("staff", help="Staff accounts: create, re-enrol, change role, deactivate, list.")

CLI_ACTOR = Actor(ActorType.SYSTEM, "cli")
ROLE_CHOICE = click.Choice([r.value for r in Role])


def _enrol_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/care/enrol/{token}"


def _fail(error: StaffError) -> click.ClickException:
    messages = {
        "bad_email": "That is not an e-mail address.",
        "unknown_role": "Unknown role.",
        "email_taken": "A member of staff with that e-mail already exists (use `staff reissue`).",
        "unknown_staff": "No member of staff has that e-mail.",
        "last_admin": "Refused: this is the last active staff admin. Make another staff admin first.",
    }
    return click.ClickException(messages.get(error.code, error.code))


@staff_cli.command("create")
@click.option("--email", required=True, help="Work e-mail (the sign-in name).")
@click.option("--role", required=True, type=ROLE_CHOICE)
@click.option("--name", default="", help="Display name (default: the part of the e-mail before @).")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True, help="Where the portal is served.")
@one_unit_of_work
def create_command(email: str, role: str, name: str, base_url: str) -> None:
    """Create a member of staff and print a one-time enrolment link (valid 72 hours)."""
    try:
        user, token = create_staff(email, role, name, CLI_ACTOR, current_app.config["SECRET_KEY"])
    except StaffError as error:
        raise _fail(error) from error
    click.echo(f"Created {user.email} ({user.role}). Send them this one-time enrolment link, valid for 72 hours:")
    click.echo(f"  {_enrol_link(base_url, token)}")


@staff_cli.command("reissue")
@click.option("--email", required=True)
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True)
@one_unit_of_work
def reissue_command(email: str, base_url: str) -> None:
    """Start enrolment again (lost phone or password): new secret, new one-time link."""
    try:
        user, token = reissue_enrolment(email, CLI_ACTOR, current_app.config["SECRET_KEY"])
    except StaffError as error:
        raise _fail(error) from error
    click.echo(f"{user.email} must enrol again. One-time link, valid for 72 hours:")
    click.echo(f"  {_enrol_link(base_url, token)}")


@staff_cli.command("deactivate")
@click.option("--email", required=True)
@one_unit_of_work
def deactivate_command(email: str) -> None:
    """Stop a member of staff signing in; their open sessions end at once."""
    try:
        set_active(email, False, CLI_ACTOR)
    except StaffError as error:
        raise _fail(error) from error
    click.echo(f"{email.lower()} can no longer sign in.")


@staff_cli.command("activate")
@click.option("--email", required=True)
@one_unit_of_work
def activate_command(email: str) -> None:
    """Let a deactivated member of staff sign in again."""
    try:
        set_active(email, True, CLI_ACTOR)
    except StaffError as error:
        raise _fail(error) from error
    click.echo(f"{email.lower()} can sign in again.")


@staff_cli.command("role")
@click.option("--email", required=True)
@click.option("--role", required=True, type=ROLE_CHOICE)
@one_unit_of_work
def role_command(email: str, role: str) -> None:
    """Give a member of staff another role (from their next page)."""
    try:
        user = change_role(email, role, CLI_ACTOR)
    except StaffError as error:
        raise _fail(error) from error
    click.echo(f"{user.email} is now {user.role}.")


@staff_cli.command("list")
def list_command() -> None:
    """List staff with role and state."""
    for user in db.session.execute(select(StaffUser).order_by(StaffUser.email)).scalars():
        state = "inactive" if not user.active else ("enrolled" if user.enrolled else "not enrolled")
        click.echo(f"{user.email:32} {user.role:13} {state:13} {user.display_name}")


@staff_cli.command("totp")
@click.argument("email")
def totp_command(email: str) -> None:
    """Print the current authenticator code (development and demo only)."""
    if current_app.config["PORTAL_ENV"] == "production":
        raise click.ClickException("Refused: this command only works outside production.")
    try:
        click.echo(current_code(email, current_app.config["SECRET_KEY"]))
    except StaffError as error:
        raise _fail(error) from error
