"""Limits on new plans after a broken one (re-ageing; FFIEC account-management policy).

A plan that breaks and is replaced by a new one treats the account as current again: US
bank regulators call that re-ageing and allow it at most once in 12 months and twice in 5
years. The portal's rule, with the limits as policy (``OfferPolicy.max_new_plans_12_months``
and ``max_new_plans_5_years``):

* A *new plan after a broken one* is a plan accepted on an account after an earlier plan
  of that account was broken (its acceptance date, in the cardholder's time zone, counts).
* Such plans are limited to at most N in any 12 months and M in any 5 years: a new plan
  may be made on ``day`` only when fewer than N of them were accepted in the 12 calendar
  months before ``day`` (accepted after ``day`` − 12 months) and fewer than M in the 60
  calendar months before it. An account that never had a broken plan is not limited.
* ``reage_possible_on`` gives the first day a new plan is possible again: the day enough
  of the earlier ones have left their window.

The SQL form used by the impact preview (``portal.offers.impact``) mirrors this rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from portal.domain.dates import add_months

__all__ = ["MAX_NEW_PLANS_5_YEARS", "MAX_NEW_PLANS_12_MONTHS", "reage_possible_on"]

# Bounds a policy may set: one a month at most, and no more in 5 years than 12 a year.
MAX_NEW_PLANS_12_MONTHS = 12
MAX_NEW_PLANS_5_YEARS = 60


def _free_on(accepted: list[date], day: date, months: int, limit: int) -> date | None:
    """The first day from ``day`` on when fewer than ``limit`` of ``accepted`` lie within
    ``months`` months before it; None when that is already true on ``day``."""
    inside = sorted(d for d in accepted if add_months(d, months) > day)
    if len(inside) < limit:
        return None
    # The oldest (len - limit + 1) must leave the window; the last of them decides.
    return add_months(inside[len(inside) - limit], months)


def reage_possible_on(
    new_plans_after_broken: Iterable[date], day: date, per_12_months: int, per_5_years: int
) -> date | None:
    """None when one more new plan after a broken one is allowed on ``day``; otherwise
    the first day it is (see the module notes)."""
    accepted = list(new_plans_after_broken)
    dates = [d for d in (_free_on(accepted, day, 12, per_12_months), _free_on(accepted, day, 60, per_5_years)) if d]
    return max(dates) if dates else None
