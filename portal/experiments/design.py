"""Pure rules of an experiment's design: which arm a hash picks, what a challenger may not
change, when the planned sample is reached. No Flask, no database."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from portal.domain.policy import OfferPolicy

_DOMAIN = b"portal.experiments.assignment"


def arm_position(key: bytes, experiment_id: int, account_id: int, shares: Sequence[Decimal]) -> int:
    """The arm (its position; 0 is the champion) an account falls in: HMAC-SHA256 of the
    experiment and the account under ``key``, read as a number in [0, 1) and placed on
    the arms' cumulative shares. The same inputs always give the same arm; without the
    key nobody can steer an account into an arm."""
    message = _DOMAIN + f":{experiment_id}:{account_id}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    point = Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64)
    cumulative = Decimal(0)
    for position, share in enumerate(shares):
        cumulative += share
        if point < cumulative:
            return position
    return len(shares) - 1  # shares summing to a hair under 1


def hardship_terms(policy: OfferPolicy) -> list[tuple[str, int, int | None, object, object, object]]:
    """What a challenger must leave as the champion has it: the tiers' names and bounds
    (days past due and balance band, so both arms put an account in the same tier) and
    their personalised (hardship) limits. Hardship offers are never experimented on."""
    return sorted(
        ((t.name, t.min_dpd, t.max_dpd, t.balance_from, t.balance_below, t.personalised) for t in policy.tiers),
        key=lambda x: (x[1], x[3], x[0]),
    )


def changes_hardship(champion: OfferPolicy, challenger: OfferPolicy) -> bool:
    return hardship_terms(champion) != hardship_terms(challenger)


FORECAST_YEARS = 10  # beyond this a date says nothing (and a slow start would overflow ``date``)


def expected_date(planned_n: int, assigned: int, started: date, today: date) -> date | None:
    """The day the planned sample is expected, at the assignment rate since ``started``
    (``today`` once reached; None when nobody has been assigned yet, so there is no rate,
    or when that day lies more than ``FORECAST_YEARS`` ahead)."""
    if assigned >= planned_n:
        return today
    days = max(1, (today - started).days + 1)
    if assigned == 0:
        return None
    needed = math.ceil((planned_n - assigned) * days / assigned)
    if needed > FORECAST_YEARS * 366:
        return None
    return today + timedelta(days=needed)
