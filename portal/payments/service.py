"""Posting statement entries: idempotent, matched, audited, reversals un-posting.

:func:`post_entries` takes one chunk of parsed entries and FLUSHES; the caller (the CLI
command, a future API view) commits once per chunk. An entry already imported (same
``import_key``) is a duplicate and changes nothing. New rows go in with one batched
INSERT and one batched audit write per chunk; reversals, rare, go one by one.

Balances are not touched here: the core system is their source of truth and sends
snapshots. A payment on a plan re-allocates that plan's installments (oldest first,
``portal.domain.allocation``), so a reversal takes its money back out of them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from portal.audit.service import Actor, record, record_many
from portal.db_types import utcnow
from portal.domain.allocation import Due, allocate
from portal.extensions import db
from portal.payments.entries import StatementEntry
from portal.payments.matching import Directory, candidates
from portal.payments.models import Direction, MatchBasis, Payment, PaymentSource, PaymentStatus
from portal.plans.models import PlanInstallment


class PaymentAction:
    """Audit actions of this package (``audit_events.action``)."""

    POSTED = "payment.posted"  # matched to an account on arrival
    UNMATCHED = "payment.unmatched"  # recorded; waits for care staff
    REVERSED = "payment.reversed"  # a reversal un-posted it


@dataclass
class ImportCounts:
    """The contract of ``portal payments import --json``: every credit entry is counted in
    ``entries`` and in exactly one of ``posted``, ``duplicates`` and ``unmatched``.
    Debit entries are counted apart (``debits``, ``reversed``), outside that contract."""

    entries: int = 0
    posted: int = 0
    duplicates: int = 0
    unmatched: int = 0
    debits: int = 0
    reversed: int = 0
    skipped: int = 0

    def add(self, other: ImportCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def contract(self) -> dict[str, int]:
        return {
            "entries": self.entries,
            "posted": self.posted,
            "duplicates": self.duplicates,
            "unmatched": self.unmatched,
        }


def post_entries(entries: Sequence[StatementEntry], source: PaymentSource, actor: Actor) -> ImportCounts:
    """Record one chunk of entries: new ones posted or left unmatched, known ones skipped."""
    counts = ImportCounts()
    keys = [e.key for e in entries]
    known = set(db.session.execute(select(Payment.import_key).where(Payment.import_key.in_(keys))).scalars())
    fresh: list[StatementEntry] = []
    for entry, key in zip(entries, keys, strict=True):
        counts.entries += entry.direction == Direction.CREDIT
        counts.debits += entry.direction == Direction.DEBIT
        if key in known:
            counts.duplicates += entry.direction == Direction.CREDIT
            continue
        known.add(key)  # the same entry twice in one file is one payment
        fresh.append(entry)
    plain = [e for e in fresh if not e.reversal]
    found = [candidates(e) for e in plain]
    directory = Directory.load(found)
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for entry, names in zip(plain, found, strict=True):
        match = directory.match(names, entry.currency)
        status = PaymentStatus.POSTED if match.account_id else PaymentStatus.UNMATCHED
        if entry.direction == Direction.CREDIT:
            counts.posted += status == PaymentStatus.POSTED
            counts.unmatched += status == PaymentStatus.UNMATCHED
        rows.append(
            _row(
                entry, source, now, status=status, account_id=match.account_id, plan_id=match.plan_id, basis=match.basis
            )
        )
    plans = _insert(rows, actor)
    for entry in (e for e in fresh if e.reversal):
        applied, plan_id = _reverse(entry, source, now, actor)
        counts.reversed += applied
        if entry.direction == Direction.CREDIT:
            counts.posted += applied
            counts.unmatched += not applied
        if plan_id is not None:
            plans.add(plan_id)
    for plan_id in sorted(plans):
        reallocate_plan(plan_id)
    db.session.flush()
    return counts


def _row(entry: StatementEntry, source: PaymentSource, now: Any, **match: Any) -> dict[str, Any]:
    return {
        "account_id": match["account_id"],
        "plan_id": match["plan_id"],
        "status": str(match["status"]),
        "match_basis": str(match["basis"]),
        "paid_at": entry.booked_at,
        "booking_date": entry.booking_date,
        "value_date": entry.value_date,
        "amount": entry.amount,
        "currency": entry.currency,
        "method": "bank_transfer",
        "direction": str(entry.direction),
        "source": str(source),
        "statement_id": entry.statement_id[:35],
        "entry_reference": entry.entry_reference[:35],
        "end_to_end_id": entry.end_to_end_id,
        "bank_reference": entry.bank_reference,
        "import_key": entry.key,
        "remittance": entry.remittance or None,
        "reverses_id": match.get("reverses_id"),
        "created_at": now,
    }


def _insert(rows: list[dict[str, Any]], actor: Actor) -> set[int]:
    """Insert ``rows`` in one batch and audit each; return the plans they count towards."""
    if not rows:
        return set()
    inserted = db.session.execute(insert(Payment).returning(Payment.id, sort_by_parameter_order=True), rows)
    ids = list(inserted.scalars())
    events = [
        (
            PaymentAction.POSTED if row["status"] == PaymentStatus.POSTED else PaymentAction.UNMATCHED,
            ("payment", payment_id),
            _audit_after(row),
        )
        for payment_id, row in zip(ids, rows, strict=True)
    ]
    record_many(actor, events)
    return {row["plan_id"] for row in rows if row["plan_id"] is not None}


def _audit_after(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "amount": str(row["amount"]),
        "currency": row["currency"],
        "direction": row["direction"],
        "account_id": row["account_id"],
        "plan_id": row["plan_id"],
        "match_basis": row["match_basis"],
        "source": row["source"],
        "statement_id": row["statement_id"],
        "entry_reference": row["entry_reference"],
    }


def _original_of(entry: StatementEntry) -> Payment | None:
    """The payment ``entry`` reverses: the other direction, same amount and currency, not
    yet reversed, named by the end-to-end id or failing that by the bank's reference."""
    other = Direction.DEBIT if entry.direction == Direction.CREDIT else Direction.CREDIT
    base = select(Payment).where(
        Payment.direction == other,
        Payment.amount == entry.amount,
        Payment.currency == entry.currency,
        Payment.status != PaymentStatus.REVERSED,
        Payment.reverses_id.is_(None),
    )
    for column, value in ((Payment.end_to_end_id, entry.end_to_end_id), (Payment.bank_reference, entry.bank_reference)):
        if value:
            found = db.session.execute(base.where(column == value).order_by(Payment.id).limit(1)).scalar()
            if found is not None:
                return found
    return None


def _reverse(entry: StatementEntry, source: PaymentSource, now: Any, actor: Actor) -> tuple[bool, int | None]:
    """Record the reversal ``entry``; un-post what it reverses. Returns (applied, plan touched)."""
    original = _original_of(entry)
    if original is None:
        row = _row(
            entry,
            source,
            now,
            status=PaymentStatus.UNMATCHED,
            account_id=None,
            plan_id=None,
            basis=MatchBasis.ORIGINAL_NOT_FOUND,
        )
        _insert([row], actor)
        return False, None
    before = {"status": original.status}
    # Against a payment that was never on an account, the pair cancels out: nothing to review.
    status = PaymentStatus.POSTED if original.account_id else PaymentStatus.REVERSED
    row = _row(
        entry,
        source,
        now,
        status=status,
        account_id=original.account_id,
        plan_id=original.plan_id,
        basis=original.match_basis or MatchBasis.NO_REFERENCE,
        reverses_id=original.id,
    )
    _insert([row], actor)
    original.status = PaymentStatus.REVERSED
    db.session.flush()
    record(
        actor,
        PaymentAction.REVERSED,
        ("payment", original.id),
        before=before,
        after={"status": original.status, "by_entry": entry.entry_reference, "statement_id": entry.statement_id},
    )
    return True, original.plan_id


def reallocate_plan(plan_id: int) -> None:
    """Set each installment's ``paid`` from the plan's posted repayments, oldest due first."""
    installments = list(db.session.execute(select(PlanInstallment).where(PlanInstallment.plan_id == plan_id)).scalars())
    if not installments:
        return
    amounts = list(
        db.session.execute(
            select(Payment.amount)
            .where(
                Payment.plan_id == plan_id,
                Payment.status == PaymentStatus.POSTED,
                Payment.direction == Direction.CREDIT,
                Payment.reverses_id.is_(None),
            )
            .order_by(Payment.value_date, Payment.booking_date, Payment.id)
        ).scalars()
    )
    result = allocate([Due(i.number, i.due_date, i.total) for i in installments], amounts)
    for installment in installments:
        if installment.paid != result.paid[installment.number]:
            installment.paid = result.paid[installment.number]


def chunks(entries: Iterable[StatementEntry], size: int) -> Iterable[list[StatementEntry]]:
    """``entries`` in lists of ``size`` (the unit of one commit)."""
    chunk: list[StatementEntry] = []
    for entry in entries:
        chunk.append(entry)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
