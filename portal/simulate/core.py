"""The simulated core banking system: the day's repayments as one camt.053 statement,
imported by the payments import service, then a balance snapshot per account that paid.

The core system books a payment against late fees, fees, interest and principal in that
order, and against the overdue amount; an account whose overdue amount reaches zero is
current again (0 days past due, next due date a month on). It charges no new interest
or fees.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from portal import clock
from portal.accounts.models import CardAccount
from portal.audit.service import SYSTEM
from portal.extensions import db
from portal.integrations.core_banking.snapshots import apply_snapshot
from portal.payments.cli import import_file
from portal.payments.service import ImportCounts
from portal.payments.statement import EntrySpec, StatementSpec, write_camt
from portal.unit_of_work import unit_of_work

CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Repayment:
    reference: str  # the account's
    currency: str
    amount: Decimal
    creditor_reference: str | None = None  # the agreement's, for a plan's installment


def import_day(day: date, repayments: list[Repayment]) -> ImportCounts:
    """Import ``day``'s repayments as the bank's statement, then send each payer's snapshot."""
    stamp = day.strftime("%Y%m%d")
    by_currency: dict[str, list[EntrySpec]] = defaultdict(list)
    for repayment in repayments:
        entries = by_currency[repayment.currency]
        number = f"{len(entries) + 1:06d}"
        remittance = None if repayment.creditor_reference else f"Card repayment {repayment.reference}"
        entries.append(
            EntrySpec(
                number,
                repayment.amount,
                repayment.currency,
                day,
                end_to_end_id=f"SIM-{stamp}-{number}-{repayment.currency}",
                remittance=remittance,
                creditor_reference=repayment.creditor_reference,
            )
        )
    statements = [
        StatementSpec(f"SIM-{currency}-{stamp}", f"REPAYMENTS-{currency}", currency, entries, opening_date=day)
        for currency, entries in sorted(by_currency.items())
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"sim-{stamp}.xml"
        with path.open("wb") as out:
            write_camt(out, "camt053", f"SIM-{stamp}", clock.now(), statements)
        _format, counts = import_file(path, "camt053")
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for repayment in repayments:
        paid[repayment.reference] += repayment.amount
    for reference, amount in sorted(paid.items()):
        send_snapshot(reference, amount, day)
    return counts


def send_snapshot(reference: str, amount: Decimal, day: date) -> None:
    """The core system books ``amount`` on ``reference`` and sends the account's new balance."""
    with unit_of_work():
        account = db.session.execute(select(CardAccount).where(CardAccount.reference == reference)).scalar_one()
        left = amount
        parts: dict[str, Decimal] = {}
        for name in ("late_fees", "fees", "interest", "principal"):
            value = getattr(account, name)
            taken = min(value, left)
            parts[name], left = value - taken, left - taken
        balance = sum(parts.values(), Decimal(0))
        overdue = max(Decimal(0), account.overdue_amount - amount)
        current = overdue == 0
        data = {
            "as_of": clock.now().isoformat(),
            **{name: str(value.quantize(CENTS)) for name, value in parts.items()},
            "overdue_amount": str(overdue.quantize(CENTS)),
            "minimum_due": str(min(balance, overdue).quantize(CENTS)),
            "due_date": (day + timedelta(days=30) if current else account.due_date).isoformat(),
            "days_past_due": 0 if current else account.days_past_due,
        }
        apply_snapshot(reference, data, SYSTEM, clock.now())
