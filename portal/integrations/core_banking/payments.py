"""``POST /api/v1/payments``: one payment the core system booked, posted like a statement entry.

The payment becomes a :class:`~portal.payments.entries.StatementEntry` of the pseudo
statement ``API`` (its entry reference is the core system's payment id) and goes through
:func:`portal.payments.service.post_entries`, the service statement files use: the same
matching (account or agreement reference), duplicates, reversals and audit.

The core system's payment id is the bank's own reference for the payment: the same
payment later listed in a camt.053 (``AcctSvcrRef``) is a duplicate there, and the other
way round. A payment id the API has recorded before is answered as a duplicate (200),
whatever the Idempotency-Key; the same id with another amount, currency or direction is
a conflict (409). A reversal names the payment it reverses (``reverses``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.audit.service import Actor
from portal.extensions import db
from portal.integrations.core_banking import body
from portal.integrations.core_banking.errors import ApiRefusal
from portal.integrations.core_banking.signatures import WINDOW
from portal.locks import transaction_lock
from portal.payments.entries import StatementEntry
from portal.payments.models import Direction, Payment, PaymentSource
from portal.payments.service import ImportCounts, post_entries

STATEMENT = "API"  # payments.statement_id of every payment the API records
MAX_ID = 35  # payments.entry_reference, bank_reference and end_to_end_id
MAX_REMITTANCE = 500
FIELDS = (
    "id",
    "amount",
    "currency",
    "direction",
    "booked_at",
    "value_date",
    "end_to_end_id",
    "remittance",
    "creditor_reference",
    "reverses",
)


def read_payment(data: dict[str, Any], now: datetime) -> StatementEntry:
    """The statement entry the payment ``data`` describes."""
    payment_id = body.text(data, "id", MAX_ID)
    assert payment_id is not None
    currency = body.text(data, "currency", 3)
    assert currency is not None
    body.places(currency)
    amount = body.amount(data, "amount", currency, positive=True)
    direction = Direction(body.choice(data, "direction", [str(d) for d in Direction]))
    booked_at = body.timestamp(data, "booked_at").astimezone(UTC)
    if booked_at > now + WINDOW:
        raise ApiRefusal(422, "booked_at_in_future", "booked_at is in the future.", "booked_at")
    reverses = body.text(data, "reverses", MAX_ID, optional=True)
    if reverses == payment_id:
        raise ApiRefusal(422, "invalid_field", "A payment cannot reverse itself.", "reverses")
    creditor = body.text(data, "creditor_reference", MAX_ID, optional=True)
    return StatementEntry(
        statement_id=STATEMENT,
        entry_reference=payment_id,
        transaction=0,
        end_to_end_id=body.text(data, "end_to_end_id", MAX_ID, optional=True),
        # A reversal is found by the reference of the payment it reverses (as in camt).
        bank_reference=reverses or payment_id,
        amount=amount,
        currency=currency,
        direction=direction,
        reversal=reverses is not None,
        booked_at=booked_at,
        value_date=body.day(data, "value_date", optional=True),
        remittance=body.text(data, "remittance", MAX_REMITTANCE, optional=True) or "",
        creditor_references=(creditor,) if creditor else (),
    )


def _recorded(payment_id: str) -> Payment | None:
    return db.session.execute(
        select(Payment).where(
            Payment.source == PaymentSource.API,
            Payment.statement_id == STATEMENT,
            Payment.entry_reference == payment_id,
        )
    ).scalar_one_or_none()


def _reported_elsewhere(entry: StatementEntry) -> Payment | None:
    """The payment a statement file recorded that ``entry`` repeats (same bank reference)."""
    return db.session.execute(
        select(Payment)
        .where(
            Payment.bank_reference == entry.bank_reference,
            Payment.direction == entry.direction,
            Payment.amount == entry.amount,
            Payment.currency == entry.currency,
        )
        .order_by(Payment.id)
        .limit(1)
    ).scalar_one_or_none()


def receive_payment(data: dict[str, Any], actor: Actor, now: datetime) -> tuple[int, dict[str, Any]]:
    """Post the payment ``data``; the HTTP status and the JSON answer. Flushes."""
    entry = read_payment(data, now)
    # Taken again by post_entries (the lock is re-entrant): the look-up for an earlier copy
    # and the insert must not let a concurrent call with the same id in between.
    transaction_lock("payments:import")
    earlier = _recorded(entry.entry_reference)
    if earlier is not None:
        if (earlier.amount, earlier.currency, earlier.direction) != (entry.amount, entry.currency, entry.direction):
            raise ApiRefusal(
                409,
                "payment_id_conflict",
                "A payment with this id was recorded with another amount, currency or direction.",
                "id",
            )
        credit = entry.direction == Direction.CREDIT
        counted = ImportCounts(entries=int(credit), duplicates=int(credit), debits=int(not credit))
        return 200, {"duplicate": True, "payment": describe(earlier), "counts": _counts(counted)}
    counts = post_entries([entry], PaymentSource.API, actor)
    recorded = _recorded(entry.entry_reference)
    if recorded is None:  # a statement file had recorded it already
        return 200, {"duplicate": True, "payment": describe(_reported_elsewhere(entry)), "counts": _counts(counts)}
    return 201, {"duplicate": False, "payment": describe(recorded), "counts": _counts(counts)}


def _counts(counts: ImportCounts) -> dict[str, int]:
    """The import's counts, as ``portal payments import --json`` gives them, and the debits."""
    return {**counts.contract(), "debits": counts.debits, "reversed": counts.reversed}


def describe(payment: Payment | None) -> dict[str, Any] | None:
    """A payment as the API shows it."""
    if payment is None:
        return None
    reverses = db.session.get(Payment, payment.reverses_id) if payment.reverses_id else None
    account = db.session.get(CardAccount, payment.account_id) if payment.account_id else None
    return {
        "id": _payment_id(payment),
        "source": payment.source,
        "status": payment.status,
        "direction": payment.direction,
        "amount": str(payment.amount.quantize(Decimal(1).scaleb(-body.places(payment.currency)))),
        "currency": payment.currency,
        "booking_date": payment.booking_date.isoformat(),
        "account_reference": account.reference if account else None,
        "match_basis": payment.match_basis,
        "reverses": _payment_id(reverses) if reverses else None,
    }


def _payment_id(payment: Payment) -> str | None:
    return payment.entry_reference if payment.source == PaymentSource.API else payment.bank_reference
