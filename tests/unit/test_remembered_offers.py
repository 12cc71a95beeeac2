"""``portal.offers.adapter.remembered_offers``: the offer engine's answer, kept per worker
for the same account facts, policy and day, and only for exactly those."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from portal.domain.account import AccountSnapshot
from portal.domain.default_policy import default_policy
from portal.domain.offers import offers_for
from portal.offers import adapter
from portal.offers.adapter import remembered_offers

TODAY = date(2026, 12, 1)
FACTS = AccountSnapshot(
    currency="CNY",
    principal=Decimal("18000.00"),
    interest=Decimal("650.00"),
    fees=Decimal("0.00"),
    late_fees=Decimal("140.00"),
    overdue_amount=Decimal("2400.00"),
    minimum_due=Decimal("2900.00"),
    days_past_due=35,
    due_date=date(2026, 12, 15),
)


@pytest.fixture(autouse=True)
def _forgotten() -> None:
    adapter._offers_kept.clear()


def test_the_engine_s_answer_once() -> None:
    policy = default_policy()
    first = remembered_offers(FACTS, policy, TODAY)
    assert first and first == offers_for(FACTS, policy, TODAY)
    again = remembered_offers(FACTS, policy, TODAY)
    assert again == first and again is not first  # the caller's own list
    assert all(a is b for a, b in zip(again, first, strict=True))  # the same offers, not made again


@pytest.mark.parametrize(
    "facts, today",
    [
        (replace(FACTS, days_past_due=95), TODAY),
        (replace(FACTS, principal=Decimal("18000.01")), TODAY),
        (replace(FACTS, principal=Decimal("18000.0")), TODAY),  # equal, but not the same figure
        (replace(FACTS, flags=frozenset({"dispute"})), TODAY),
        (FACTS, date(2026, 12, 2)),
    ],
)
def test_other_facts_or_day_are_asked_anew(facts: AccountSnapshot, today: date) -> None:
    policy = default_policy()
    kept = remembered_offers(FACTS, policy, TODAY)
    other = remembered_offers(facts, policy, today)
    assert other == offers_for(facts, policy, today)
    assert not any(a is b for a, b in zip(other, kept, strict=False))


def test_another_policy_is_asked_anew_even_when_equal() -> None:
    kept = remembered_offers(FACTS, default_policy(), TODAY)
    twin = default_policy()  # equal in content, another parsed object: known by identity
    other = remembered_offers(FACTS, twin, TODAY)
    assert other == kept and not any(a is b for a, b in zip(other, kept, strict=True))
    cheaper = replace(twin, tiers=twin.tiers[:1])
    assert remembered_offers(FACTS, cheaper, TODAY) == offers_for(FACTS, cheaper, TODAY)


def test_kept_within_bounds() -> None:
    policy = default_policy()
    for dpd in range(1, adapter.OFFERS_KEPT + 40):
        remembered_offers(replace(FACTS, days_past_due=dpd), policy, TODAY)
    assert len(adapter._offers_kept) == adapter.OFFERS_KEPT
