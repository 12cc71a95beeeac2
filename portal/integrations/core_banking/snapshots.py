"""``PUT /api/v1/accounts/<reference>``: the core system's balance snapshot of an account.

The core system is the source of truth for balances; a snapshot replaces the account's
figures whole. It carries the time it is true ``as_of``; the account keeps the time of
the snapshot it holds (``snapshot_at``), and an older snapshot (or one as old) never
overwrites it: it is answered ``applied: false`` and changes nothing, so snapshots that
arrive out of order, or twice, leave the newest. The account row is locked while it is
compared, so two snapshots racing cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.extensions import db
from portal.integrations.core_banking import body
from portal.integrations.core_banking.errors import ApiRefusal
from portal.integrations.core_banking.signatures import WINDOW

AMOUNTS = ("principal", "interest", "fees", "late_fees", "overdue_amount", "minimum_due")
FIELDS = ("as_of", "currency", *AMOUNTS, "due_date", "days_past_due")


@dataclass(frozen=True)
class Snapshot:
    as_of: datetime  # aware UTC
    amounts: dict[str, Decimal]
    due_date: date
    days_past_due: int


def read_snapshot(data: dict[str, Any], currency: str) -> Snapshot:
    """The snapshot ``data`` describes, for an account kept in ``currency``."""
    as_of = body.timestamp(data, "as_of").astimezone(UTC)
    if data.get("currency") is not None and data["currency"] != currency:
        raise ApiRefusal(422, "currency_mismatch", f"The account is kept in {currency}.", "currency")
    amounts = {name: body.amount(data, name, currency) for name in AMOUNTS}
    due_date = body.day(data, "due_date")
    assert due_date is not None  # required
    snapshot = Snapshot(as_of, amounts, due_date, body.whole(data, "days_past_due"))
    balance = sum((amounts[name] for name in ("principal", "interest", "fees", "late_fees")), Decimal(0))
    if amounts["minimum_due"] > balance:
        raise ApiRefusal(
            422,
            "minimum_due_above_balance",
            "minimum_due cannot be more than the balance (principal + interest + fees + late_fees).",
            "minimum_due",
        )
    return snapshot


def apply_snapshot(reference: str, data: dict[str, Any], actor: Actor, now: datetime) -> tuple[int, dict[str, Any]]:
    """Apply the snapshot ``data`` to the account ``reference`` unless it holds a newer
    one; the HTTP status and JSON answer. Audited when applied. Flushes."""
    account = db.session.execute(
        select(CardAccount).where(CardAccount.reference == reference).with_for_update()
    ).scalar_one_or_none()
    if account is None:
        raise ApiRefusal(404, "account_not_found", f"No account has the reference {reference!r}.")
    snapshot = read_snapshot(data, account.currency)
    if snapshot.as_of > now + WINDOW:
        raise ApiRefusal(
            422, "as_of_in_future", "as_of is in the future: a snapshot is of a time that has come.", "as_of"
        )
    applied = account.snapshot_at is None or snapshot.as_of > account.snapshot_at
    if applied:
        before = _figures(account)
        for name, value in snapshot.amounts.items():
            setattr(account, name, value)
        account.due_date = snapshot.due_date
        account.days_past_due = snapshot.days_past_due
        # True on the snapshot's day where the account is: the daily run ages it from there.
        account.days_past_due_as_of = snapshot.as_of.astimezone(ZoneInfo(account.time_zone)).date()
        account.snapshot_at = snapshot.as_of
        db.session.flush()
        record(actor, Action.Account.SNAPSHOT_APPLIED, ("account", account.id), before=before, after=_figures(account))
    return 200, {"applied": applied, "account": _figures(account)}


def _figures(account: CardAccount) -> dict[str, Any]:
    unit = Decimal(1).scaleb(-body.places(account.currency))
    return {
        "reference": account.reference,
        "currency": account.currency,
        **{name: str(getattr(account, name).quantize(unit)) for name in AMOUNTS},
        "balance": str(account.balance.quantize(unit)),
        "due_date": account.due_date.isoformat(),
        "days_past_due": account.days_past_due,
        "snapshot_at": account.snapshot_at.isoformat() if account.snapshot_at else None,
    }
