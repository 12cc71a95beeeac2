"""Every word the policy admin pages say about policy fields, in one place.

* ``FIELDS``: a label and a kind per dataclass field name (a ``(plan type, name)`` key
  overrides the plain name where a field means something else per plan type). The editor
  form is generated from the dataclasses and takes its labels and hints from here.
* ``problem_message``: a ``PolicyProblem`` (code + params from ``validate_policy``) as a
  sentence in the admin's language.
* ``parse_message``, ``error_message``: form-reading problems and workflow refusals.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.domain.policy_validation import PolicyProblem
from portal.i18n import number, percent

# Kinds decide the input's hint and how a value is shown: money, fraction (0..1 shown
# with its percentage), monthly_rate, annual_rate, months, days, hours, count, bool,
# text, list (comma-separated), choice.
FIELDS: dict[str | tuple[str, str], tuple[Any, str]] = {
    # policy
    "currency": (_l("Currency"), "text"),
    "cooldown_days": (_l("Cool-down after a broken plan (days)"), "days"),
    "max_new_plans_12_months": (_l("New plans after a broken one: most in any 12 months"), "count"),
    "max_new_plans_5_years": (_l("New plans after a broken one: most in any 5 years"), "count"),
    "link_expiry_hours": (_l("Plan link lifetime (hours)"), "hours"),
    "affordability_share": (_l("Share of disposable income a plan may take"), "fraction"),
    "promise_max_days": (_l("Promise to pay: latest date (days ahead)"), "days"),
    "promise_min_share": (_l("Promise to pay: least share of the overdue amount"), "fraction"),
    "blocking_flags": (_l("Account flags that stop all offers"), "list"),
    "tiers": (_l("Tiers"), "text"),
    # tier
    "name": (_l("Tier name"), "text"),
    "min_dpd": (_l("From days past due"), "days"),
    "max_dpd": (_l("To days past due (empty: no upper end)"), "days"),
    "balance_from": (_l("Balance band: from (0: any balance)"), "money"),
    "balance_below": (_l("Balance band: below (empty: no upper end)"), "money"),
    # limits shared by several plan types
    "allowed": (_l("Offered in this tier"), "bool"),
    "pricing": (_l("Pricing"), "choice"),
    "max_monthly_fee_rate": (_l("Highest monthly fee rate"), "monthly_rate"),
    "max_annual_rate": (_l("Highest annual interest rate"), "annual_rate"),
    "min_installment": (_l("Lowest installment"), "money"),
    "min_payment": (_l("Lowest payment"), "money"),
    "min_balance": (_l("Lowest balance"), "money"),
    "max_balance": (_l("Highest balance (empty: no limit)"), "money"),
    "max_fee_waiver": (_l("Largest fee waiver"), "fraction"),
    # installment
    "tenors": (_l("Tenors offered (months, comma-separated)"), "list"),
    "min_down_payment": (_l("Lowest down payment"), "fraction"),
    ("installment", "needs_supervisor_above"): (_l("Supervisor approval above (months; empty: never)"), "months"),
    "agent_max_tenor": (_l("Agents may offer up to (months)"), "months"),
    # relief
    "max_months": (_l("Longest relief (months)"), "months"),
    "after_months": (_l("Months to repay after relief (0: one payment)"), "months"),
    "normal_annual_rate": (_l("Normal annual interest rate"), "annual_rate"),
    "max_rate_cut": (_l("Largest rate cut (1 freezes interest)"), "fraction"),
    ("relief", "needs_supervisor_above"): (_l("Supervisor approval above (relief months; empty: never)"), "months"),
    "agent_max_months": (_l("Agents may offer up to (relief months)"), "months"),
    "agent_max_fee_waiver": (_l("Agents may waive up to"), "fraction"),
    # settlement
    "max_discount": (_l("Largest discount"), "fraction"),
    "deadline_days": (_l("First payment within (days)"), "days"),
    "max_payments": (_l("Most payments (1 to 3)"), "count"),
    ("settlement", "needs_supervisor_above"): (_l("Supervisor approval above discount (empty: never)"), "fraction"),
    "agent_max_discount": (_l("Agents may offer a discount up to"), "fraction"),
    # personalised
    "max_tenor": (_l("Longest tenor (months, at most 60)"), "months"),
    "max_pause_months": (_l("Longest payment pause at the start (months; 0: none)"), "months"),
    # missed payments (frozen into each plan made in the tier)
    "grace_days": (_l("Days of grace after a due date"), "days"),
    "break_missed_in_a_row": (_l("Plan ends after this many installments in a row are missed"), "count"),
    "break_days_late": (_l("Plan ends when one installment is more than this many days late"), "days"),
    # reminders (when plan and promise reminders go in the tier)
    "days_before": (_l("Reminder this many days before a due date (0: none)"), "days"),
    "on_due_date": (_l("Reminder on the due date"), "bool"),
    "days_after": (_l("Reminder this many days after a missed due date (0: none)"), "days"),
}

PLAN_TYPES: dict[str, Any] = {
    "installment": _l("Installment plan"),
    "relief": _l("Interest relief"),
    "settlement": _l("Settlement"),
    "personalised": _l("Personalised installment plan"),
}

# The parts of a tier, as headings: its plan types, the missed-payment rules, reminders.
SECTIONS: dict[str, Any] = {
    **PLAN_TYPES,
    "missed_payment": _l("If a payment is missed"),
    "reminders": _l("Payment reminders"),
}

PRICING: dict[str, Any] = {
    "monthly_fee": _l("Monthly fee on the original amount"),
    "annual_rate": _l("Annual interest on the declining balance"),
}

STATES: dict[str, Any] = {
    "draft": _l("Draft"),
    "pending": _l("Pending approval"),
    "scheduled": _l("Scheduled"),
    "active": _l("Active"),
    "retired": _l("Retired"),
    "rejected": _l("Rejected"),
    "challenger": _l("Challenger in an experiment"),
}


def field_info(name: str, section: str | None = None) -> tuple[Any, str]:
    """(label, kind) of a dataclass field, the plan-type-specific entry first."""
    if section is not None and (section, name) in FIELDS:
        return FIELDS[(section, name)]
    return FIELDS.get(name, (name, "text"))


def kind_hint(kind: str, currency: str) -> str | None:
    """The input hint for a kind of field."""
    if kind == "money":
        return _("An amount in %(currency)s, e.g. 100.00", currency=currency)
    if kind == "fraction":
        return _("A fraction from 0 to 1: 0.05 means 5%")
    if kind == "monthly_rate":
        return _("A fraction per month: 0.006 means 0.6% a month")
    if kind == "annual_rate":
        return _("A fraction per year: 0.18 means 18% a year")
    return None


def show_value(value: Any, kind: str) -> str:
    """A stored value as the admin pages show it (lists joined, fractions with %)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if kind in ("fraction", "monthly_rate", "annual_rate"):
        try:
            return f"{value} ({percent(Decimal(str(value)), 2)})"
        except InvalidOperation:
            return str(value)
    if kind == "choice":
        return str(PRICING.get(str(value), value))
    return str(value)


def _tier_label(path: str | None, tier_names: Sequence[str]) -> str:
    """``tiers[2]`` → the tier's name (or its position when it has none)."""
    if path and path.startswith("tiers["):
        index = int(path[len("tiers[") : path.index("]")])
        if index < len(tier_names) and tier_names[index].strip():
            return tier_names[index]
        return _("tier %(number)d", number=index + 1)
    return path or ""


def _limit_label(name: Any, field_path: str) -> str:
    section = field_path.split(".")[-2] if field_path.count(".") >= 2 else None
    return str(field_info(str(name), section)[0])


def problem_message(problem: PolicyProblem, tier_names: Sequence[str] = ()) -> str:
    """The translated sentence for one validation problem (codes of validate_policy)."""
    code, p = problem.code, dict(problem.params)
    if code == "empty":
        if problem.field == "tiers":
            return _("Add at least one tier.")
        if problem.field.endswith(".tenors"):
            return _("Enter at least one tenor, or stop offering this plan type.")
        return _("Enter a value.")
    if code == "too_long":
        return _("Keep the name to %(max)s characters or fewer.", max=p.get("max"))
    if code == "duplicate":
        return _("%(value)s appears more than once.", value=p.get("value"))
    if code == "gap":
        if p.get("end") is None:
            return _("Days past due from %(start)s on are not covered by any tier.", start=p.get("start"))
        return _(
            "Days past due %(start)s to %(end)s are not covered by any tier.", start=p.get("start"), end=p.get("end")
        )
    if code == "overlap":
        return _(
            "Day %(value)s is already covered by %(other)s: tiers must not overlap.",
            value=p.get("value"),
            other=_tier_label(str(p.get("other") or ""), tier_names),
        )
    if code in ("band_gap", "band_overlap"):
        return _band_message(code, p, tier_names)
    if code == "min_above_max":
        return _("The upper end (%(max)s) is below the lower end (%(min)s).", min=p.get("min"), max=p.get("max"))
    if code == "negative":
        return _("Must not be negative (you entered %(value)s).", value=p.get("value"))
    if code == "out_of_range":
        if p.get("max") is None:
            return _("Must be at least %(min)s (you entered %(value)s).", min=p.get("min"), value=p.get("value"))
        return _(
            "Must be from %(min)s to %(max)s (you entered %(value)s).",
            min=p.get("min"),
            max=p.get("max"),
            value=p.get("value"),
        )
    if code == "tenor_over_cap":
        return _(
            "At most %(max)s months: plans are capped at 5 years (you entered %(value)s).",
            max=p.get("max"),
            value=p.get("value"),
        )
    if code == "rate_out_of_range":
        high = str(p.get("max"))
        return _(
            "Enter a rate from 0 to %(max)s (%(max_percent)s), not %(value)s.",
            max=high,
            max_percent=percent(Decimal(high), 2),
            value=p.get("value"),
        )
    if code == "percent_out_of_range":
        if p.get("inclusive_max") is False:
            return _(
                "Enter a fraction from 0 up to but not including 1 (under 100%%), not %(value)s.", value=p.get("value")
            )
        return _("Enter a fraction from 0 to 1 (0%% to 100%%), not %(value)s.", value=p.get("value"))
    if code == "exceeds_limit":
        return _(
            "Must not be more than “%(limit)s” (%(max)s).",
            limit=_limit_label(p.get("limit"), problem.field),
            max=p.get("max"),
        )
    if code == "too_many_decimals":
        return _(
            "Use at most %(places)s decimal places (you entered %(value)s).",
            places=p.get("places"),
            value=p.get("value"),
        )
    if code == "unknown_currency":
        return _("%(value)s is not a currency code we know.", value=p.get("value"))
    return _("This value is not allowed.")


def _amount(value: Any) -> str:
    try:
        return number(Decimal(str(value)))
    except InvalidOperation:
        return str(value)


def _band_message(code: str, p: dict[str, Any], tier_names: Sequence[str]) -> str:
    """Tiers splitting one DPD range by balance that leave a gap or overlap."""
    if p.get("max_dpd") is None:
        days = _("days past due %(low)s and over", low=p.get("min_dpd"))
    else:
        days = _("days past due %(low)s to %(high)s", low=p.get("min_dpd"), high=p.get("max_dpd"))
    if code == "band_overlap":
        return _(
            "Balances from %(amount)s at %(days)s are already in %(other)s: tiers with the same days past "
            "due must split balances without overlapping (each band starts where the previous one ends).",
            amount=_amount(p.get("value")),
            days=days,
            other=_tier_label(str(p.get("other") or ""), tier_names),
        )
    if p.get("end") is None:
        return _(
            "Balances from %(start)s up at %(days)s are in no tier: leave the last band's upper end empty.",
            start=_amount(p.get("start")),
            days=days,
        )
    return _(
        "Balances from %(start)s to below %(end)s at %(days)s are in no tier: each band must start "
        "where the previous one ends, and the first at 0.",
        start=_amount(p.get("start")),
        end=_amount(p.get("end")),
        days=days,
    )


def parse_message(code: str) -> str:
    """Problems reading what the admin typed (before any limit is checked)."""
    messages = {
        "required": _("Enter a value."),
        "number": _("Enter a number, e.g. 0.05 or 100.00."),
        "whole": _("Enter a whole number, e.g. 12."),
        "whole_list": _("Enter whole numbers separated by commas, e.g. 3, 6, 12."),
        "choice": _("Choose one of the options."),
    }
    return messages.get(code, _("This value is not allowed."))


def error_message(code: str) -> str:
    """Why a workflow step was refused (PolicyError codes)."""
    messages = {
        "not_found": _("There is no such policy version."),
        "not_draft": _("Only a draft can be changed or submitted; this version has moved on."),
        "not_pending": _("Only a version pending approval can be approved, rejected or withdrawn."),
        "not_author": _("Only the author of this draft can change, submit or withdraw it."),
        "own_draft": _("You wrote this version, so another policy admin must approve or reject it."),
        "comment_required": _("Say why you reject this version."),
        "effective_in_past": _("The effective date must be in the future, or leave it empty to approve now."),
        "currency_mismatch": _("That version is for another currency."),
        "unknown_currency": _("That is not a currency code we know."),
        "invalid": _("This version has problems; fix them before it can go ahead."),
        "changed_since_review": _(
            "This version changed after you opened it for review. Open the review page "
            "again and check what it holds now before you decide."
        ),
        "experiment_running": _(
            "An experiment is running in this currency. Stop it, or promote its challenger, "
            "before another version becomes active."
        ),
    }
    return messages.get(code, _("That did not work."))
