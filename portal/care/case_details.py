"""What the case file says about an account in words a person reads at a glance.

* ``due_dates``: the due date a past-due account MISSED, worked out from its days past
  due, beside the next statement's due date (which is in the future and is not what the
  account is late on).
* ``link_hold``: why sending a plan link is not the next step (a dispute, a stop on
  contact, a plan already active or waiting), so the page offers it as a quiet
  secondary action with the reason rather than as the main button.
* ``case_reason``: the reason for the debt, from care staff or from the cardholder's own
  plan request, whichever was given last.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from portal.cases.models import CaseEventKind
from portal.cases.service import REASONS
from portal.plans.models import PlanState

__all__ = ["DueDates", "case_reason", "due_dates", "link_hold"]


@dataclass(frozen=True)
class DueDates:
    """``missed``: the due date whose payment is late (None: not past due);
    ``next_due``: the account's coming due date, when it is after the missed one."""

    missed: date | None
    next_due: date | None


def due_dates(due_date: date, days_past_due: int, as_of: date | None, today: date) -> DueDates:
    """The missed and the next due date of an account ``days_past_due`` past due on
    ``as_of`` (the day its days past due were counted; today when unknown).

    Days past due count from the missed due date: 1 the day after it. The stored
    ``due_date`` is the core system's current statement due date, which for an account
    35 days late is usually next month's; shown as "the due date" it would tell staff
    the cardholder is not late yet.
    """
    if days_past_due <= 0:
        return DueDates(None, due_date)
    missed = (as_of or today) - timedelta(days=days_past_due)
    return DueDates(missed, due_date if due_date > missed else None)


# Flags that make a plan link the wrong next step, most serious first (each is also a
# reason the contact rules hold or block the message: portal.notifications.rules).
_HOLD_FLAGS = ("fraud", "deceased", "dispute", "do_not_contact", "vulnerable")


def link_hold(flags: Iterable[str] | None, plans: Sequence[Any]) -> str | None:
    """Why a plan link is not the next step for this account, or None when it is.

    A flag comes first; then a plan already active (collection stops while it is kept,
    CBRC 2011 Art. 70), or one waiting for approval or signature (the cardholder has
    chosen; a link would offer the choice again)."""
    held = set(flags or ())
    for flag in _HOLD_FLAGS:
        if flag in held:
            return flag
    states = {plan.state for plan in plans}
    if PlanState.ACTIVE in states:
        return "active_plan"
    if PlanState.PENDING_APPROVAL in states:
        return "request_pending"
    if PlanState.PENDING_SIGNATURE in states:
        return "awaiting_signature"
    return None


# Events that carry a reason for the debt: set by staff, or given by the cardholder
# when asking for a plan.
_REASON_EVENTS = (CaseEventKind.REASON, CaseEventKind.PLAN_REQUESTED)


def case_reason(events: Iterable[Any]) -> tuple[str | None, str | None]:
    """The newest reason for the debt among ``events`` (newest first) and the kind of
    event it came from; (None, None) when nobody gave one."""
    for event in events:
        reason = (event.data or {}).get("reason") if event.kind in _REASON_EVENTS else None
        if reason in REASONS:
            return reason, str(event.kind)
    return None, None
