"""Translated labels for the codes care staff see (outcomes, reasons, flags, event kinds…).

A code without a label is shown as the code itself, so a new kind written by another part
of the portal still appears on the case file.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.plans.labels import DECLINE_REASON_TEXT
from portal.policies.messages import PLAN_TYPES  # plan types have one set of names for staff

OUTCOMES = {
    "contacted_promised": _l("Contacted: promised to pay"),
    "contacted_refused": _l("Contacted: refused"),
    "no_answer": _l("No answer"),
    "wrong_number": _l("Wrong number"),
    "hardship_disclosed": _l("Hardship disclosed"),
    "other": _l("Other"),
}

CONTACT_CHANNELS = {
    "none": _l("No contact (note only)"),
    "phone": _l("Phone call"),
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
    "deceased": _l("Deceased"),
    "fraud": _l("Fraud"),
}

EVENT_KINDS = {
    "note": _l("Note"),
    "reason": _l("Reason for the debt"),
    "budget": _l("Budget"),
    "promise": _l("Promise to pay"),
    "rating": _l("Rating"),
    "plan_accepted": _l("Plan accepted"),
    "personalised_requested": _l("Personalised plan requested"),
    "personalised_decided": _l("Personalised plan decided"),
    "plan_requested": _l("Plan requested"),
    "request_decided": _l("Plan request decided"),
    "request_withdrawn": _l("Plan request withdrawn"),
    "flag_set": _l("Flag set"),
    "flag_cleared": _l("Flag cleared"),
    "opted_out": _l("Opted out"),
    "opted_in": _l("Opted back in"),
    "sms_reply": _l("Text message reply"),
    "message_blocked": _l("Message blocked"),
    "message_failed": _l("Message failed"),
    "link_issued": _l("Plan link created"),
    "link_sent": _l("Plan link message sent"),
    "link_delivered": _l("Plan link delivered"),
    "link_opened": _l("Plan link opened"),
    "link_verified": _l("Identity checked through the link"),
    "link_offer_viewed": _l("Suggested offer viewed"),
    "link_accepted": _l("Plan accepted through the link"),
    "link_revoked": _l("Plan link revoked"),
    "payment": _l("Payment"),
}

PLAN_STATES = {
    "pending_approval": _l("Waiting for approval"),
    "pending_signature": _l("Waiting for signature"),
    "active": _l("Active"),
    "completed": _l("Completed"),
    "broken": _l("Broken"),
    "cancelled": _l("Cancelled"),
    "declined": _l("Declined"),
}

PROMISE_STATES = {"open": _l("Open"), "kept": _l("Kept"), "broken": _l("Broken")}

LINK_STATES = {
    "queued": _l("Queued"),
    "sent": _l("Sent"),
    "delivered": _l("Delivered"),
    "opened": _l("Opened"),
    "verified": _l("Identity checked"),
    "offer_viewed": _l("Offer viewed"),
    "accepted": _l("Accepted"),
    "used": _l("Used"),
    "expired": _l("Expired"),
    "revoked": _l("Revoked"),
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
    "outside_hours": _l("Outside contact hours: waits for the next allowed time"),
    "link_revoked": _l("The link was revoked"),
    "unknown_channel": _l("Unknown channel"),
}

ACTOR_TYPES = {
    "cardholder": _l("Cardholder"),
    "system": _l("System"),
    "anonymous": _l("Anonymous"),
    "staff": _l("Staff"),
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
    "promise_state": PROMISE_STATES,
    "link_state": LINK_STATES,
    "link_channel": LINK_CHANNELS,
    "actor": ACTOR_TYPES,
    "budget": BUDGET_FIGURES,
    "block_reason": BLOCK_REASONS,
    "decline_reason": DECLINE_REASON_TEXT,
}


def care_label(table: str, code: object) -> str:
    """Template helper: ``care_label('flag', 'dispute')`` → "Dispute"."""
    return label(TABLES[table], code)
