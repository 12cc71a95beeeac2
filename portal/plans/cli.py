"""``flask --app wsgi portal plans show ID_OR_REFERENCE [--date YYYY-MM-DD] [--json]``.

The plan and its installments judged on a day (default today, UTC) by the plan's own
frozen rules (``portal.domain.plan_health``): the same words the servicing run uses.
Amounts are printed as decimal strings, dates as ISO dates.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.agreements.models import Agreement
from portal.agreements.reference import BadReferenceError, parse_reference
from portal.db_types import utcnow
from portal.domain.missed_payment import from_terms
from portal.domain.money import round_money
from portal.domain.plan_health import Installment, judge_plan
from portal.extensions import db
from portal.integrations.core_banking.export_cli import export_command
from portal.plans.models import Plan
from portal.servicing.as_of import as_of
from portal.unit_of_work import unit_of_work

plans_cli = AppGroup("plans", help="Plans: how they stand, and the daily file of their events.")
plans_cli.add_command(export_command)


def find_plan(key: str) -> Plan | None:
    """The plan with id ``key``, or whose agreement has reference ``key``."""
    if key.isdigit():
        return db.session.get(Plan, int(key)) if len(key) < 12 else None
    try:
        reference = parse_reference(key)
    except BadReferenceError:
        return None
    query = select(Plan).join(Agreement, Agreement.plan_id == Plan.id).where(Agreement.reference == reference)
    return db.session.execute(query).scalar()


def plan_as_dict(plan: Plan, day: date) -> dict[str, Any]:
    """The plan as ``plans show --json`` prints it, judged on ``day``."""
    stored = [Installment(i.number, i.due_date, i.total, i.paid) for i in plan.installments]
    items = as_of(day, {plan.id: stored})[plan.id]  # on a past day, without what was booked after it
    health = judge_plan(items, day, from_terms(plan.terms))
    account = db.session.get(CardAccount, plan.account_id)
    agreement = db.session.execute(select(Agreement.reference).where(Agreement.plan_id == plan.id)).scalar()
    next_due = health.next_due

    def money(amount: Decimal) -> str:
        return str(round_money(amount, plan.currency))

    return {
        "id": plan.id,
        "state": plan.state,
        "verdict": str(health.verdict),  # what the rules say on the day; the run acts on it
        "reason": health.reason,
        "day": day.isoformat(),
        "plan_type": plan.plan_type,
        "account_reference": account.reference if account else None,
        "agreement_reference": agreement,
        "currency": plan.currency,
        "accepted_at": plan.accepted_at.isoformat() if plan.accepted_at else None,
        "ended_at": plan.ended_at.isoformat() if plan.ended_at else None,
        "total_repaid": money(plan.total_repaid),
        "paid": money(sum((i.paid for i in items), Decimal(0))),
        "paid_count": health.paid_count,
        "count": health.count,
        "next_due": (
            {
                "number": next_due.number,
                "due_date": next_due.due_date.isoformat(),
                "owed": money(next_due.amount - next_due.paid),
            }
            if next_due
            else None
        ),
        "installments": [
            {
                "number": i.number,
                "due_date": i.due_date.isoformat(),
                "amount": money(i.amount),
                "paid": money(i.paid),
                "state": str(health.states[i.number]),
            }
            for i in sorted(items, key=lambda i: i.number)
        ],
    }


@plans_cli.command("show")
@click.argument("key", metavar="ID_OR_REFERENCE")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="Judge on this day (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def show_command(key: str, day: datetime | None, as_json: bool) -> None:
    """Show a plan (by id or agreement reference) and its installments."""
    with unit_of_work():
        plan = find_plan(key.strip())
        if plan is None:
            click.echo(f"No plan has the id or agreement reference {key!r}.", err=True)
            sys.exit(1)
        data = plan_as_dict(plan, day.date() if day else utcnow().date())
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    _print_table(data)


def _print_table(data: dict[str, Any]) -> None:
    reason = f" ({data['reason']})" if data["reason"] else ""
    click.echo(
        f"Plan {data['id']} ({data['plan_type']}) on account {data['account_reference']}, "
        f"agreement {data['agreement_reference'] or '-'}: {data['state']}; by the rules on {data['day']}: "
        f"{data['verdict']}{reason}"
    )
    click.echo(
        f"Paid {data['paid']} of {data['total_repaid']} {data['currency']}: "
        f"{data['paid_count']} of {data['count']} installments"
    )
    click.echo(f"{'no.':>4}  {'due':10}  {'amount':>12}  {'paid':>12}  state")
    for i in data["installments"]:
        click.echo(f"{i['number']:>4}  {i['due_date']:10}  {i['amount']:>12}  {i['paid']:>12}  {i['state']}")
