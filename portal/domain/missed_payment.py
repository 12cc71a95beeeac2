"""The rules a plan is judged by when a payment is missed: grace, and when the plan ends.

They are policy (a limit set of each tier, ``Tier.missed_payment``), and are frozen into
each plan's terms when it is made (``plan.terms["missed_payment"]``), so the pages, the
agreement and — next — the servicing run all read the one copy the cardholder signed.

A plan made before the rules were policy holds the defaults below (the constants it was
signed under) or nothing at all; ``from_terms`` reads both back as the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "DEFAULT_MISSED_PAYMENT_RULES",
    "MAX_BREAK_DAYS_LATE",
    "MAX_GRACE_DAYS",
    "MAX_MISSED_IN_A_ROW",
    "TERMS_KEY",
    "MissedPaymentRules",
    "from_terms",
    "to_terms",
]

TERMS_KEY = "missed_payment"

# Bounds a policy may set (validate_policy): a grace of up to two months, a plan broken
# after at most a year of missed installments or a year late. Beyond them the words
# "missed" and "late" stop meaning anything a cardholder could plan around.
MAX_GRACE_DAYS = 60
MAX_MISSED_IN_A_ROW = 12
MAX_BREAK_DAYS_LATE = 365


@dataclass(frozen=True, slots=True)
class MissedPaymentRules:
    """What happens when an installment is not paid by its due date.

    grace_days             days after a due date in which a payment still counts as on time
    break_missed_in_a_row  the plan ends when this many installments in a row are unpaid
    break_days_late        or when one installment is more than this many days late
    """

    grace_days: int = 10
    break_missed_in_a_row: int = 2
    break_days_late: int = 30


DEFAULT_MISSED_PAYMENT_RULES = MissedPaymentRules()


def to_terms(rules: MissedPaymentRules) -> dict[str, dict[str, int]]:
    """The rules as the JSON entry a plan's terms keep."""
    return {TERMS_KEY: {f.name: getattr(rules, f.name) for f in fields(rules)}}


def from_terms(terms: Mapping[str, Any] | None) -> MissedPaymentRules:
    """The rules frozen into a plan's terms; each value missing (a plan made before the
    rules were frozen) is the default it was signed under."""
    stored = (terms or {}).get(TERMS_KEY)
    if not isinstance(stored, Mapping):
        return DEFAULT_MISSED_PAYMENT_RULES
    values = {f.name: stored[f.name] for f in fields(MissedPaymentRules) if type(stored.get(f.name)) is int}
    return MissedPaymentRules(**values)
