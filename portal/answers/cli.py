"""``flask portal ask`` (the page's answer, as JSON or text) and ``flask portal answers prune``."""

from __future__ import annotations

import json
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from portal import jurisdictions
from portal.answers.ask import ask
from portal.answers.index import GROUP
from portal.answers.service import prune
from portal.clock import now
from portal.unit_of_work import unit_of_work


@click.command("ask")
@click.argument("question")
@click.option("--locale", type=click.Choice(sorted(GROUP)), default="en", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def ask_command(question: str, locale: str, as_json: bool) -> None:
    """Answer QUESTION as the /ask page would (nothing is kept or handed over)."""
    if not question.strip():
        raise click.BadParameter("the question is empty", param_hint="QUESTION")
    currency = jurisdictions.get(None).currency_word[locale]
    answer = ask(question, locale, currency=currency)
    if as_json:
        click.echo(json.dumps(answer.as_json(), ensure_ascii=False))
        return
    if answer.escalate:
        click.echo(f"Hand over to a person: {answer.escalate}")
    if answer.topic:
        strength = "confident" if answer.confident else "weak match"
        click.echo(f"{answer.topic} ({strength}, score {answer.score:.2f})")
        click.echo(answer.passage)
    elif not answer.escalate:
        click.echo("No answer found.")
    if answer.related:
        click.echo("Related: " + ", ".join(answer.related))


answers_cli = AppGroup("answers", help="Questions asked in the answers box.")


@answers_cli.command("prune")
@click.option("--days", type=click.IntRange(min=1), default=None, help="Keep this many days (default: the setting).")
def prune_command(days: int | None) -> None:
    """Delete kept questions older than QUESTION_RETENTION_DAYS (default 180)."""
    keep = days or current_app.config["QUESTION_RETENTION_DAYS"]
    with unit_of_work():
        gone = prune(now() - timedelta(days=keep))
    click.echo(f"Deleted {gone} question(s) asked more than {keep} days ago.")
