"""``portal quote`` and ``portal policy``: the plan engine and policy versions from the command line.

(``portal offers``, the offers of a stored account, is ``portal.offers.cli``.)

Amounts and rates are read as text and parsed as ``Decimal`` here, so that a bad value
gets the engine's own one-line message and exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn

import click
from flask.cli import AppGroup

from portal.db_types import utcnow
from portal.domain.dates import add_months
from portal.domain.quote import QuoteError, quote, quote_to_json
from portal.inputs import MAX_DIGITS, MAX_PLACES, MAX_YEAR, MIN_YEAR, InputError, bounded_date, parse_decimal
from portal.policies.workflow import activate_due_versions
from portal.unit_of_work import unit_of_work


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _decimal(value: str | None, name: str) -> Decimal | None:
    return None if value is None else _number(value, name)


def _number(value: str, name: str) -> Decimal:
    """For options that are required or have a default, which click never leaves None."""
    try:
        return parse_decimal(value)
    except InputError:
        fail(
            f"--{name.replace('_', '-')} must be a finite number under 10^{MAX_DIGITS} with at most {MAX_PLACES} "
            f"decimal places, not {value[:40]!r}"
        )


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return bounded_date(date.fromisoformat(value))
    except (ValueError, InputError):
        fail(f"--{name} must be a date like 2027-01-15 in the years {MIN_YEAR} to {MAX_YEAR}, not {value[:40]!r}")


@click.command("quote")
@click.option("--plan", required=True, type=click.Choice(["installment", "relief", "settlement", "personalised"]))
@click.option("--amount", required=True, help="Balance the plan deals with, e.g. 10000.00")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. CNY, HKD")
@click.option("--first-due", help="First due date (ISO); default: one month from today")
@click.option("--months", type=int, help="Installments (installment, personalised); at most 60")
@click.option("--monthly-fee-rate", help="Monthly fee on the original principal, e.g. 0.006")
@click.option("--annual-rate", help="Annual interest on the declining balance, e.g. 0.12 (relief: the rate after)")
@click.option("--down-payment", default="0", help="Paid first, not financed")
@click.option("--relief-months", type=int, help="Months of relief (relief plans)")
@click.option("--relief-rate", help="Annual rate during relief; 0 freezes interest")
@click.option("--relief-payment", help="Fixed monthly payment during relief")
@click.option("--after-months", type=int, default=0, help="Months to repay the rest after relief; 0 = one payment")
@click.option("--waiver", default="0", help="Fraction of fees and late fees waived, e.g. 0.5")
@click.option("--fees", default="0", help="Part of the amount that is fees")
@click.option("--late-fees", default="0", help="Part of the amount that is late fees")
@click.option("--discount", help="Settlement discount as a fraction, e.g. 0.3")
@click.option("--payments", type=int, default=1, help="Settlement payments, 1 to 3")
@click.option("--deadline-days", type=int, help="Settlement: first payment within this many days")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def quote_command(**options: Any) -> None:
    """Print the schedule, total cost and annualised rate of one plan."""
    today = utcnow().date()
    first_due = _date(options["first_due"], "first-due")
    if first_due is None:
        first_due = add_months(today, 1)
    try:
        result = quote(
            options["plan"],
            amount=_number(options["amount"], "amount"),
            currency=options["currency"].strip().upper(),
            first_due=first_due,
            months=options["months"],
            monthly_fee_rate=_decimal(options["monthly_fee_rate"], "monthly_fee_rate"),
            annual_rate=_decimal(options["annual_rate"], "annual_rate"),
            down_payment=_number(options["down_payment"], "down_payment"),
            relief_months=options["relief_months"],
            relief_rate=_decimal(options["relief_rate"], "relief_rate"),
            relief_payment=_decimal(options["relief_payment"], "relief_payment"),
            after_months=options["after_months"],
            waiver=_number(options["waiver"], "waiver"),
            fees=_number(options["fees"], "fees"),
            late_fees=_number(options["late_fees"], "late_fees"),
            discount=_decimal(options["discount"], "discount"),
            payments=options["payments"],
            deadline_days=options["deadline_days"],
            today=today if options["deadline_days"] is not None else None,
        )
    except QuoteError as error:
        fail(str(error))
    data = quote_to_json(result)
    if options["as_json"]:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"{data['plan']} plan in {data['currency']}")
    installments = data["installments"]
    assert isinstance(installments, list)  # quote_to_json builds it as a list of dicts
    for row in installments:
        click.echo(
            f"  {row['number']:>3}  {row['due_date']}  principal {row['principal']:>12}"
            f"  charge {row['charge']:>10}  total {row['total']:>12}"
        )
    click.echo(f"total repaid {data['total_repaid']}, total cost {data['total_cost']}")
    click.echo(f"annualised rate (APR) {Decimal(str(data['apr'])):.4%}, effective {Decimal(str(data['ear'])):.4%}")


policy_cli = AppGroup("policy", help="Offer policy versions.")


@policy_cli.command("activate-due")
def activate_due_command() -> None:
    """Activate scheduled policy versions whose effective time has come (for schedulers)."""
    with unit_of_work():
        activated = activate_due_versions(utcnow())
    for version in activated:
        click.echo(
            f"activated {version.currency} policy version {version.number} "
            f"(effective {version.effective_from.isoformat() if version.effective_from else '-'})"
        )
    if not activated:
        click.echo("no scheduled policy version is due")
