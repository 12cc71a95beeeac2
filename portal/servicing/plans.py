"""Judging every active plan on the run date, in chunks, by its own frozen rules.

Plans are read by id (keyset, ``CHUNK`` at a time), their installments in one query per
chunk, and each is judged by ``portal.domain.plan_health.judge_plan`` with
``from_terms(plan.terms)``. A completed or broken plan leaves the active state with
``ended_at`` set to the start of the run date in the account's own time zone
(``records.day_start``): the same instant however often or late the day is run. Each
verdict writes a case-file event (why, which installments, how much) and an audit
event, in batches; one commit per chunk.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, select, update

from portal.accounts.models import CardAccount
from portal.audit.actions import Action, AuditAction
from portal.audit.service import record_many
from portal.bulk import among, bulk_insert
from portal.cases.models import CaseEvent, CaseEventKind
from portal.domain.missed_payment import from_terms
from portal.domain.money import round_money
from portal.domain.plan_health import Installment, InstallmentState, PlanHealth, PlanVerdict, judge_plan
from portal.extensions import db
from portal.integrations.core_banking.models import PlanEventKind
from portal.integrations.core_banking.plan_events import NewPlanEvent, emit_plan_events
from portal.locks import transaction_lock
from portal.plans.models import Plan, PlanInstallment, PlanState
from portal.servicing.as_of import as_of
from portal.servicing.broken import queue_broken_plan_messages
from portal.servicing.records import RUN_LOCK, SERVICING, case_row, day_start
from portal.unit_of_work import unit_of_work

CHUNK = 2_000


@dataclass
class PlanChunk:
    """What one chunk decided; the ids are what plan events and messages are sent for."""

    checked: int = 0
    completed: list[int] = field(default_factory=list)
    broken: list[int] = field(default_factory=list)


def judge_plans(day: date, chunk_size: int | None = None) -> list[PlanChunk]:
    """Judge every active plan on ``day``; one unit of work (and commit) per chunk."""
    chunks: list[PlanChunk] = []
    after = 0
    while True:
        with unit_of_work():
            transaction_lock(RUN_LOCK)  # two runs at once take turns; the second finds nothing left
            chunk, after = judge_chunk(day, after, chunk_size or CHUNK)
        if chunk is None:
            return chunks
        chunks.append(chunk)


def judge_chunk(
    day: date, after: int, size: int, only: list[int] | None = None, *, message: bool = True
) -> tuple[PlanChunk | None, int]:
    """Judge the next ``size`` active plans after id ``after`` (of ``only``, if given) in
    the caller's unit of work; None when none is left. ``message=False`` (the demo's past)
    queues no message to the cardholder of a plan that broke."""
    query = (
        select(Plan.id, Plan.account_id, Plan.terms, Plan.currency, CardAccount.time_zone)
        .join(CardAccount, CardAccount.id == Plan.account_id)
        .where(Plan.state == PlanState.ACTIVE, Plan.id > after)
    )
    if only is not None:
        query = query.where(Plan.id.in_(only))
    rows = db.session.execute(query.order_by(Plan.id).limit(size)).all()
    if not rows:
        return None, after
    installments: dict[int, list[Installment]] = defaultdict(list)
    found = db.session.execute(
        select(
            PlanInstallment.plan_id,
            PlanInstallment.number,
            PlanInstallment.due_date,
            PlanInstallment.total,
            PlanInstallment.paid,
        ).where(among(PlanInstallment.plan_id, [row.id for row in rows]))
    )
    for plan_id, number, due_date, total, paid in found:
        installments[plan_id].append(Installment(number, due_date, total, paid))
    installments = as_of(day, installments)  # a past day: without money booked after it
    chunk = PlanChunk(checked=len(rows))
    changes: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    audits: list[tuple[AuditAction, tuple[str, Any], dict[str, Any] | None]] = []
    verdicts: list[dict[str, Any]] = []
    for row in rows:
        items = installments[row.id]
        health = judge_plan(items, day, from_terms(row.terms))
        if health.verdict == PlanVerdict.ACTIVE:
            continue
        broken = health.verdict == PlanVerdict.BROKEN
        (chunk.broken if broken else chunk.completed).append(row.id)
        ended_at = day_start(day, row.time_zone)
        changes.append(
            {"id": row.id, "state": PlanState.BROKEN if broken else PlanState.COMPLETED, "ended_at": ended_at}
        )
        data = verdict_data(row.id, row.currency, day, items, health)
        verdicts.append(data)
        kind = CaseEventKind.PLAN_BROKEN if broken else CaseEventKind.PLAN_COMPLETED
        events.append(case_row(row.account_id, kind, data, ended_at))
        audits.append((Action.Plan.BROKEN if broken else Action.Plan.COMPLETED, ("plan", row.id), data))
    if changes:
        db.session.execute(update(Plan), changes)  # ORM bulk UPDATE by primary key
        bulk_insert(cast(Table, CaseEvent.__table__), events)
        record_many(SERVICING, audits)
        # What follows a verdict commits with it: the core system is told (plan events,
        # webhooks), and each cardholder whose plan broke gets the one calm message.
        emit_plan_events(
            [
                # Told now, when the core system learns it; ``ended_on`` is the day it acted as.
                NewPlanEvent(
                    change["id"],
                    PlanEventKind.BROKEN if change["state"] == PlanState.BROKEN else PlanEventKind.COMPLETED,
                    {"ended_on": data["day"], "reason": data["reason"], "paid": data["paid"]},
                )
                for change, data in zip(changes, verdicts, strict=True)
            ]
        )
        if message:
            queue_broken_plan_messages(chunk.broken)
    return chunk, rows[-1].id


def verdict_data(
    plan_id: int, currency: str, day: date, items: list[Installment], health: PlanHealth
) -> dict[str, Any]:
    """Why the plan ended, as the case file and the audit trail keep it (amounts as strings)."""
    overdue = (InstallmentState.LATE, InstallmentState.MISSED)
    missed = [i for i in sorted(items, key=lambda i: i.number) if health.states[i.number] in overdue]
    return {
        "plan_id": plan_id,
        "day": day.isoformat(),
        "reason": health.reason,
        "paid_count": health.paid_count,
        "count": health.count,
        "missed": [i.number for i in missed if health.states[i.number] == InstallmentState.MISSED],
        "unpaid": [
            {
                "number": i.number,
                "due_date": i.due_date.isoformat(),
                "owed": str(round_money(i.amount - i.paid, currency)),
            }
            for i in missed
        ],
        "paid": str(round_money(sum((i.paid for i in items), Decimal(0)), currency)),
    }
