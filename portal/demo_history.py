"""Demo accounts with a past: a plan being kept, one broken, one completed, a promise kept
and one broken (``portal.demo`` adds them after the other demo accounts).

Each story is written as it happened: the plan accepted months ago with the default
rules frozen into it, repayments from the core system booked on their days and allocated
to the installments, then judged by the servicing run's own chunk functions on the first
day its rules decided (the day a daily run would have), so its state, ``ended_at``, case
file and audit trail are what the run writes. Cheap: the day is found in pure Python.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import update

from portal.accounts.models import CardAccount
from portal.agreements.service import create_pending_agreement
from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.cases.models import CaseEvent, CaseEventKind
from portal.cases.service import add_event, record_promise
from portal.domain.dates import add_months
from portal.domain.missed_payment import DEFAULT_MISSED_PAYMENT_RULES, to_terms
from portal.domain.money import round_money
from portal.domain.plan_health import Installment, PlanVerdict, PromiseVerdict, judge_plan, judge_promise
from portal.domain.quote import quote
from portal.domain.schedule import PlanType, Pricing
from portal.domain.terms import PlanTerms, fingerprint
from portal.extensions import db
from portal.payments.models import Payment
from portal.payments.service import reallocate_plans
from portal.plans.models import Plan, PlanInstallment, PlanState, Signature
from portal.plans.service import CONSENT_VERSION, as_json, consent_sha256
from portal.policies.service import active_version
from portal.servicing import plans as plan_run
from portal.servicing import promises as promise_run

# Demo serial → its story. (How many installments are paid; a promise's share paid.)
STORIES = {13: "plan_kept", 14: "plan_broken", 15: "plan_completed", 16: "promise_kept", 17: "promise_broken"}
FEE = Decimal("0.006")
ZERO = Decimal(0)
ONE_DAY = timedelta(days=1)


def add_history(account: CardAccount, serial: int, today: date) -> None:
    """Give the new demo account ``serial`` its story, judged up to ``today``."""
    story = STORIES.get(serial)
    if story == "plan_kept":  # accepted 100 days ago, every installment paid on its day
        _plan(account, today, today - timedelta(days=100), months=12, paying=12)
    elif story == "plan_broken":  # paid the first installment, then nothing
        _plan(account, today, today - timedelta(days=150), months=12, paying=1)
    elif story == "plan_completed":  # three installments, all paid
        _plan(account, today, today - timedelta(days=130), months=3, paying=3)
    elif story == "promise_kept":
        _promise(account, today, share=Decimal(1))
    elif story == "promise_broken":
        _promise(account, today, share=Decimal("0.4"))


def _plan(account: CardAccount, today: date, accepted: date, *, months: int, paying: int) -> None:
    version = active_version(account.currency)
    terms = PlanTerms(PlanType.INSTALLMENT, months=months, pricing=Pricing.MONTHLY_FEE, rate=FEE)
    result = quote(
        "installment",
        amount=round_money(account.balance, account.currency),
        currency=account.currency,
        first_due=add_months(accepted, 1),
        months=months,
        monthly_fee_rate=FEE,
    )
    tier = version.policy.tier_for(account.days_past_due, account.balance)
    signed = datetime.combine(accepted, time(10), UTC)
    plan = Plan(
        account_id=account.id,
        policy_version_id=version.id,
        plan_type="installment",
        state=PlanState.ACTIVE,
        tier=tier.name if tier else "M1",
        terms={**as_json(terms), **to_terms(DEFAULT_MISSED_PAYMENT_RULES)},
        fingerprint=fingerprint(terms, result),
        currency=account.currency,
        balance_at_acceptance=result.amount,
        balance_parts={part: str(getattr(account, part)) for part in ("principal", "interest", "fees", "late_fees")},
        total_repaid=result.total_repaid,
        total_cost=result.total_cost,
        waived=as_json(result.waived),
        apr=result.apr.quantize(Decimal("0.000001")),
        ear=result.ear.quantize(Decimal("0.000001")),
        locale=account.cardholder.locale,
        created_at=signed,
        accepted_at=signed,
        installments=[
            PlanInstallment(number=i.number, due_date=i.due_date, principal=i.principal, charge=i.charge, total=i.total)
            for i in result.installments
        ],
    )
    db.session.add(plan)
    db.session.flush()
    db.session.add(_signature(plan, account, signed))
    create_pending_agreement(plan)
    accepted_entry = add_event(
        account.id, CaseEventKind.PLAN_ACCEPTED, Actor.cardholder(account.id), {"plan": plan.id, "type": "installment"}
    )
    accepted_entry.created_at = signed  # on the timeline where it happened
    record(Actor.cardholder(account.id), Action.Plan.ACCEPTED, ("plan", plan.id), after={"type": "installment"})
    paid_on = {i.number: i.due_date for i in result.installments[:paying] if i.due_date <= today}
    for item in result.installments:
        if item.number in paid_on:
            _pay(account, item.total, item.due_date, plan.id)
    db.session.flush()
    reallocate_plans([plan.id])

    def decided(day: date) -> bool:  # each installment paid on its due date: what was paid by ``day``
        items = [
            Installment(i.number, i.due_date, i.total, i.total if paid_on.get(i.number, day + ONE_DAY) <= day else ZERO)
            for i in result.installments
        ]
        return judge_plan(items, day, DEFAULT_MISSED_PAYMENT_RULES).verdict != PlanVerdict.ACTIVE

    day = _first_day(accepted, today, decided)
    if day is not None:
        # A demo loaded today has no one to tell about a day gone by: no message is queued.
        plan_run.judge_chunk(day, 0, 1, only=[plan.id], message=False)


def _signature(plan: Plan, account: CardAccount, signed: datetime) -> Signature:
    return Signature(
        plan_id=plan.id,
        typed_name=account.cardholder.full_name,
        consent_version=CONSENT_VERSION,
        consent_sha256=consent_sha256(f"demo consent {CONSENT_VERSION}"),
        signed_at=signed,
        time_zone=account.time_zone,
        locale=account.cardholder.locale,
        offer_fingerprint=plan.fingerprint,
    )


def _promise(account: CardAccount, today: date, share: Decimal) -> None:
    made, pay_by = today - timedelta(days=20), today - timedelta(days=10)
    amount = round_money(account.overdue_amount / 2, account.currency)
    promise = record_promise(account.id, amount, account.currency, pay_by, Actor.cardholder(account.id))
    promise.created_at = datetime.combine(made, time(4), UTC)
    db.session.execute(  # its case-file entry too, on the timeline where it happened
        update(CaseEvent)
        .where(CaseEvent.account_id == account.id, CaseEvent.kind == CaseEventKind.PROMISE)
        .values(created_at=promise.created_at),
        execution_options={"synchronize_session": False},
    )
    paid = round_money(amount * share, account.currency)
    paid_on = pay_by - timedelta(days=2)
    _pay(account, paid, paid_on, None)
    db.session.flush()

    def decided(day: date) -> bool:
        so_far = paid if day >= paid_on else ZERO
        return judge_promise(amount, pay_by, so_far, day, promise_run.SETTLE_DAYS) != PromiseVerdict.OPEN

    day = _first_day(made, today, decided)
    if day is not None:
        promise_run.judge_chunk(day, 0, 1, promise_run.PromiseCounts(), only=[promise.id])


def _pay(account: CardAccount, amount: Decimal, day: date, plan_id: int | None) -> None:
    paid_at = datetime.combine(day, time(3), UTC)
    db.session.add(
        Payment(
            account_id=account.id,
            plan_id=plan_id,
            paid_at=paid_at,
            booking_date=day,
            value_date=day,
            amount=amount,
            currency=account.currency,
            method="bank_transfer",
            created_at=paid_at,
        )
    )


def _first_day(start: date, today: date, decided: Callable[[date], bool]) -> date | None:
    """The first day from ``start`` to ``today`` on which ``decided`` holds (the day a run would act)."""
    day = start
    while day <= today:
        if decided(day):
            return day
        day += timedelta(days=1)
    return None
