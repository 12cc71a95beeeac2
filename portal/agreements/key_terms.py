"""The key terms of a plan: one source for the signing pages and the agreement PDF.

What the cardholder sees before signing (the payments, the dates, the totals, the
annualised rate, what is waived, what they and the bank agree to, what happens if a
payment is missed) is built here from a plan, offered or accepted, and both the journey
pages (templates/journey/_key_terms.html) and the agreement (templates/agreements/
_document_body.html) render the same lists, so what is shown is what is signed.

The missed-payment rules come from the plan's own terms only (``plan.terms
["missed_payment"]``, frozen from the policy tier when the plan was made; see
``portal.domain.missed_payment``), and :func:`missed_payment_terms` is their one wording;
a plan made before they were frozen reads the defaults, the rules it was signed under.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup, escape

from portal.domain.missed_payment import MissedPaymentRules, from_terms
from portal.i18n import gettext as _
from portal.i18n import money, ngettext

__all__ = [
    "KeyTerms",
    "agreement_terms",
    "key_terms",
    "missed_payment_terms",
    "payment_lines",
    "phone_link",
]

# Plan types whose waived amounts the bank may add back if the plan is broken.
REINSTATED_IF_BROKEN = frozenset({"relief", "settlement"})


def phone_link(phone: str) -> Markup:
    """The care number as a tel: link that never wraps."""
    digits = re.sub(r"[^0-9+]", "", phone)
    return Markup('<a class="tel" href="tel:{}">{}</a>').format(digits, phone)


def _with_phone(text: str, phone: str) -> Markup:
    # The translation is escaped, then the placeholder becomes the link.
    return escape(text).replace("\x00", phone_link(phone))


def _decimal(value: object) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


@dataclass(frozen=True)
class Terms:
    """What each side agrees to and what happens if a payment is missed, as shown."""

    you: list[Markup]
    we: list[Markup]
    missed: list[Markup]
    new_card: Markup  # the undertaking the PDF cites its legal source for

    def all(self) -> list[Markup]:
        return [*self.you, *self.we, *self.missed]


def agreement_terms(
    plan_type: str, terms: dict[str, Any] | None, waived_total: Decimal, currency: str, care_phone: str
) -> Terms:
    """The term list of a plan, translated: the same for the signing page and the PDF."""
    new_card = escape(_("Do not apply for any new credit card until this plan is fully repaid."))
    you = [
        _("Pay each installment in full by its due date."),
        new_card,
        _("Tell us soon if your phone number, address or money situation changes."),
        _("Tell us early if you think you cannot make a payment, so that we can look at your options together."),
    ]
    we = [
        _(
            "While you keep to this plan, we and anyone acting for us will not ask you to pay this balance in any "
            "other way."
        ),
        _("No annual fee, late fee or other fee is added to this balance while you keep to the plan."),
        _("Count every payment you make towards this plan and show it in your account."),
    ]
    missed = missed_payment_terms(from_terms(terms), plan_type, waived_total, currency)
    call = _with_phone(
        _(
            "If paying gets hard, call us on %(phone)s before a payment is missed. We can often change the plan.",
            phone="\x00",
        ),
        care_phone,
    )
    return Terms([escape(t) for t in you], [escape(t) for t in we], [*(escape(t) for t in missed), call], new_card)


def missed_payment_terms(rules: MissedPaymentRules, plan_type: str, waived_total: Decimal, currency: str) -> list[str]:
    """What happens if a payment is missed, in the one wording every page and the PDF use."""
    # Plural forms, because a policy may set any of the rules to 1; with today's rules
    # the English words are those plans were always signed with.
    missed = [
        ngettext(
            "If a payment is late, you have %(days)s day of grace to pay it. Nothing changes if you pay within that "
            "time.",
            "If a payment is late, you have %(days)s days of grace to pay it. Nothing changes if you pay within that "
            "time.",
            rules.grace_days,
            days=rules.grace_days,
        ),
        ngettext(
            "The plan ends if an installment is not paid, or if one installment is more than %(days)s days late.",
            "The plan ends if %(missed)s installments in a row are not paid, or if one installment is more than "
            "%(days)s days late.",
            rules.break_missed_in_a_row,
            missed=rules.break_missed_in_a_row,
            days=rules.break_days_late,
        ),
        _("If the plan ends, we may go back to normal collection of the balance still owed, by lawful means only."),
    ]
    if plan_type in REINSTATED_IF_BROKEN and waived_total:
        missed.append(
            _(
                "If the plan ends, we may add the amounts we waived (%(amount)s) back to the balance you owe.",
                amount=money(waived_total, currency),
            )
        )
    elif plan_type in REINSTATED_IF_BROKEN:
        missed.append(_("If the plan ends, we may add back anything we waived under this plan."))
    else:
        missed.append(_("Amounts we waived stay waived, even if the plan ends early."))
    return missed


def _runs(totals: list[Decimal]) -> list[tuple[int, int, Decimal]]:
    """Consecutive equal payments as (first number, last number, amount)."""
    runs: list[tuple[int, int, Decimal]] = []
    for number, total in enumerate(totals, start=1):
        if runs and runs[-1][2] == total:
            runs[-1] = (runs[-1][0], number, total)
        else:
            runs.append((number, number, total))
    return runs


def payment_lines(totals: list[Decimal], currency: str, pause_months: int = 0) -> list[tuple[str, str]]:
    """How much is paid when, as (label, value) lines.

    One payment is "One payment", never "each month". A pause at the start (payments of
    nothing) is named as one. With one regular amount it is "Each month", and a
    different first or last payment is named as such; with several amounts (relief:
    lower payments first) each stretch says which payments it covers. ``pause_months``
    is a pause that moved the first due date on instead of adding payments of nothing.
    """
    pause = (
        [
            (
                _("Payment pause"),
                ngettext("%(num)s month with nothing to pay", "%(num)s months with nothing to pay", pause_months),
            )
        ]
        if pause_months > 0
        else []
    )
    if len(totals) == 1:
        return [*pause, (_("One payment"), money(totals[0], currency))]
    runs = _runs(totals)
    lines: list[tuple[str, str]] = pause
    if runs[0][2] == 0:
        paused = runs.pop(0)[1]
        lines.append(
            (
                _("Payment pause"),
                ngettext("%(num)s month with nothing to pay", "%(num)s months with nothing to pay", paused),
            )
        )
    regular = [run for run in runs if run[1] > run[0]]
    last = len(totals)
    for first_no, last_no, amount in runs:
        shown = money(amount, currency)
        if first_no == last_no:
            if first_no == last and len(runs) > 1:
                label = _("Last payment")
            elif first_no == runs[0][0] and len(runs) > 1:
                label = _("First payment")
            else:
                label = _("Payment %(number)s", number=first_no)
            lines.append((label, shown))
        elif len(regular) == 1:
            lines.append((_("Each month"), shown))
        else:
            lines.append(
                (
                    _("Payments %(first)s to %(last)s", first=first_no, last=last_no),
                    _("%(amount)s each month", amount=shown),
                )
            )
    return lines


@dataclass(frozen=True)
class KeyTerms:
    """Everything the key-terms summary shows, formatted in the active locale."""

    plan_type: str
    count: int
    payments: list[tuple[str, str]]
    first_due: date | None
    down_payment: Decimal
    total_repaid: Decimal
    total_cost: Decimal
    apr: Decimal
    ear: Decimal
    waived: list[tuple[str, Decimal]]
    terms: Terms
    monthly_fee_rate: Decimal | None


def waived_lines(waived: dict[str, Any]) -> list[tuple[str, Decimal]]:
    """What the plan forgives, each part that is not nothing, labelled for a cardholder."""
    labels = {
        "fees": _("Fees we remove"),
        "late_fees": _("Late fees we remove"),
        "discount": _("Debt we close without payment"),
        "interest": _("Interest you will not pay"),
    }
    return [(label, _decimal(waived.get(key))) for key, label in labels.items() if _decimal(waived.get(key)) > 0]


def key_terms(plan: Any, care_phone: str) -> KeyTerms:
    """The key terms of ``plan`` (stored, or built from an offer and not yet saved)."""
    rows = list(plan.installments)
    totals = [row.total for row in rows]
    waived = plan.waived or {}
    terms = plan.terms or {}
    first_paid = next((row.due_date for row in rows if row.total > 0), rows[0].due_date if rows else None)
    waived_total = sum((_decimal(v) for v in waived.values()), Decimal(0))
    return KeyTerms(
        plan_type=plan.plan_type,
        count=sum(1 for total in totals if total > 0),
        payments=payment_lines(totals, plan.currency, int(terms.get("pause_months") or 0)) if totals else [],
        first_due=first_paid,
        down_payment=_decimal(terms.get("down_payment")),
        total_repaid=plan.total_repaid,
        total_cost=plan.total_cost,
        apr=plan.apr,
        ear=plan.ear,
        waived=waived_lines(waived),
        terms=agreement_terms(plan.plan_type, plan.terms, waived_total, plan.currency, care_phone),
        monthly_fee_rate=_decimal(terms.get("rate")) if terms.get("pricing") == "monthly_fee" else None,
    )
