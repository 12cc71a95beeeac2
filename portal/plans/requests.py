"""Requests for plans that need a supervisor: asking, withdrawing, deciding.

Any offer that needs approval (settlement, relief, installment or personalised) can be
requested. The request carries the cardholder's reason, the budget from the case file
and, for a personalised plan, the monthly amount they propose. A supervisor decides on
exactly what they were shown: the decision carries `request_digest` of the request as
rendered, and is refused (``changed``) if the request differs now. A dispute (or any of
the policy's blocking flags) pauses approval. A personalised plan may be approved at
another length or monthly amount, with a payment pause where the tier allows one; the
plan's schedule, totals, rates, terms and fingerprint are then re-quoted in the domain.
The cardholder hears back by a service message at each step.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal.accounts.models import CardAccount
from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.cases.models import CaseEventKind
from portal.cases.service import REASONS, add_event, latest_budget
from portal.db_types import utcnow
from portal.domain.missed_payment import TERMS_KEY
from portal.domain.personalise import PersonaliseError, personalised_quote
from portal.domain.policy import DEFAULT_BLOCKING_FLAGS, PersonalisedLimits
from portal.domain.schedule import Quote, Waived
from portal.domain.terms import fingerprint as offer_fingerprint
from portal.extensions import db
from portal.notifications import confirmations
from portal.offers.adapter import offered_tier
from portal.plans.models import DECLINE_REASONS, Plan, PlanInstallment, PlanState
from portal.plans.service import (
    _RATE_PLACES,
    PlanError,
    _flush_or_winner,
    _lock_account,
    _plan_from_offer,
    _same_or_refuse,
    as_json,
    find_offer,
    open_plan,
)


def request_plan(
    account_id: int,
    fingerprint: str,
    reason: str,
    actor: Actor,
    today: date,
    locale: str,
    proposed_monthly: Decimal | None = None,
) -> tuple[Plan, bool]:
    """Ask for an offer that needs approval; it waits for a supervisor. Returns
    ``(plan, created)``. Raises `PlanError`: ``reason_required``, ``no_approval_needed``,
    ``offer_changed``, ``already_has_plan``. The proposal counts for personalised plans only."""
    if reason not in REASONS:
        raise PlanError("reason_required")
    account = _lock_account(account_id)
    existing = open_plan(account_id)
    if existing is not None:
        return _same_or_refuse(existing, fingerprint)
    version, offer = find_offer(account, fingerprint, today)
    if not offer.needs_approval:
        raise PlanError("no_approval_needed")
    plan = _plan_from_offer(account, version, offer, PlanState.PENDING_APPROVAL, locale, "self_service")
    plan.hardship = {"reason": reason, "budget": latest_budget(account_id)}
    if offer.plan.value == "personalised" and proposed_monthly is not None and proposed_monthly > 0:
        plan.proposed_monthly = proposed_monthly
    winner = _flush_or_winner(account_id)
    if winner is not None:
        return _same_or_refuse(winner, fingerprint)
    add_event(
        account_id,
        CaseEventKind.PLAN_REQUESTED,
        actor,
        {
            "plan": plan.id,
            "type": plan.plan_type,
            "reason": reason,
            "proposed_monthly": str(plan.proposed_monthly or "") or None,
        },
    )
    record(actor, Action.Plan.REQUESTED, ("plan", plan.id), after={"type": plan.plan_type, "reason": reason})
    confirmations.request_received(account, actor)
    db.session.flush()
    return plan, True


def withdraw_request(plan_id: int, account_id: int, actor: Actor) -> Plan:
    """The cardholder takes back a request still waiting; the offers are open again.
    Raises `PlanError` ``no_plan`` or ``not_pending``."""
    _lock_account(account_id)
    plan = db.session.get(Plan, plan_id)
    if plan is None or plan.account_id != account_id:
        raise PlanError("no_plan")
    if plan.state != PlanState.PENDING_APPROVAL:
        raise PlanError("not_pending")
    plan.state, plan.ended_at = PlanState.CANCELLED, utcnow()
    add_event(account_id, CaseEventKind.REQUEST_WITHDRAWN, actor, {"plan": plan.id})
    record(
        actor,
        Action.Plan.REQUEST_WITHDRAWN,
        ("plan", plan.id),
        before={"state": PlanState.PENDING_APPROVAL},
        after={"state": plan.state},
    )
    db.session.flush()
    return plan


def request_digest(plan: Plan) -> str:
    """SHA-256 of the request as a supervisor sees it: who, what state, the terms and
    schedule (the fingerprint covers them and every amount), the proposal, reason and budget."""
    seen = {
        "plan": plan.id,
        "account": plan.account_id,
        "state": plan.state,
        "fingerprint": plan.fingerprint,
        "proposed_monthly": str(plan.proposed_monthly) if plan.proposed_monthly is not None else None,
        "hardship": plan.hardship,
        "created_at": plan.created_at.isoformat() if plan.created_at else None,
    }
    return hashlib.sha256(json.dumps(seen, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Decision:
    """What a supervisor chose. For an approval of a personalised plan, at most one of
    ``months`` and ``monthly`` (neither: the terms as requested) and a ``pause_months``."""

    approve: bool
    shown_digest: str
    note: str = ""
    decline_reason: str | None = None
    months: int | None = None
    monthly: Decimal | None = None
    pause_months: int = 0

    @property
    def changes_terms(self) -> bool:
        return self.months is not None or self.monthly is not None or self.pause_months > 0


def paused_by(account: CardAccount) -> str | None:
    """The flag that pauses approvals and signing on ``account`` (a dispute first)."""
    flags = set(account.flags or ())
    return next((f for f in sorted(DEFAULT_BLOCKING_FLAGS) if f in flags), None)


def decide_request(plan_id: int, decision: Decision, actor: Actor) -> Plan:
    """A supervisor approves (the cardholder may then sign) or declines a request.

    Raises `PlanError`: ``not_pending``, ``changed`` (the request is not what was shown),
    ``account_paused`` (disputed: approval waits), ``decline_reason_required``,
    ``not_adjustable`` (changed terms on a plan that is not personalised), or a
    `PersonaliseError` code for terms outside the tier's limits.
    """
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise PlanError("not_pending")
    account = _lock_account(plan.account_id)
    db.session.refresh(plan)  # as it stands now that withdrawals for this account wait for us
    if plan.state != PlanState.PENDING_APPROVAL:
        raise PlanError("not_pending")
    if decision.shown_digest != request_digest(plan):
        raise PlanError("changed")
    before = {"state": plan.state, "fingerprint": plan.fingerprint}
    if decision.approve:
        if paused_by(account):
            raise PlanError("account_paused")
        if decision.changes_terms:
            _requote(plan, decision)
        plan.state = PlanState.PENDING_SIGNATURE
    else:
        if decision.decline_reason not in DECLINE_REASONS:
            raise PlanError("decline_reason_required")
        plan.state, plan.decline_reason = PlanState.DECLINED, decision.decline_reason
    plan.decided_by, plan.decided_at, plan.decision_note = actor.key, utcnow(), decision.note[:2000] or None
    add_event(
        plan.account_id,
        CaseEventKind.REQUEST_DECIDED,
        actor,
        {
            "plan": plan.id,
            "approved": decision.approve,
            "reason": plan.decline_reason,
            "pause_months": plan.pause_months,
            "months": len(plan.installments),
            "note": plan.decision_note,
        },
    )
    record(
        actor,
        Action.Plan.REQUEST_APPROVED if decision.approve else Action.Plan.REQUEST_DECLINED,
        ("plan", plan.id),
        before=before,
        after={
            "state": plan.state,
            "fingerprint": plan.fingerprint,
            "decline_reason": plan.decline_reason,
            "pause_months": plan.pause_months,
        },
    )
    _tell_cardholder(plan, account, actor)
    db.session.flush()
    return plan


def _tell_cardholder(plan: Plan, account: CardAccount, actor: Actor) -> None:
    if plan.state == PlanState.DECLINED:
        confirmations.request_declined(account, plan.decline_reason, actor)
        return
    first = plan.installments[0]
    confirmations.request_approved(account, plan.id, first.total, len(plan.installments), first.due_date, actor)


def personalised_limits(plan: Plan) -> PersonalisedLimits:
    """The personalised-plan limits of the plan's tier in the policy it was offered under."""
    tier = offered_tier(plan)
    if tier is None:
        raise PlanError("not_adjustable")
    return tier.personalised


def _requote(plan: Plan, decision: Decision) -> None:
    """Replace the plan's schedule, totals, rates, terms and fingerprint with the approved ones."""
    if plan.plan_type != "personalised":
        raise PlanError("not_adjustable")
    waived = Waived(**{k: Decimal(str(v)) for k, v in plan.waived.items()})
    # The first due date as offered; a pause moves it on from there.
    first_due = plan.installments[0].due_date
    limits = personalised_limits(plan)
    months = decision.months
    if months is None and decision.monthly is None:
        # The length as requested, shortened where a pause would take it past the tier's
        # longest plan (a pause counts towards it).
        months = min(len(plan.installments), limits.max_tenor - decision.pause_months)
    try:
        terms, quote = personalised_quote(
            plan.currency,
            plan.balance_at_acceptance,
            waived,
            limits,
            first_due,
            months=months,
            monthly=decision.monthly,
            pause_months=decision.pause_months,
        )
    except PersonaliseError as error:
        raise PlanError(error.code) from error
    _replace_schedule(plan, quote)
    # The missed-payment rules frozen when the request was made stay those the plan is judged by.
    frozen = {key: value for key, value in (plan.terms or {}).items() if key == TERMS_KEY}
    plan.terms = {**as_json(terms), **frozen, "pause_months": decision.pause_months}
    plan.fingerprint = offer_fingerprint(terms, quote)
    plan.pause_months = decision.pause_months


def _replace_schedule(plan: Plan, quote: Quote) -> None:
    plan.installments.clear()
    db.session.flush()  # the old rows go before new ones take their numbers
    for item in quote.installments:
        plan.installments.append(
            PlanInstallment(
                number=item.number,
                due_date=item.due_date,
                principal=item.principal,
                charge=item.charge,
                total=item.total,
            )
        )
    plan.total_repaid, plan.total_cost = quote.total_repaid, quote.total_cost
    plan.waived = as_json(quote.waived)
    plan.apr, plan.ear = quote.apr.quantize(_RATE_PLACES), quote.ear.quantize(_RATE_PLACES)
