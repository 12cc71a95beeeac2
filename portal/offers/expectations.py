"""The impact preview's expected results: per tier, what the installment offers of the
draft and of the active version would bring, at the outcome rates observed so far
(``portal.reporting.observed``, ``portal.domain.expected``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal.domain.dates import add_months
from portal.domain.expected import Expected, expected_installments
from portal.domain.policy import OfferPolicy
from portal.offers.impact import Impact
from portal.reporting.observed import Observed, observed_rates


@dataclass(frozen=True)
class ExpectationRow:
    tier: str
    observed: Observed | None  # None: no plan and no past-due account seen in this tier yet
    current: Expected | None
    proposed: Expected | None


def _expected(
    policy: OfferPolicy | None, impact: Impact | None, tier: str, seen: Observed | None, today: date
) -> Expected | None:
    if policy is None or impact is None or seen is None or seen.take_up is None or seen.kept_rate is None:
        return None
    limits = next((t.installment for t in policy.tiers if t.name == tier), None)
    shape = impact.tier(tier)
    if limits is None or shape is None:
        return None
    offered = shape.plans["installment"]
    take_up = min(seen.take_up, Decimal(1))  # more plans than accounts at the start: a flow, at most all
    return expected_installments(
        limits, policy.currency, offered.accounts, offered.balance, take_up, seen.kept_rate, add_months(today, 1)
    )


def expectations(
    proposed: OfferPolicy,
    proposed_impact: Impact,
    current: OfferPolicy | None,
    current_impact: Impact | None,
    today: date,
) -> list[ExpectationRow]:
    """One row per tier of either version (the draft's order first)."""
    seen = observed_rates(proposed.currency, today)
    names = [t.name for t in proposed.tiers]
    names += [t.name for t in (current.tiers if current else ()) if t.name not in names]
    return [
        ExpectationRow(
            name,
            seen.get(name),
            _expected(current, current_impact, name, seen.get(name), today),
            _expected(proposed, proposed_impact, name, seen.get(name), today),
        )
        for name in names
    ]
