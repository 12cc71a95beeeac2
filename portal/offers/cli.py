"""``portal offers``: the offers of a stored account under its active policy.

Its output (text, or ``--json`` with the keys account, policy_version, offers) is a
contract for scripts; failures print one line and exit with status 2.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import or_, select

from portal.accounts.models import CardAccount
from portal.db_types import utcnow
from portal.domain.offers import Offer
from portal.domain.quote import quote_to_json
from portal.extensions import db
from portal.offers.adapter import offers_for_account
from portal.policies.cli import fail
from portal.policies.service import NoActivePolicy
from portal.unit_of_work import one_unit_of_work


def offer_as_json(offer: Offer) -> dict[str, Any]:
    return {
        "tier": offer.tier,
        "plan": offer.plan.value,
        "fingerprint": offer.fingerprint,
        "needs_approval": offer.needs_approval,
        "needs_hardship_reason": offer.needs_hardship_reason,
        "agent_may_offer": offer.agent_may_offer,
        "quote": quote_to_json(offer.quote),
    }


@click.command("offers")
@with_appcontext
@one_unit_of_work  # reading the policy in force may activate a scheduled version
@click.argument("account")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def offers_command(account: str, as_json: bool) -> None:
    """List the offers for a stored ACCOUNT (reference or id) under the active policy."""
    condition = CardAccount.reference == account
    if account.isdigit():
        condition = or_(condition, CardAccount.id == int(account))
    found = db.session.execute(select(CardAccount).where(condition)).scalar_one_or_none()
    if found is None:
        fail(f"no account {account!r}")
    today = utcnow().date()
    try:
        version, offers = offers_for_account(found, today, by_staff=True)
    except NoActivePolicy as error:
        fail(str(error))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "account": found.reference,
                    "policy_version": version.number,
                    "offers": [offer_as_json(o) for o in offers],
                },
                indent=2,
            )
        )
        return
    click.echo(
        f"{found.reference}: {found.days_past_due} days past due, policy version {version.number}, {len(offers)} offers"
    )
    for offer in offers:
        q = quote_to_json(offer.quote)
        months = len(q["installments"])  # type: ignore[arg-type]
        click.echo(
            f"  {offer.tier:<4} {offer.plan.value:<13} {months:>2} payments  repay {q['total_repaid']:>12}"
            f"  cost {q['total_cost']:>10}  APR {Decimal(str(q['apr'])):.2%}"
            f"{'  needs approval' if offer.needs_approval else ''}"
        )
