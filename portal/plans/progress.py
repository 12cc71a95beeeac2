"""How a plan stands today, in the words the cardholder's account page and the care case
file share: "3 of 12 payments made", the next payment and what is still due on it, late
and missed payments, a completed plan, a broken plan and why.

The judging is the domain's (``portal.domain.plan_health.judge_plan``, by the rules
frozen into the plan); this module only reads the plan's installments into it and puts
the verdict into words. Calm words: a late payment is "late", never "in default".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Select, Text, bindparam, cast, select

from portal.agreements.models import Agreement
from portal.db_types import one_of
from portal.domain.missed_payment import MissedPaymentRules, from_terms
from portal.domain.plan_health import Installment, InstallmentState, PlanHealth, PlanVerdict, judge_plan
from portal.extensions import db
from portal.i18n import gettext as _
from portal.i18n import ngettext
from portal.plans.models import OPEN_STATES, Plan, PlanInstallment, PlanState

# Plans whose progress is worth showing: open ones, and how the last one ended.
SHOWN_STATES = (*OPEN_STATES, PlanState.COMPLETED, PlanState.BROKEN)
JUDGED_STATES = (PlanState.ACTIVE, PlanState.COMPLETED, PlanState.BROKEN)

__all__ = [
    "SHOWN_STATES",
    "InstallmentLine",
    "PlanProgress",
    "ShownAgreement",
    "ShownInstallment",
    "ShownPlan",
    "broken_reason_text",
    "latest_plan",
    "plan_progress",
]


@dataclass(frozen=True)
class InstallmentLine:
    """One installment as the pages show it."""

    number: int
    due_date: date
    amount: Decimal
    paid: Decimal
    state: InstallmentState
    on_time_until: date  # paying by then still counts as on time (the grace days)

    @property
    def still_due(self) -> Decimal:
        return max(self.amount - self.paid, Decimal(0))


@dataclass(frozen=True)
class PlanProgress:
    """A plan judged on ``today``: counts, the next payment, late and missed ones, why it broke."""

    plan: Plan | ShownPlan
    agreement: Agreement | ShownAgreement | None
    today: date
    rules: MissedPaymentRules
    health: PlanHealth | None  # None for a plan not running yet (waiting for approval or signature)
    lines: list[InstallmentLine]
    broken_reason: str | None  # "missed_in_a_row" or "days_late": the case event's, else the judged one

    @property
    def state(self) -> str:
        return self.plan.state

    @property
    def paid(self) -> int:
        return self.health.paid_count if self.health else 0

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def next_due(self) -> InstallmentLine | None:
        return next((line for line in self.lines if line.state != InstallmentState.PAID), None)

    @property
    def late(self) -> list[InstallmentLine]:
        return [line for line in self.lines if line.state == InstallmentState.LATE]

    @property
    def missed(self) -> list[InstallmentLine]:
        return [line for line in self.lines if line.state == InstallmentState.MISSED]

    @property
    def behind(self) -> Decimal:
        """What is still due on late and missed payments together."""
        return sum((line.still_due for line in self.late + self.missed), Decimal(0))

    @property
    def judged_broken(self) -> bool:
        """Active on file, but broken by its rules today (the daily run will mark it)."""
        return self.state == PlanState.ACTIVE and self.health is not None and self.health.verdict == PlanVerdict.BROKEN

    def summary(self) -> str:
        """ "3 of 12 payments made"."""
        return ngettext(
            "%(paid)s of %(num)s payment made", "%(paid)s of %(num)s payments made", self.count, paid=self.paid
        )

    def reason_text(self) -> str:
        return broken_reason_text(self.broken_reason, self.rules)


def plan_progress(
    plan: Plan | ShownPlan,
    today: date,
    agreement: Agreement | ShownAgreement | None = None,
    broken_reason: str | None = None,
) -> PlanProgress:
    """Judge ``plan`` (its installments already loaded) on ``today``.

    ``broken_reason`` is what the daily run wrote on the case file when it broke the plan;
    without it, the reason is the one judging the installments today gives.
    """
    rules = from_terms(plan.terms)
    items = [Installment(i.number, i.due_date, i.total, i.paid) for i in plan.installments]
    health = judge_plan(items, today, rules) if plan.state in JUDGED_STATES else None
    grace = timedelta(days=rules.grace_days)
    lines = [
        InstallmentLine(
            i.number,
            i.due_date,
            i.amount,
            i.paid,
            health.states[i.number] if health else InstallmentState.UPCOMING,
            i.due_date + grace,
        )
        for i in sorted(items, key=lambda i: (i.due_date, i.number))
    ]
    reason = broken_reason if broken_reason in ("missed_in_a_row", "days_late") else None
    if reason is None and health is not None and (plan.state == PlanState.BROKEN or health.reason):
        reason = health.reason
    return PlanProgress(plan, agreement, today, rules, health, lines, reason)


@dataclass(frozen=True)
class ShownInstallment:
    """An installment as :func:`plan_progress` reads it."""

    number: int
    due_date: date
    total: Decimal
    paid: Decimal


@dataclass(frozen=True)
class ShownPlan:
    """The plan the account page shows, as :func:`plan_progress` and the page read it:
    plain values from one query, not ORM rows (a 60-month plan is 61 objects to build)."""

    id: int
    state: str
    plan_type: str
    terms: dict[str, Any]
    installments: tuple[ShownInstallment, ...]


@dataclass(frozen=True)
class ShownAgreement:
    """The plan's agreement, as the account page links it."""

    reference: str
    state: str


def latest_plan(account_id: int) -> tuple[ShownPlan, ShownAgreement | None] | None:
    """The account's open plan, or else how its last plan ended (completed or broken),
    with its installments and agreement, in one query."""
    rows = db.session.execute(_latest_plan_query(), {"account_id": account_id}).all()
    if not rows:
        return None
    first = rows[0]
    installments = tuple(
        ShownInstallment(row.number, row.due_date, row.total, row.paid) for row in rows if row.number is not None
    )
    # The terms travel as text, one copy per installment row: read once, as the JSON column reads them.
    plan = ShownPlan(first.id, first.state, first.plan_type, json.loads(first.terms), installments)
    agreement = ShownAgreement(first.reference, first.agreement_state) if first.reference is not None else None
    return plan, agreement


@cache
def _latest_plan_query() -> Select[Any]:
    # Built once: building it costs more per request than running it (the account page).
    newest = (
        select(Plan.id)
        .where(Plan.account_id == bindparam("account_id"), one_of(Plan.state, SHOWN_STATES))
        .order_by(Plan.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            Plan.id,
            Plan.state,
            Plan.plan_type,
            cast(Plan.terms, Text).label("terms"),
            Agreement.reference,
            Agreement.state.label("agreement_state"),
            PlanInstallment.number,
            PlanInstallment.due_date,
            PlanInstallment.total,
            PlanInstallment.paid,
        )
        .outerjoin(Agreement, Agreement.plan_id == Plan.id)
        .outerjoin(PlanInstallment, PlanInstallment.plan_id == Plan.id)
        .where(Plan.id == newest)
        .order_by(PlanInstallment.number)
    )


def broken_reason_text(reason: str | None, rules: MissedPaymentRules) -> str:
    """Why a plan broke, in plain words (the agreement's rules, with the plan's numbers)."""
    if reason == "missed_in_a_row":
        n = rules.break_missed_in_a_row
        return ngettext("%(num)s payment was not made.", "%(num)s payments in a row were not made.", n)
    if reason == "days_late":
        n = rules.break_days_late
        return ngettext("A payment was more than %(num)s day late.", "A payment was more than %(num)s days late.", n)
    return _("Payments were not made as the plan set out.")
