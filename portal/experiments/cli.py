"""``portal experiments``: champion/challenger statistics from the command line.

``analyse FILE --json`` prints the figures of ``portal.experiments.analysis.analyse`` (the
same code the experiment pages use); bad input prints one line and exits with status 2.
"""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import AppGroup

from portal.experiments.analysis import AnalysisInputError, analyse
from portal.policies.cli import fail

experiments_cli = AppGroup("experiments", help="Champion/challenger experiments.")


def _read(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        fail(f"{path} is not JSON: {error}")
    except RecursionError:
        fail(f"{path} nests deeper than any arm counts do")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


@experiments_cli.command("analyse")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def analyse_command(file: str, as_json: bool) -> None:
    """Analyse arm counts in FILE (JSON): rates, differences with 95 % intervals,
    two-proportion and Holm p-values, posterior probabilities, sample-ratio check, decision."""
    try:
        result = analyse(_read(file))
    except AnalysisInputError as error:
        fail(str(error))
    if as_json:
        click.echo(json.dumps(result, allow_nan=False, indent=2))
        return
    click.echo(f"sample ratio check p = {_number(result['srm_p'])}")
    for arm in result["arms"]:
        click.echo(
            f"  {arm['name']}: share {arm['share']:g}, assigned {arm['assigned']}, "
            f"{arm['successes']} of {arm['n']} (rate {_number(arm['rate'])})"
        )
    for c in result["comparisons"]:
        click.echo(
            f"  {c['arm']} - champion: {_number(c['diff'])} [{_number(c['ci_low'])}, {_number(c['ci_high'])}], "
            f"p {_number(c['p_value'])}, Holm p {_number(c['p_holm'])}, P(better) {_number(c['prob_better'])}"
        )
    for alarm in result.get("guardrail_alarms", []):
        state = "ALARM" if alarm["alarm"] else "ok"
        click.echo(f"  guardrail {alarm['guardrail']} ({alarm['arm']}): z {_number(alarm['z'])} {state}")
    click.echo(f"decision: {result['decision']}")
