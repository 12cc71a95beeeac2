"""Accepting offers and signing approved plans (requests and decisions: `plans.requests`).

Acceptance is one transaction: plan, installments, signature evidence, the pending
agreement, the case-file entry, the audit event, the ``accepted`` plan event for the
core system (and, through a link, the link's single-use stamp: the view adds it before
the request commits). Nothing here commits:
the request does, once; the agreement PDF is rendered and signed after that commit. The
offer is re-computed from the current policy and balance and matched by fingerprint, so
a cardholder can only accept exactly what the bank would offer them now. One open plan
per account is enforced by a unique index; a repeated submit (double tap, back button,
two tabs) returns the plan that already exists instead of creating a second one.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import CardAccount
from portal.agreements.service import create_pending_agreement, produce_agreement
from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.cases.models import CaseEventKind
from portal.cases.service import add_event
from portal.db_types import one_of, utcnow
from portal.domain.missed_payment import to_terms
from portal.domain.offers import Offer
from portal.domain.policy import DEFAULT_BLOCKING_FLAGS
from portal.domain.policy_io import dump
from portal.domain.schedule import Installment
from portal.extensions import db
from portal.integrations.core_banking.models import PlanEventKind
from portal.integrations.core_banking.plan_events import emit_plan_event
from portal.notifications.confirmations import plan_accepted
from portal.offers.adapter import offers_for_account
from portal.plans.models import OPEN_STATES, Plan, PlanInstallment, PlanState, Signature
from portal.policies.cache import ActiveVersion
from portal.unit_of_work import after_commit

CONSENT_VERSION = "esign-2026-11"
_RATE_PLACES = Decimal("0.000001")


def as_json(value: Any) -> Any:
    """A domain value (dataclass or NamedTuple) as plain JSON (decimals, dates as strings)."""
    if hasattr(value, "_asdict"):
        value = {key: dump(item) for key, item in value._asdict().items()}
    return json.loads(json.dumps(dump(value), default=str))


class PlanError(Exception):
    """Why a plan could not be made; ``code`` is for the view to translate."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Evidence:
    """What the cardholder did to sign, captured by the view from the request."""

    typed_name: str
    consent_text: str
    ip: str | None
    user_agent: str | None
    locale: str


def normalise_name(name: str) -> str:
    """Compare names after folding width (全角) and case and collapsing spaces."""
    folded = unicodedata.normalize("NFKC", name or "").casefold()
    return " ".join(folded.split())


def names_match(typed: str, on_file: str) -> bool:
    typed_n, file_n = normalise_name(typed), normalise_name(on_file)
    # Chinese names are often typed without the space a romanised record has.
    return bool(typed_n) and (typed_n == file_n or typed_n.replace(" ", "") == file_n.replace(" ", ""))


def consent_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def open_plan(account_id: int) -> Plan | None:
    query = select(Plan).where(Plan.account_id == account_id, one_of(Plan.state, OPEN_STATES))
    return db.session.execute(query).scalar_one_or_none()


def latest_decline(account_id: int) -> Plan | None:
    """The account's most recent plan if a supervisor declined it: its reason is shown
    until the cardholder makes another request or plan."""
    query = select(Plan).where(Plan.account_id == account_id).order_by(Plan.id.desc()).limit(1)
    plan = db.session.execute(query).scalar_one_or_none()
    return plan if plan is not None and plan.state == PlanState.DECLINED else None


def find_offer(account: CardAccount, fingerprint: str, today: date) -> tuple[ActiveVersion, Offer]:
    version, offers = offers_for_account(account, today)
    for offer in offers:
        if offer.fingerprint == fingerprint:
            return version, offer
    raise PlanError("offer_changed")


def _lock_account(account_id: int) -> CardAccount:
    """Load the account, locking its row on PostgreSQL so acceptances queue up."""
    query = select(CardAccount).where(CardAccount.id == account_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    account = db.session.execute(query).scalar_one_or_none()
    if account is None:
        raise PlanError("no_account")
    return account


def build_plan(
    account: CardAccount, version_id: int | None, offer: Offer, state: PlanState, locale: str, channel: str
) -> Plan:
    """The plan an offer makes, with its installments, not yet added to the session: the
    agreement preview renders one, and acceptance saves one. The missed-payment rules of
    the offer's policy tier are frozen into its terms, so its pages, its PDF and the
    servicing run read the rules it was made with, whatever the policy says later."""
    quote = offer.quote
    plan = Plan(
        account_id=account.id,
        policy_version_id=version_id,
        plan_type=offer.plan.value,
        state=state,
        tier=offer.tier,
        terms=_plan_terms(offer),
        fingerprint=offer.fingerprint,
        currency=account.currency,
        balance_at_acceptance=account.balance,
        balance_parts={part: str(getattr(account, part)) for part in ("principal", "interest", "fees", "late_fees")},
        total_repaid=quote.total_repaid,
        total_cost=quote.total_cost,
        waived=as_json(quote.waived),
        apr=quote.apr.quantize(_RATE_PLACES),
        ear=quote.ear.quantize(_RATE_PLACES),
        locale=locale,
        channel=channel,
    )
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
    return plan


def _plan_terms(offer: Offer) -> dict[str, Any]:
    return {**as_json(offer.terms), **to_terms(offer.missed_payment)}


@dataclass(frozen=True)
class OfferedPlan:
    """What the plan an offer makes says (the fields ``build_plan`` gives it), for its
    key terms (``portal.agreements.key_terms.key_terms`` reads these names) on the offer
    and signing pages, without building the ORM plan and its installment rows."""

    plan_type: str
    currency: str
    terms: dict[str, Any]
    waived: dict[str, Any]
    total_repaid: Decimal
    total_cost: Decimal
    apr: Decimal
    ear: Decimal
    installments: Sequence[Installment]  # the quote's


def offered_plan(account: CardAccount, offer: Offer) -> OfferedPlan:
    """The plan ``offer`` would make on ``account``, as ``build_plan`` would fill it."""
    quote = offer.quote
    return OfferedPlan(
        plan_type=offer.plan.value,
        currency=account.currency,
        terms=_plan_terms(offer),
        waived=as_json(quote.waived),
        total_repaid=quote.total_repaid,
        total_cost=quote.total_cost,
        apr=quote.apr.quantize(_RATE_PLACES),
        ear=quote.ear.quantize(_RATE_PLACES),
        installments=quote.installments,
    )


def _plan_from_offer(
    account: CardAccount, version: ActiveVersion, offer: Offer, state: PlanState, locale: str, channel: str
) -> Plan:
    plan = build_plan(account, version.id, offer, state, locale, channel)
    db.session.add(plan)
    return plan


def _sign(plan: Plan, account: CardAccount, evidence: Evidence) -> Signature:
    if not names_match(evidence.typed_name, account.cardholder.full_name):
        raise PlanError("name_mismatch")
    signature = Signature(
        plan=plan,
        typed_name=" ".join(evidence.typed_name.split())[:200],
        consent_version=CONSENT_VERSION,
        consent_sha256=consent_sha256(evidence.consent_text),
        signed_at=utcnow(),
        time_zone=account.time_zone,
        ip=evidence.ip,
        user_agent=(evidence.user_agent or "")[:400],
        locale=evidence.locale,
        offer_fingerprint=plan.fingerprint,
    )
    db.session.add(signature)
    return signature


def _after_signing(plan: Plan, account: CardAccount, actor: Actor) -> int:
    """Queue the agreement and the cardholder's confirmation inside the transaction;
    return the agreement's id to produce after commit."""
    db.session.flush()
    agreement = create_pending_agreement(plan)
    first = plan.installments[0]
    plan_accepted(account, agreement.reference, first.total, first.due_date, actor)
    emit_plan_event(plan, PlanEventKind.ACCEPTED, accepted_event_data(plan), plan.accepted_at)
    return agreement.id


def accepted_event_data(plan: Plan) -> dict[str, Any]:
    """What the core system learns of a plan when it is accepted: its totals and schedule."""
    return {
        "total_repaid": plan.total_repaid,
        "total_cost": plan.total_cost,
        "installments": [{"number": i.number, "due_date": i.due_date, "amount": i.total} for i in plan.installments],
    }


def _produce_after_commit(agreement_id: int) -> None:
    """Render and sign once the plan is safely committed (never if it rolls back); a
    failure leaves the agreement pending for its retry and never undoes the plan."""
    after_commit(partial(produce_agreement, agreement_id))


def accept_offer(
    account_id: int, fingerprint: str, evidence: Evidence, actor: Actor, today: date, channel: str = "self_service"
) -> tuple[Plan, bool]:
    """Accept and sign the offer with this fingerprint. Returns ``(plan, created)``."""
    account = _lock_account(account_id)
    existing = open_plan(account_id)
    if existing is not None:
        return _same_or_refuse(existing, fingerprint)
    version, offer = find_offer(account, fingerprint, today)
    if offer.needs_approval:
        raise PlanError("needs_approval")
    plan = _plan_from_offer(account, version, offer, PlanState.ACTIVE, evidence.locale, channel)
    plan.accepted_at = utcnow()
    winner = _flush_or_winner(account_id)
    if winner is not None:
        return _same_or_refuse(winner, fingerprint)
    _sign(plan, account, evidence)
    agreement_id = _after_signing(plan, account, actor)
    add_event(account_id, CaseEventKind.PLAN_ACCEPTED, actor, {"plan": plan.id, "type": plan.plan_type})
    record(
        actor,
        Action.Plan.ACCEPTED,
        ("plan", plan.id),
        after={"type": plan.plan_type, "fingerprint": fingerprint, "policy_version": version.number},
    )
    _produce_after_commit(agreement_id)
    return plan, True


def _same_or_refuse(existing: Plan, fingerprint: str) -> tuple[Plan, bool]:
    if existing.fingerprint == fingerprint:
        return existing, False
    raise PlanError("already_has_plan")


def _flush_or_winner(account_id: int) -> Plan | None:
    """Write the new plan; if the one-open-plan index refused it because another request
    for this account won the race (SQLite: PostgreSQL queues them on the account lock),
    roll back and return that request's plan. The rollback ends the whole request's
    transaction: it is called before anything else of the request is worth keeping."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        winner = open_plan(account_id)
        if winner is None:
            raise
        return winner
    return None


def sign_approved(plan_id: int, account_id: int, evidence: Evidence, actor: Actor) -> Plan:
    """The cardholder signs a plan a supervisor approved; it becomes active."""
    account = _lock_account(account_id)
    plan = db.session.get(Plan, plan_id)
    if plan is None or plan.account_id != account_id:
        raise PlanError("no_plan")
    if plan.state == PlanState.ACTIVE:
        return plan  # a repeated submit
    if plan.state != PlanState.PENDING_SIGNATURE:
        raise PlanError("not_signable")
    if set(account.flags or ()) & DEFAULT_BLOCKING_FLAGS:
        raise PlanError("account_paused")  # a dispute pauses plans until it is settled
    _sign(plan, account, evidence)
    plan.state, plan.accepted_at = PlanState.ACTIVE, utcnow()
    agreement_id = _after_signing(plan, account, actor)
    add_event(account_id, CaseEventKind.PLAN_ACCEPTED, actor, {"plan": plan.id, "type": plan.plan_type})
    record(
        actor, Action.Plan.ACCEPTED, ("plan", plan.id), after={"type": plan.plan_type, "approved_by": plan.decided_by}
    )
    db.session.flush()
    _produce_after_commit(agreement_id)
    return plan
