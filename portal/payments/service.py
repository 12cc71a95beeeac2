"""Posting statement entries: idempotent, matched, audited, reversals un-posting.

:func:`post_entries` takes one chunk of parsed entries and FLUSHES; the caller (the CLI
command, the API's view) commits once per chunk. An entry already imported (same
``import_key``) is a duplicate and changes nothing, and so is one the bank reported before
under another statement (same bank reference, direction, amount and currency: a camt.054
notification, then the camt.053 statement). New rows go in with one batched INSERT and
one batched audit write per chunk; reversals are looked up and applied per chunk too, so
a statement of 100,000 entries costs a few queries per 2,000 entries.

Balances are not touched here: the core system is their source of truth and sends
snapshots. A payment on a plan re-allocates that plan's installments (oldest first,
``portal.domain.allocation``), so a reversal takes its money back out of them too. An
installment paid in full is announced to the core system as an ``installment_paid`` plan
event, once (a reversal un-pays it silently; paying it again is not announced again).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, or_, select, update

from portal.audit.actions import Action, AuditAction
from portal.audit.service import Actor, record_many
from portal.bulk import among, bulk_insert
from portal.db_types import utcnow
from portal.domain.allocation import Due, allocate
from portal.extensions import db
from portal.integrations.core_banking.models import PlanEventKind
from portal.integrations.core_banking.plan_events import NewPlanEvent, emit_plan_events
from portal.locks import transaction_lock
from portal.payments.entries import StatementEntry
from portal.payments.matching import Directory, candidates
from portal.payments.models import (
    Direction,
    MatchBasis,
    Payment,
    PaymentSource,
    PaymentStatus,
    counts_as_repayment,
)
from portal.plans.models import PlanInstallment


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
    # Two imports (of the same file, or of two files that share entries) take turns, so
    # the second sees the first's rows as duplicates instead of failing on the unique key.
    transaction_lock("payments:import")
    counts = ImportCounts()
    keys = [e.key for e in entries]
    known = set(db.session.execute(select(Payment.import_key).where(among(Payment.import_key, keys))).scalars())
    reported = _Reported.load(entries)
    fresh: list[tuple[StatementEntry, str]] = []  # with its key: a digest, computed once
    for entry, key in zip(entries, keys, strict=True):
        credit = entry.direction == Direction.CREDIT
        counts.entries += credit
        counts.debits += not credit
        if key in known or reported.before(entry):
            counts.duplicates += credit
            continue
        known.add(key)  # the same entry twice in one file is one payment
        fresh.append((entry, key))
    plain = [(e, key) for e, key in fresh if not e.reversal]
    found = [candidates(e) for e, _key in plain]
    directory = Directory.load(found)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for (entry, key), names in zip(plain, found, strict=True):
        match = directory.match(names, entry.currency)
        status = PaymentStatus.POSTED if match.account_id else PaymentStatus.UNMATCHED
        if entry.direction == Direction.CREDIT:
            counts.posted += status == PaymentStatus.POSTED
            counts.unmatched += status == PaymentStatus.UNMATCHED
        rows.append(_row(entry, key, source, now, status, match.account_id, match.plan_id, match.basis))
    _insert(rows, actor)
    plans = {row["plan_id"] for row in rows if row["plan_id"] is not None}
    plans |= _reverse([e for e, _key in fresh if e.reversal], source, now, actor, counts)
    reallocate_plans(plans)
    db.session.flush()
    return counts


@dataclass
class _Reported:
    """Payments already recorded, by the bank's own reference (``AcctSvcrRef``).

    The same payment is reported by the day's camt.054 notification and again by the
    evening's camt.053 statement: two statement ids, so two import keys, but the bank
    gives it one reference. An entry whose bank reference, direction, amount and currency
    are those of a payment recorded from *another* statement is that payment again. Within
    one statement, equal entries are distinct transactions (a batch entry shares its
    reference among its transactions); so each recorded payment stands for at most one
    entry per other statement, and payments of the chunk itself count too.
    """

    statements: dict[tuple[str, str, Decimal, str], list[str]] = dataclass_field(default_factory=dict)
    taken: Counter[tuple[tuple[str, str, Decimal, str], str]] = dataclass_field(default_factory=Counter)

    @classmethod
    def load(cls, entries: Sequence[StatementEntry]) -> _Reported:
        reported = cls()
        references = sorted({e.bank_reference for e in entries if e.bank_reference})
        if references:
            rows = db.session.execute(
                select(
                    Payment.bank_reference, Payment.direction, Payment.amount, Payment.currency, Payment.statement_id
                ).where(among(Payment.bank_reference, references))
            )
            for reference, direction, amount, currency, statement in rows:
                reported.statements.setdefault((reference, direction, amount, currency), []).append(statement or "")
        return reported

    def before(self, entry: StatementEntry) -> bool:
        """Whether ``entry`` is a payment recorded before; if not, it is recorded now."""
        if not entry.bank_reference:
            return False
        group = (entry.bank_reference, str(entry.direction), entry.amount, entry.currency)
        statement = entry.statement_id[:35]  # as payments.statement_id keeps it
        recorded = self.statements.setdefault(group, [])
        others = sum(1 for s in recorded if s != statement)
        if self.taken[group, statement] < others:
            self.taken[group, statement] += 1
            return True
        recorded.append(statement)
        return False


def _row(
    entry: StatementEntry,
    key: str,
    source: PaymentSource,
    now: datetime,
    status: PaymentStatus,
    account_id: int | None,
    plan_id: int | None,
    basis: str | None,
    reverses_id: int | None = None,
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "plan_id": plan_id,
        "status": str(status),
        "match_basis": basis,
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
        "import_key": key,
        "remittance": entry.remittance or None,
        "reverses_id": reverses_id,
        "created_at": now,
    }


_PAYMENTS = cast(Table, Payment.__table__)


def _insert(rows: list[dict[str, Any]], actor: Actor) -> None:
    """Insert ``rows`` in one batch (Core: no ORM objects for 100,000 rows) and audit each."""
    if not rows:
        return
    # COPY (or executemany), then the ids by key: a RETURNING insert becomes one huge
    # multi-row statement that the driver re-parses every time.
    bulk_insert(_PAYMENTS, rows)
    keys = [row["import_key"] for row in rows]
    found = db.session.execute(select(Payment.import_key, Payment.id).where(among(Payment.import_key, keys)))
    ids: dict[str | None, int] = {key: payment_id for key, payment_id in found}
    events = [
        (
            Action.Payment.POSTED if row["status"] == PaymentStatus.POSTED else Action.Payment.UNMATCHED,
            ("payment", ids[row["import_key"]]),
            _audit_after(row),
        )
        for row in rows
    ]
    record_many(actor, events)


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
        "reverses_id": row["reverses_id"],
    }


def _originals(reversals: list[StatementEntry]) -> dict[int, Payment]:
    """The payment each reversal (by index) reverses: the other direction, same amount and
    currency, not reversed yet, named by the end-to-end id or failing that the bank's reference."""
    e2e = {e.end_to_end_id for e in reversals if e.end_to_end_id}
    banks = {e.bank_reference for e in reversals if e.bank_reference}
    if not e2e and not banks:
        return {}
    candidates_ = list(
        db.session.execute(
            select(Payment)
            .where(
                or_(Payment.end_to_end_id.in_(e2e), Payment.bank_reference.in_(banks)),
                Payment.status != PaymentStatus.REVERSED,
                Payment.reverses_id.is_(None),
            )
            .order_by(Payment.id)
        ).scalars()
    )
    taken: set[int] = set()
    found: dict[int, Payment] = {}
    for index, entry in enumerate(reversals):
        for field in ("end_to_end_id", "bank_reference"):
            value = getattr(entry, field)
            original = next(
                (
                    p
                    for p in candidates_
                    if value
                    and getattr(p, field) == value
                    and p.id not in taken
                    and p.direction != entry.direction
                    and p.amount == entry.amount
                    and p.currency == entry.currency
                ),
                None,
            )
            if original is not None:
                found[index] = original
                taken.add(original.id)
                break
    return found


def _reverse(
    reversals: list[StatementEntry], source: PaymentSource, now: datetime, actor: Actor, counts: ImportCounts
) -> set[int]:
    """Record the reversal entries and un-post what they reverse; return the plans touched."""
    if not reversals:
        return set()
    originals = _originals(reversals)
    rows: list[dict[str, Any]] = []
    events: list[tuple[AuditAction, tuple[str, Any], dict[str, Any] | None]] = []
    for index, entry in enumerate(reversals):
        original = originals.get(index)
        applied = original is not None
        counts.reversed += applied
        if entry.direction == Direction.CREDIT:
            counts.posted += applied
            counts.unmatched += not applied
        if original is None:
            unknown = MatchBasis.ORIGINAL_NOT_FOUND
            rows.append(_row(entry, entry.key, source, now, PaymentStatus.UNMATCHED, None, None, unknown))
            continue
        # Against a payment that was never on an account, the pair cancels out: nothing to review.
        status = PaymentStatus.POSTED if original.account_id else PaymentStatus.REVERSED
        basis = original.match_basis
        account_id, plan_id = original.account_id, original.plan_id
        rows.append(_row(entry, entry.key, source, now, status, account_id, plan_id, basis, original.id))
        after = {"status": str(PaymentStatus.REVERSED), "was": original.status, "by": entry.entry_reference}
        events.append((Action.Payment.REVERSED, ("payment", original.id), after))
    _insert(rows, actor)
    ids = [original.id for original in originals.values()]
    db.session.execute(
        update(Payment).where(Payment.id.in_(ids)).values(status=PaymentStatus.REVERSED),
        execution_options={"synchronize_session": "fetch"},
    )
    record_many(actor, events)
    return {o.plan_id for o in originals.values() if o.plan_id is not None}


def reallocate_plans(plan_ids: Iterable[int]) -> None:
    """Set each installment's ``paid`` from its plan's posted repayments, oldest due first."""
    ids = sorted(set(plan_ids))
    if not ids:
        return
    dues: dict[int, list[tuple[int, Due, Decimal]]] = defaultdict(list)
    rows = db.session.execute(
        select(
            PlanInstallment.id,
            PlanInstallment.plan_id,
            PlanInstallment.number,
            PlanInstallment.due_date,
            PlanInstallment.total,
            PlanInstallment.paid,
        ).where(among(PlanInstallment.plan_id, ids))
    )
    for installment_id, plan_id, number, due_date, total, paid in rows:
        dues[plan_id].append((installment_id, Due(number, due_date, total), paid))
    paid_in: dict[int, list[Decimal]] = defaultdict(list)
    amounts = db.session.execute(
        select(Payment.plan_id, Payment.amount)
        .where(
            among(Payment.plan_id, ids),
            counts_as_repayment(),
        )
        .order_by(Payment.plan_id, Payment.value_date, Payment.booking_date, Payment.id)
    )
    for plan_id, amount in amounts:
        paid_in[plan_id].append(amount)
    changes: list[dict[str, Any]] = []
    paid_off: list[NewPlanEvent] = []
    for plan_id, installments in dues.items():
        result = allocate([due for _, due, _ in installments], paid_in[plan_id])
        for installment_id, due, paid in installments:
            now_paid = result.paid[due.number]
            if paid != now_paid:
                changes.append({"id": installment_id, "paid": now_paid})
            if paid < due.amount <= now_paid:
                data = {"due_date": due.due_date, "amount": due.amount, "paid": now_paid}
                paid_off.append(NewPlanEvent(plan_id, PlanEventKind.INSTALLMENT_PAID, data, installment=due.number))
    if changes:
        db.session.execute(update(PlanInstallment), changes)  # ORM bulk UPDATE by primary key
    # The core system hears of each installment paid in full, once (see plan_events).
    emit_plan_events(paid_off)
