"""The review list of unmatched payments: care staff assign each to an account, or mark
it as not ours.

Who: agents and supervisors, the roles that work the case files (``portal/care``); the
decision is the same for both, and every one is audited. Auditors read the trail, and
policy admins do not handle accounts.

Two members of staff may open the same payment at once. Each decision is one
conditional UPDATE (``... WHERE status = 'unmatched'``) in the request's transaction:
the first to commit wins, and the second finds nothing left to change and is told so
(``already_handled``); nothing else is written for it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, update

from portal.accounts.models import CardAccount
from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.cases.models import CaseEventKind
from portal.cases.service import add_event
from portal.extensions import db
from portal.payments.models import Direction, MatchBasis, Payment, PaymentStatus
from portal.payments.service import reallocate_plans
from portal.plans.models import Plan, PlanState
from portal.staff.models import Role
from portal.staff.service import role_of

PAGE_SIZE = 25
MAX_NOTE = 500
REVIEWERS = (Role.AGENT, Role.SUPERVISOR)


class ReviewError(ValueError):
    """A review decision that cannot go ahead; ``code`` is for the view to translate."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ReviewPage:
    rows: list[Payment]
    total: int
    page: int
    pages: int


# How many payments wait for review (read through the partial index). The staff loader
# reads it with the signed-in member of staff, for the navigation (portal.staff.loader).
WAITING_COUNT = select(func.count()).select_from(Payment).where(Payment.status == PaymentStatus.UNMATCHED)


def waiting_count() -> int:
    """How many payments wait for review."""
    return int(db.session.execute(WAITING_COUNT).scalar_one())


def waiting(page: int = 1) -> ReviewPage:
    """One page of the payments waiting for review, oldest first."""
    total = waiting_count()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    query = (
        select(Payment)
        .where(Payment.status == PaymentStatus.UNMATCHED)
        .order_by(Payment.created_at, Payment.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return ReviewPage(list(db.session.execute(query).scalars()), total, page, pages)


def assignable(payment: Payment) -> bool:
    """Only money in can go onto an account: a debit, or the reversal of a payment we
    never received, would count for nothing there (it can be marked not ours)."""
    return payment.direction == Direction.CREDIT and payment.match_basis != MatchBasis.ORIGINAL_NOT_FOUND


def _require_reviewer(actor: Actor) -> None:
    if role_of(actor) not in REVIEWERS:
        raise ReviewError("not_allowed")


def _payment(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise ReviewError("no_payment")
    if payment.status != PaymentStatus.UNMATCHED:
        raise ReviewError("already_handled")
    return payment


def normalise_reference(text: str) -> str:
    """An account reference as staff type it: full-width forms, spaces and case ignored."""
    return "".join(unicodedata.normalize("NFKC", text or "").split()).upper()


def _claim(payment_id: int, **values: object) -> None:
    """Move the payment out of the review list, only if it is still in it."""
    result = db.session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.status == PaymentStatus.UNMATCHED)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ReviewError("already_handled")


def assign_payment(payment_id: int, account_reference: str, actor: Actor, note: str = "") -> int:
    """Post an unmatched payment to the account ``account_reference`` names; returns the account id.

    The account must exist and be kept in the payment's currency. When it has an active
    plan the payment counts towards it (as a payment matched on arrival would) and the
    plan's installments are allocated again. A case-file entry and an audit record go
    with it, in the same transaction.
    """
    _require_reviewer(actor)
    payment = _payment(payment_id)
    if not assignable(payment):
        raise ReviewError("not_assignable")
    reference = normalise_reference(account_reference)
    if not reference:
        raise ReviewError("reference_required")
    account = db.session.execute(
        select(CardAccount).where(func.upper(CardAccount.reference) == reference)
    ).scalar_one_or_none()
    if account is None:
        raise ReviewError("unknown_account")
    if account.currency != payment.currency:
        raise ReviewError("other_currency")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ReviewError("note_too_long")
    plan_id = db.session.execute(
        select(Plan.id).where(Plan.account_id == account.id, Plan.state == PlanState.ACTIVE)
    ).scalar_one_or_none()
    before = {"status": str(PaymentStatus.UNMATCHED), "match_basis": payment.match_basis}
    _claim(
        payment_id,
        status=PaymentStatus.POSTED,
        account_id=account.id,
        plan_id=plan_id,
        match_basis=MatchBasis.ASSIGNED_BY_STAFF,
    )
    db.session.expire(payment)
    if plan_id is not None:
        reallocate_plans([plan_id])
    add_event(
        account.id,
        CaseEventKind.PAYMENT_ASSIGNED,
        actor,
        {
            "payment_id": payment_id,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "booking_date": payment.booking_date.isoformat(),
            "plan_id": plan_id,
            "note": note,
        },
    )
    record(
        actor,
        Action.Payment.ASSIGNED,
        ("payment", payment_id),
        before=before,
        after={
            "status": str(PaymentStatus.POSTED),
            "account_id": account.id,
            "plan_id": plan_id,
            "match_basis": str(MatchBasis.ASSIGNED_BY_STAFF),
            "note": note,
        },
    )
    db.session.flush()
    return account.id


def mark_not_ours(payment_id: int, note: str, actor: Actor) -> None:
    """Take a payment off the review list as not ours, with the reviewer's short reason."""
    _require_reviewer(actor)
    payment = _payment(payment_id)
    note = (note or "").strip()
    if not note:
        raise ReviewError("note_required")
    if len(note) > MAX_NOTE:
        raise ReviewError("note_too_long")
    before = {"status": str(PaymentStatus.UNMATCHED), "match_basis": payment.match_basis}
    _claim(payment_id, status=PaymentStatus.NOT_OURS)
    db.session.expire(payment)
    record(
        actor,
        Action.Payment.NOT_OURS,
        ("payment", payment_id),
        before=before,
        after={"status": str(PaymentStatus.NOT_OURS), "note": note},
    )
    db.session.flush()


def amount_of(payment: Payment) -> Decimal:
    """The amount as the list shows it: money out (a debit) as a negative number."""
    return -payment.amount if payment.direction == Direction.DEBIT else payment.amount
