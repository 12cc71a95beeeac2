"""What a simulated cardholder does, each step one unit of work through the service the
page's view calls (`portal.simulate.play` decides which step, by the behaviour model).
Each returns what the simulator needs to remember, or None when the portal refused."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.agreements.models import Agreement
from portal.audit.service import Actor
from portal.cases import service as cases
from portal.domain.promise import check_promise, minimum_promise
from portal.extensions import db
from portal.links.service import LinkError, mark_accepted
from portal.notifications.confirmations import promise_recorded
from portal.offers.adapter import snapshot
from portal.plans import requests
from portal.plans import service as plans
from portal.plans.models import PlanInstallment
from portal.policies.cache import load_policy
from portal.policies.service import active_version
from portal.simulate.book import SimAccount
from portal.unit_of_work import discard_after_commit, unit_of_work

CONSENT = "Simulated cardholder consent"
USER_AGENT = "simulator"


def _evidence(account: CardAccount) -> plans.Evidence:
    """The signature a cardholder types: their name as the book recorded it."""
    return plans.Evidence(account.cardholder.full_name, CONSENT, None, USER_AGENT, account.cardholder.locale)


def _account(account_id: int) -> CardAccount:
    account = db.session.get(CardAccount, account_id)
    assert account is not None
    return account


def accept(sim: SimAccount, fingerprint: str, link_id: int, day: date) -> int | str:
    """Accept and sign the offer through the link; the plan's id, or the refusal's code."""
    actor = Actor.cardholder(sim.account_id)
    try:
        with unit_of_work():
            evidence = _evidence(_account(sim.account_id))
            plan, _created = plans.accept_offer(sim.account_id, fingerprint, evidence, actor, day, channel="link")
            mark_accepted(link_id, plan.id, actor)
            discard_after_commit()  # the agreement stays pending: see portal.simulate.play
            return plan.id
    except (plans.PlanError, LinkError) as refused:
        return refused.code


def request(sim: SimAccount, fingerprint: str, day: date, proposed_monthly: Decimal) -> int | str:
    """Ask for the offer that needs approval, with the persona's reason; the plan's id or the refusal's code."""
    try:
        with unit_of_work():
            account = _account(sim.account_id)
            plan, _created = requests.request_plan(
                sim.account_id,
                fingerprint,
                sim.persona.reason,
                Actor.cardholder(sim.account_id),
                day,
                account.cardholder.locale,
                proposed_monthly,
            )
            return plan.id
    except plans.PlanError as refused:
        return refused.code


def sign(sim: SimAccount, plan_id: int) -> Decimal | str:
    """Sign an approved plan; its largest monthly payment, or the refusal's code."""
    try:
        with unit_of_work():
            evidence = _evidence(_account(sim.account_id))
            plan = plans.sign_approved(plan_id, sim.account_id, evidence, Actor.cardholder(sim.account_id))
            discard_after_commit()
            return max(i.total for i in plan.installments)
    except plans.PlanError as refused:
        return refused.code


def plan_dues(plan_id: int) -> tuple[str | None, list[tuple[int, date, Decimal]]]:
    """The plan's agreement reference (quoted when paying) and its installments."""
    with unit_of_work():
        reference = db.session.execute(select(Agreement.reference).where(Agreement.plan_id == plan_id)).scalar()
        rows = db.session.execute(
            select(PlanInstallment.number, PlanInstallment.due_date, PlanInstallment.total)
            .where(PlanInstallment.plan_id == plan_id)
            .order_by(PlanInstallment.number)
        ).all()
    return reference, [(number, due, total) for number, due, total in rows]


def promise(sim: SimAccount, day: date, capacity: Decimal, days: int) -> tuple[int, Decimal, date] | None:
    """Promise the policy's minimum share of the overdue amount, or as much of it as
    ``capacity`` allows, within ``days`` (the policy's limit at most); with the
    confirmation the journey sends. Its id, amount and date, or None if not possible."""
    actor = Actor.cardholder(sim.account_id)
    with unit_of_work():
        account = _account(sim.account_id)
        policy = load_policy(active_version(account.currency))
        least = minimum_promise(account.overdue_amount, policy.promise_min_share, account.currency)
        amount = min(max(least, capacity.quantize(Decimal("0.01"))), account.overdue_amount)
        pay_by = day + timedelta(days=min(days, policy.promise_max_days))
        if check_promise(snapshot(account), policy, amount, pay_by, day):
            return None
        made = cases.record_promise(sim.account_id, amount, account.currency, pay_by, actor)
        promise_recorded(account, made.amount, made.pay_by, actor)
        return made.id, amount, pay_by
