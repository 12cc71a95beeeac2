"""Writing to the case file. Callers commit; each write pairs with an audit event."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.cases.models import CaseEvent, CaseEventKind, Promise, PromiseState
from portal.domain.scrub import one_line_comment
from portal.extensions import db

REASONS = ("lost_job", "illness", "income_fell", "overspent", "unsure_rules", "other")


class CaseError(ValueError):
    """Input that cannot go into the case file; ``code`` names the problem for the view."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def add_event(account_id: int, kind: CaseEventKind, actor: Actor, data: dict[str, Any] | None = None) -> CaseEvent:
    """Add an entry to the account's timeline; ``kind`` must be a registered ``CaseEventKind``."""
    if not isinstance(kind, CaseEventKind):
        raise TypeError(f"unregistered case-event kind {kind!r}: add it to CaseEventKind")
    event = CaseEvent(
        account_id=account_id, kind=kind.value, data=data or {}, actor_type=actor.type.value, actor_id=actor.id
    )
    db.session.add(event)
    db.session.flush()
    return event


def set_reason(account_id: int, reason: str, actor: Actor) -> CaseEvent:
    """Record what made repaying hard (one of ``REASONS``)."""
    if reason not in REASONS:
        raise CaseError("unknown_reason")
    event = add_event(account_id, CaseEventKind.REASON, actor, {"reason": reason})
    record(actor, Action.Case.REASON_SET, ("card_account", account_id), after={"reason": reason})
    return event


def latest_reason(account_id: int) -> str | None:
    query = (
        select(CaseEvent.data)
        .where(CaseEvent.account_id == account_id, CaseEvent.kind == CaseEventKind.REASON)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    data = db.session.execute(query).scalar()
    return data.get("reason") if data else None


def record_budget(account_id: int, figures: dict[str, str], disposable: Decimal, actor: Actor) -> CaseEvent:
    """Keep the income-and-spending figures the cardholder gave, as decimal strings."""
    event = add_event(account_id, CaseEventKind.BUDGET, actor, {"figures": figures, "disposable": str(disposable)})
    record(actor, Action.Case.BUDGET_RECORDED, ("card_account", account_id), after={"disposable": str(disposable)})
    return event


def budget_figures(account_id: int, event_id: object) -> dict[str, str] | None:
    """The figures of budget event ``event_id`` if it is this account's, else None.

    The browser keeps only the event's id (a reference), never the figures themselves.
    """
    if not isinstance(event_id, int):
        return None
    event = db.session.get(CaseEvent, event_id)
    if event is None or event.account_id != account_id or event.kind != CaseEventKind.BUDGET:
        return None
    figures = event.data.get("figures")
    return dict(figures) if isinstance(figures, dict) else None


def latest_budget(account_id: int) -> dict[str, str] | None:
    """The income-and-spending figures the cardholder gave last (decimal strings), if any."""
    query = (
        select(CaseEvent.data)
        .where(CaseEvent.account_id == account_id, CaseEvent.kind == CaseEventKind.BUDGET)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    data = db.session.execute(query).scalar()
    figures = data.get("figures") if data else None
    return dict(figures) if isinstance(figures, dict) else None


def record_promise(account_id: int, amount: Decimal, currency: str, pay_by: date, actor: Actor) -> Promise:
    promise = Promise(account_id=account_id, amount=amount, currency=currency, pay_by=pay_by)
    db.session.add(promise)
    db.session.flush()
    add_event(
        account_id,
        CaseEventKind.PROMISE,
        actor,
        {"promise": promise.id, "amount": str(amount), "pay_by": pay_by.isoformat()},
    )
    record(
        actor, Action.Promise.MADE, ("promise", promise.id), after={"amount": str(amount), "pay_by": pay_by.isoformat()}
    )
    return promise


def open_promise(account_id: int) -> Promise | None:
    """The account's latest open promise (the account page reads the same with the
    account, in ``accounts.overview``'s one statement)."""
    query = (
        select(Promise)
        .where(Promise.account_id == account_id, Promise.state == PromiseState.OPEN)
        .order_by(Promise.id.desc())
    )
    return db.session.execute(query.limit(1)).scalar()


def record_rating(account_id: int, plan_id: int | None, rating: int, comment: str, actor: Actor) -> CaseEvent:
    """The cardholder's rating after acceptance, with an optional one-line comment. The
    comment is kept as staff will read it (case file, reports): one line, no card or phone
    numbers (``portal.domain.scrub``); what was typed beyond that is never stored."""
    if not 1 <= rating <= 5:
        raise CaseError("rating_out_of_range")
    event = add_event(
        account_id,
        CaseEventKind.RATING,
        actor,
        {"plan": plan_id, "rating": rating, "comment": one_line_comment(comment)},
    )
    record(actor, Action.Case.RATING_GIVEN, ("card_account", account_id), after={"rating": rating})
    return event
