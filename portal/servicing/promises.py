"""Judging every open promise to pay on the run date.

What counts towards a promise is the account's repayments (``counts_as_repayment``)
booked from the day it was made (in the account's time zone) up to the run date; a
payment booked after the run date does not count, so a day run late judges as the day
itself would have. ``SETTLE_DAYS`` is 1: a transfer the cardholder makes on the promised
day is often booked by the bank the next day, and a promise kept that way is kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select, update

from portal.accounts.models import CardAccount
from portal.audit.actions import Action, AuditAction
from portal.audit.service import record_many
from portal.bulk import among, bulk_insert
from portal.cases.models import CaseEvent, CaseEventKind, Promise, PromiseState
from portal.domain.money import round_money
from portal.domain.plan_health import PromiseVerdict, judge_promise
from portal.extensions import db
from portal.locks import transaction_lock
from portal.payments.models import Payment, counts_as_repayment
from portal.servicing.records import RUN_LOCK, SERVICING, case_row, day_start
from portal.unit_of_work import unit_of_work

CHUNK = 2_000
SETTLE_DAYS = 1


@dataclass
class PromiseCounts:
    checked: int = 0
    kept: int = 0
    broken: int = 0


def judge_promises(day: date, chunk_size: int | None = None) -> PromiseCounts:
    """Judge every open promise on ``day``; one unit of work (and commit) per chunk."""
    counts = PromiseCounts()
    after: int | None = 0
    while after is not None:
        with unit_of_work():
            transaction_lock(RUN_LOCK)
            after = judge_chunk(day, after, chunk_size or CHUNK, counts)
    return counts


def judge_chunk(day: date, after: int, size: int, counts: PromiseCounts, only: list[int] | None = None) -> int | None:
    """Judge the next ``size`` open promises after id ``after`` (of ``only``, if given) in
    the caller's unit of work; the last id judged, or None when none is left."""
    query = (
        select(
            Promise.id,
            Promise.account_id,
            Promise.amount,
            Promise.currency,
            Promise.pay_by,
            Promise.created_at,
            CardAccount.time_zone,
        )
        .join(CardAccount, CardAccount.id == Promise.account_id)
        .where(Promise.state == PromiseState.OPEN, Promise.id > after)
    )
    if only is not None:
        query = query.where(Promise.id.in_(only))
    rows = db.session.execute(query.order_by(Promise.id).limit(size)).all()
    if not rows:
        return None
    counts.checked += len(rows)
    paid_towards = _paid(rows, day)
    changes: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    audits: list[tuple[AuditAction, tuple[str, Any], dict[str, Any] | None]] = []
    for row in rows:
        paid = paid_towards[row.id]
        verdict = judge_promise(row.amount, row.pay_by, paid, day, SETTLE_DAYS)
        if verdict == PromiseVerdict.OPEN:
            continue
        kept = verdict == PromiseVerdict.KEPT
        counts.kept += kept
        counts.broken += not kept
        changes.append({"id": row.id, "state": PromiseState.KEPT if kept else PromiseState.BROKEN})
        data = {
            "promise": row.id,
            "day": day.isoformat(),
            "amount": str(round_money(row.amount, row.currency)),
            "pay_by": row.pay_by.isoformat(),
            "paid": str(round_money(paid, row.currency)),
        }
        kind = CaseEventKind.PROMISE_KEPT if kept else CaseEventKind.PROMISE_BROKEN
        events.append(case_row(row.account_id, kind, data, day_start(day, row.time_zone)))
        audits.append((Action.Promise.KEPT if kept else Action.Promise.BROKEN, ("promise", row.id), data))
    if changes:
        db.session.execute(update(Promise), changes)  # ORM bulk UPDATE by primary key
        bulk_insert(cast(Table, CaseEvent.__table__), events)
        record_many(SERVICING, audits)
    return int(rows[-1].id)


def paid_since_made(promise_ids: Sequence[int], day: date) -> dict[int, Decimal]:
    """What has come in towards each promise by ``day``: the one reading of it, for the
    run's verdict and for the amount a reminder says is still to pay."""
    rows = db.session.execute(
        select(Promise.id, Promise.account_id, Promise.created_at, CardAccount.time_zone)
        .join(CardAccount, CardAccount.id == Promise.account_id)
        .where(among(Promise.id, list(promise_ids)))
    ).all()
    return _paid(rows, day)


def _paid(rows: Sequence[Any], day: date) -> dict[int, Decimal]:
    """Repayments booked on each promise's account from the day it was made (in the
    account's time zone) up to ``day``; ``rows`` carry id, account_id, created_at, time_zone."""
    if not rows:
        return {}
    made_on = {row.id: row.created_at.astimezone(ZoneInfo(row.time_zone)).date() for row in rows}
    booked: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    found = db.session.execute(
        select(Payment.account_id, Payment.booking_date, Payment.amount).where(
            among(Payment.account_id, {row.account_id for row in rows}),
            counts_as_repayment(),
            Payment.booking_date >= min(made_on.values()),
            Payment.booking_date <= day,
        )
    )
    for account_id, booking_date, amount in found:
        booked[account_id].append((booking_date, amount))
    return {
        row.id: sum((amount for on, amount in booked[row.account_id] if on >= made_on[row.id]), Decimal(0))
        for row in rows
    }
