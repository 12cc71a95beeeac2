"""Missed-payment rules: a tier's policy limits, validated with bounds, and the copy a
plan keeps in its terms (read back with defaults for plans made before they were policy)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from portal.domain.default_policy import default_policy
from portal.domain.missed_payment import (
    DEFAULT_MISSED_PAYMENT_RULES,
    TERMS_KEY,
    MissedPaymentRules,
    from_terms,
    to_terms,
)
from portal.domain.policy import OfferPolicy
from portal.domain.policy_validation import validate_policy

BASE = default_policy()


def with_rules(index: int, **changes: int) -> OfferPolicy:
    tiers = list(BASE.tiers)
    tiers[index] = replace(tiers[index], missed_payment=replace(tiers[index].missed_payment, **changes))
    return replace(BASE, tiers=tuple(tiers))


def codes(policy: OfferPolicy) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in validate_policy(policy)}


def test_todays_rules_are_every_tiers_default() -> None:
    assert (
        MissedPaymentRules(grace_days=10, break_missed_in_a_row=2, break_days_late=30) == DEFAULT_MISSED_PAYMENT_RULES
    )
    assert all(t.missed_payment == DEFAULT_MISSED_PAYMENT_RULES for t in BASE.tiers)


def test_a_document_stored_without_the_rules_loads_with_the_defaults() -> None:
    document = json.loads(json.dumps(BASE.to_dict()))
    for tier in document["tiers"]:
        del tier["missed_payment"]
    loaded = OfferPolicy.from_dict(document)
    assert loaded == BASE
    assert validate_policy(loaded) == []


def test_rules_round_trip_through_the_policy_document() -> None:
    policy = with_rules(2, grace_days=15, break_missed_in_a_row=3, break_days_late=60)
    document = json.loads(json.dumps(policy.to_dict()))
    assert document["tiers"][2]["missed_payment"] == {
        "grace_days": 15,
        "break_missed_in_a_row": 3,
        "break_days_late": 60,
    }
    assert OfferPolicy.from_dict(document) == policy


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"grace_days": -1}, ("tiers[1].missed_payment.grace_days", "negative")),
        ({"grace_days": 61, "break_days_late": 90}, ("tiers[1].missed_payment.grace_days", "out_of_range")),
        ({"break_missed_in_a_row": 0}, ("tiers[1].missed_payment.break_missed_in_a_row", "out_of_range")),
        ({"break_missed_in_a_row": 13}, ("tiers[1].missed_payment.break_missed_in_a_row", "out_of_range")),
        ({"break_days_late": 0, "grace_days": 0}, ("tiers[1].missed_payment.break_days_late", "out_of_range")),
        ({"break_days_late": 366}, ("tiers[1].missed_payment.break_days_late", "out_of_range")),
        ({"grace_days": 31}, ("tiers[1].missed_payment.grace_days", "exceeds_limit")),
    ],
)
def test_rules_outside_their_bounds_are_refused(changes: dict[str, int], expected: tuple[str, str]) -> None:
    assert codes(with_rules(1, **changes)) == {expected}


def test_rules_at_their_bounds_are_allowed() -> None:
    assert validate_policy(with_rules(0, grace_days=0, break_missed_in_a_row=1, break_days_late=1)) == []
    assert validate_policy(with_rules(0, grace_days=60, break_missed_in_a_row=12, break_days_late=365)) == []
    assert validate_policy(with_rules(0, grace_days=30, break_days_late=30)) == []


def test_rules_frozen_into_terms_read_back_the_same() -> None:
    rules = MissedPaymentRules(grace_days=5, break_missed_in_a_row=3, break_days_late=45)
    terms = json.loads(json.dumps({"plan": "installment", **to_terms(rules)}))
    assert terms[TERMS_KEY] == {"grace_days": 5, "break_missed_in_a_row": 3, "break_days_late": 45}
    assert from_terms(terms) == rules


@pytest.mark.parametrize(
    "terms",
    [None, {}, {"plan": "installment"}, {TERMS_KEY: None}, {TERMS_KEY: "10 days"}],
    ids=["no terms", "empty", "made before the rules were frozen", "null", "not an object"],
)
def test_a_plan_without_frozen_rules_reads_the_rules_it_was_signed_under(terms: object) -> None:
    assert from_terms(terms) == DEFAULT_MISSED_PAYMENT_RULES  # type: ignore[arg-type]


def test_a_partly_frozen_copy_keeps_what_it_has() -> None:
    assert from_terms({TERMS_KEY: {"grace_days": 14, "break_days_late": "x"}}) == MissedPaymentRules(grace_days=14)
