"""Translated labels for the codes care staff see (outcomes, reasons, flags, event kinds…).

A code without a label is shown as the code itself, so a new kind written by another part
of the portal still appears on the case file.
"""

from __future__ import annotations

from flask import has_app_context
from flask_babel import lazy_gettext as _l

from portal.cases.models import CaseEventKind, PromiseState
from portal.links.models import LinkStatus, LinkStep
from portal.locales import locale_name
from portal.plans.labels import DECLINE_REASON_TEXT
from portal.plans.models import PlanState
from portal.policies.messages import PLAN_TYPES  # plan types have one set of names for staff

OUTCOMES = {
    "reached": _l("Reached the cardholder"),
    "contacted_promised": _l("Contacted: promised to pay"),
    "contacted_refused": _l("Contacted: refused"),
    "no_answer": _l("No answer"),
    "wrong_number": _l("Wrong number"),
    "hardship_disclosed": _l("Hardship disclosed"),
    "not_now": _l("Asked not to be called at this time"),
    "other": _l("Other"),
}

CONTACT_CHANNELS = {
    "none": _l("No contact (note only)"),
    "phone": _l("Phone call"),
    "phone_in": _l("They called us"),
    "sms": _l("Text message"),
    "email": _l("E-mail"),
    "letter": _l("Letter"),
    "in_person": _l("In person"),
}

REASONS = {
    "lost_job": _l("Lost their job"),
    "illness": _l("Illness or injury"),
    "income_fell": _l("Income fell"),
    "overspent": _l("Spent more than planned"),
    "unsure_rules": _l("Unsure how repayment works"),
    "other": _l("Other reason"),
}

FLAGS = {
    "do_not_contact": _l("Do not contact"),
    "dispute": _l("Dispute"),
    "optout_sms": _l("No text messages"),
    "optout_email": _l("No e-mails"),
    "deceased": _l("Bereavement: the cardholder has died"),
    "fraud": _l("Fraud"),
    "vulnerable": _l("Vulnerable: contact by a person only"),
}

# Why "send a plan link" is not the case's next step (portal.care.case_details.link_hold).
LINK_HOLDS = {
    "fraud": _l("Fraud is suspected on this account: all collection contact and offers are stopped."),
    "deceased": _l(
        "The cardholder has died: collection contact and offers are stopped. Deal with the estate through the "
        "bereavement process, not by plan link."
    ),
    "dispute": _l("Dispute: every collection message and every offer is paused until a supervisor clears it."),
    "do_not_contact": _l("Do not contact: no collection messages are sent."),
    "vulnerable": _l(
        "The cardholder is vulnerable: talk to them first. Send a link only if they ask for one on the call."
    ),
    "active_plan": _l(
        "The cardholder is on an active plan: collection stops while they keep it. A new link is only for a "
        "change they ask for."
    ),
    "request_pending": _l("A plan request is waiting for a supervisor: decide it before offering anything else."),
    "awaiting_signature": _l(
        "A plan is waiting for the cardholder's signature: a new link would offer the choice again."
    ),
}

# What a message in the outbox is (its kind), in words.
MESSAGE_KINDS = {
    "plan_link": _l("Plan link"),
    "plan_reminder": _l("Reminder of a plan payment"),
    "promise_reminder": _l("Reminder of a promise to pay"),
    "plan_broken": _l("Notice that the plan has ended"),
    "request_received": _l("Plan request received"),
    "request_approved": _l("Plan request approved"),
    "request_declined": _l("Plan request declined"),
    "plan_accepted": _l("Plan accepted"),
    "promise_recorded": _l("Promise to pay recorded"),
}

# Where a reason for the debt on the case file came from.
REASON_SOURCES: dict[str, object] = {
    CaseEventKind.REASON: _l("recorded by care staff"),
    CaseEventKind.PLAN_REQUESTED: _l("given by the cardholder with a plan request"),
}

EVENT_KINDS: dict[str, object] = {
    # Every kind in the registry has a label (a test checks); "payment" is a timeline-only entry.
    CaseEventKind.NOTE: _l("Note"),
    CaseEventKind.REASON: _l("Reason for the debt"),
    CaseEventKind.BUDGET: _l("Budget"),
    CaseEventKind.PROMISE: _l("Promise to pay"),
    CaseEventKind.RATING: _l("Rating"),
    CaseEventKind.PLAN_ACCEPTED: _l("Plan accepted"),
    CaseEventKind.PERSONALISED_REQUESTED: _l("Personalised plan requested"),
    CaseEventKind.PERSONALISED_DECIDED: _l("Personalised plan decided"),
    CaseEventKind.PLAN_REQUESTED: _l("Plan requested"),
    CaseEventKind.REQUEST_DECIDED: _l("Plan request decided"),
    CaseEventKind.REQUEST_WITHDRAWN: _l("Plan request withdrawn"),
    CaseEventKind.FLAG_SET: _l("Flag set"),
    CaseEventKind.FLAG_CLEARED: _l("Flag cleared"),
    CaseEventKind.OPTED_OUT: _l("Opted out"),
    CaseEventKind.OPTED_IN: _l("Opted back in"),
    CaseEventKind.SMS_REPLY: _l("Text message reply"),
    CaseEventKind.MESSAGE_BLOCKED: _l("Message blocked"),
    CaseEventKind.MESSAGE_FAILED: _l("Message failed"),
    CaseEventKind.MESSAGE_REQUEUED: _l("Message put back in the queue"),
    CaseEventKind.LINK_ISSUED: _l("Plan link created"),
    CaseEventKind.LINK_SENT: _l("Plan link message sent"),
    CaseEventKind.LINK_DELIVERED: _l("Plan link delivered"),
    CaseEventKind.LINK_OPENED: _l("Plan link opened"),
    CaseEventKind.LINK_VERIFIED: _l("Identity checked through the link"),
    CaseEventKind.LINK_OFFER_VIEWED: _l("Suggested offer viewed"),
    CaseEventKind.LINK_ACCEPTED: _l("Plan accepted through the link"),
    CaseEventKind.LINK_REVOKED: _l("Plan link revoked"),
    CaseEventKind.PLAN_COMPLETED: _l("Plan completed"),
    CaseEventKind.PLAN_BROKEN: _l("Plan broken"),
    CaseEventKind.PROMISE_KEPT: _l("Promise kept"),
    CaseEventKind.PROMISE_BROKEN: _l("Promise broken"),
    CaseEventKind.PAYMENT_ASSIGNED: _l("Payment assigned by care staff"),
    CaseEventKind.TASK_OPENED: _l("Task for the care desk"),
    CaseEventKind.TASK_DONE: _l("Task done"),
    CaseEventKind.CASE_ASSIGNED: _l("Case owner"),
    CaseEventKind.CASE_RELEASED: _l("Case released"),
    "payment": _l("Payment"),
}

# Why the servicing run ended a plan (``portal.domain.plan_health.judge_plan``'s reason).
BREAK_REASONS: dict[str, object] = {
    "missed_in_a_row": _l("Installments missed in a row"),
    "days_late": _l("An installment stayed unpaid too long"),
}

PLAN_STATES: dict[str, object] = {
    PlanState.PENDING_APPROVAL: _l("Waiting for approval"),
    PlanState.PENDING_SIGNATURE: _l("Waiting for signature"),
    PlanState.ACTIVE: _l("Active"),
    PlanState.COMPLETED: _l("Completed"),
    PlanState.BROKEN: _l("Broken"),
    PlanState.CANCELLED: _l("Cancelled"),
    PlanState.DECLINED: _l("Declined"),
}

PROMISE_STATES: dict[str, object] = {
    PromiseState.OPEN: _l("Open"),
    PromiseState.KEPT: _l("Kept"),
    PromiseState.BROKEN: _l("Broken"),
}

LINK_STATES: dict[str, object] = {
    LinkStatus.QUEUED: _l("Queued"),
    LinkStatus.HELD: _l("Held"),
    LinkStatus.BLOCKED: _l("Blocked"),
    LinkStatus.FAILED: _l("Failed"),
    LinkStep.SENT: _l("Sent"),
    LinkStep.DELIVERED: _l("Delivered"),
    LinkStep.OPENED: _l("Opened"),
    LinkStep.VERIFIED: _l("Identity checked"),
    LinkStep.OFFER_VIEWED: _l("Offer viewed"),
    LinkStep.ACCEPTED: _l("Accepted"),
    LinkStatus.USED: _l("Used"),
    LinkStatus.EXPIRED: _l("Expired"),
    LinkStatus.REVOKED: _l("Revoked"),
}

LINK_CHANNELS = {"sms": _l("Text message"), "email": _l("E-mail")}

BUDGET_FIGURES = {
    "earnings": _l("Earnings"),
    "benefits": _l("Benefits"),
    "pensions": _l("Pensions"),
    "other_income": _l("Other income"),
    "housing": _l("Housing"),
    "utilities": _l("Utilities"),
    "transport": _l("Transport"),
    "care_health": _l("Care and health"),
    "school": _l("School"),
    "insurance": _l("Insurance and pension contributions"),
    "other_essentials": _l("Other essentials"),
    "food_housekeeping": _l("Food and housekeeping"),
    "communications_leisure": _l("Phone, internet and leisure"),
    "personal": _l("Personal costs"),
}

BLOCK_REASONS = {
    **FLAGS,
    "active_plan": _l("An active plan: collection messages stop"),
    "weekly_cap": _l("Weekly contact limit reached"),
    "daily_cap": _l("Daily contact limit reached"),
    "daily_call_cap": _l("Daily limit of unanswered calls reached"),
    "outside_hours": _l("Outside contact hours: waits for the next allowed time"),
    "link_revoked": _l("The link was revoked"),
    "unknown_channel": _l("Unknown channel"),
}


def label(table: dict[str, object], code: object) -> str:
    """The translated label for ``code``, or the code itself when there is none."""
    found = table.get(str(code)) if code is not None else None
    return str(found) if found is not None else str(code or "")


TABLES = {
    "outcome": OUTCOMES,
    "contact_channel": CONTACT_CHANNELS,
    "reason": REASONS,
    "flag": FLAGS,
    "event": EVENT_KINDS,
    "plan_type": PLAN_TYPES,
    "plan_state": PLAN_STATES,
    "break_reason": BREAK_REASONS,
    "promise_state": PROMISE_STATES,
    "link_state": LINK_STATES,
    "link_channel": LINK_CHANNELS,
    "budget": BUDGET_FIGURES,
    "block_reason": BLOCK_REASONS,
    "link_hold": LINK_HOLDS,
    "message_kind": MESSAGE_KINDS,
    "reason_source": REASON_SOURCES,
    "decline_reason": DECLINE_REASON_TEXT,
}


# Each table's labels as text, per language and table name: a label is a lazy string,
# and every str() of one asks flask_babel for the catalogue through its context proxies,
# some twenty times a case file. The catalogues do not change while the app runs (the
# templates' own _() are folded in once per language too: portal.templating).
_TRANSLATED: dict[tuple[str, str, str], dict[str, str]] = {}


def translated(group: str, name: str, table: dict[str, object]) -> dict[str, str]:
    """``table`` (``TABLES[name]`` of the module ``group``) as codes to their labels in the
    active language, translated once per language."""
    if not has_app_context():  # no active language to key on: as label() does it
        return {str(code): str(text) for code, text in table.items()}
    key = (locale_name(), group, name)
    found = _TRANSLATED.get(key)
    if found is None:
        found = _TRANSLATED[key] = {str(code): str(text) for code, text in table.items()}
    return found


def care_label(table: str, code: object) -> str:
    """Template helper: ``care_label('flag', 'dispute')`` → "Dispute"."""
    found = translated("care", table, TABLES[table]).get(str(code)) if code is not None else None
    return found if found is not None else str(code or "")
