"""Policy documents: validation codes and paths, JSON round trips, strict reading."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from portal.domain.default_policy import default_policy
from portal.domain.policy import (
    InstallmentLimits,
    OfferPolicy,
    PersonalisedLimits,
    PolicyFormatError,
    ReliefLimits,
    SettlementLimits,
    Tier,
)
from portal.domain.policy_validation import PROBLEM_CODES, PolicyProblem, validate_policy
from portal.domain.schedule import Pricing

D = Decimal
BASE = default_policy()


def with_tier(index: int, **changes: Any) -> OfferPolicy:
    tiers = list(BASE.tiers)
    tiers[index] = replace(tiers[index], **changes)
    return replace(BASE, tiers=tuple(tiers))


def with_limits(index: int, kind: str, **changes: Any) -> OfferPolicy:
    return with_tier(index, **{kind: replace(getattr(BASE.tiers[index], kind), **changes)})


def problems(policy: OfferPolicy) -> set[tuple[str, str]]:
    found = validate_policy(policy)
    assert all(p.code in PROBLEM_CODES for p in found)
    return {(p.field, p.code) for p in found}


def test_default_policy_is_valid_and_covers_every_dpd() -> None:
    assert validate_policy(BASE) == []
    assert [t.name for t in BASE.tiers] == ["M1", "M2", "M3", "M4", "W/O"]
    assert [BASE.tier_for(d, Decimal(1000)).name for d in (1, 29, 30, 59, 60, 89, 90, 179, 180, 5000)] == [
        "M1",
        "M1",
        "M2",
        "M2",
        "M3",
        "M3",
        "M4",
        "M4",
        "W/O",
        "W/O",
    ]
    assert BASE.tier_for(0, Decimal(1000)) is None
    assert all(t.personalised.max_tenor <= 60 for t in BASE.tiers)
    assert BASE.link_expiry_hours == 72


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (with_tier(1, min_dpd=31), ("tiers[1].min_dpd", "gap")),
        (with_tier(1, min_dpd=29), ("tiers[1].min_dpd", "overlap")),
        (with_tier(0, min_dpd=2), ("tiers[0].min_dpd", "gap")),
        (with_tier(0, min_dpd=0), ("tiers[0].min_dpd", "out_of_range")),
        (with_tier(4, max_dpd=400), ("tiers[4].max_dpd", "gap")),
        (with_tier(1, max_dpd=None), ("tiers[2].min_dpd", "overlap")),
        (with_tier(2, max_dpd=50), ("tiers[2].max_dpd", "min_above_max")),
        (with_tier(1, name="M1"), ("tiers[1].name", "duplicate")),
        (with_tier(1, name=" "), ("tiers[1].name", "empty")),
        (with_limits(0, "installment", tenors=(3, 6, 61)), ("tiers[0].installment.tenors[2]", "tenor_over_cap")),
        (with_limits(0, "installment", tenors=(0, 6)), ("tiers[0].installment.tenors[0]", "out_of_range")),
        (with_limits(0, "installment", tenors=(3, 6, 3)), ("tiers[0].installment.tenors[2]", "duplicate")),
        (with_limits(0, "installment", tenors=()), ("tiers[0].installment.tenors", "empty")),
        (
            with_limits(1, "installment", max_monthly_fee_rate=D("0.06")),
            ("tiers[1].installment.max_monthly_fee_rate", "rate_out_of_range"),
        ),
        (
            with_limits(3, "installment", max_annual_rate=D("1.5")),
            ("tiers[3].installment.max_annual_rate", "rate_out_of_range"),
        ),
        (
            with_limits(0, "installment", max_monthly_fee_rate=D("-0.001")),
            ("tiers[0].installment.max_monthly_fee_rate", "rate_out_of_range"),
        ),
        (
            with_limits(0, "installment", min_down_payment=D("1.2")),
            ("tiers[0].installment.min_down_payment", "percent_out_of_range"),
        ),
        (with_limits(0, "installment", min_installment=D("-1")), ("tiers[0].installment.min_installment", "negative")),
        (
            with_limits(0, "installment", min_installment=D("0.001")),
            ("tiers[0].installment.min_installment", "too_many_decimals"),
        ),
        (
            with_limits(0, "installment", min_balance=D("1000"), max_balance=D("999")),
            ("tiers[0].installment.max_balance", "min_above_max"),
        ),
        (with_limits(0, "installment", agent_max_tenor=36), ("tiers[0].installment.agent_max_tenor", "exceeds_limit")),
        (with_limits(0, "installment", agent_max_tenor=61), ("tiers[0].installment.agent_max_tenor", "tenor_over_cap")),
        (with_limits(1, "relief", max_months=61), ("tiers[1].relief.max_months", "tenor_over_cap")),
        (with_limits(1, "relief", max_months=0), ("tiers[1].relief.max_months", "out_of_range")),
        (with_limits(1, "relief", max_months=24, after_months=40), ("tiers[1].relief.after_months", "tenor_over_cap")),
        (with_limits(1, "relief", agent_max_months=7), ("tiers[1].relief.agent_max_months", "exceeds_limit")),
        (with_limits(1, "relief", max_fee_waiver=D("1.5")), ("tiers[1].relief.max_fee_waiver", "percent_out_of_range")),
        (with_limits(1, "relief", max_rate_cut=D("-0.1")), ("tiers[1].relief.max_rate_cut", "percent_out_of_range")),
        (with_limits(1, "relief", min_payment=D("-5")), ("tiers[1].relief.min_payment", "negative")),
        (
            with_limits(1, "relief", normal_annual_rate=D("2")),
            ("tiers[1].relief.normal_annual_rate", "rate_out_of_range"),
        ),
        (
            with_limits(2, "settlement", max_discount=D("1")),
            ("tiers[2].settlement.max_discount", "percent_out_of_range"),
        ),
        (with_limits(2, "settlement", max_payments=4), ("tiers[2].settlement.max_payments", "out_of_range")),
        (with_limits(2, "settlement", deadline_days=-1), ("tiers[2].settlement.deadline_days", "negative")),
        (
            with_limits(2, "settlement", agent_max_discount=D("0.25")),
            ("tiers[2].settlement.agent_max_discount", "exceeds_limit"),
        ),
        (
            with_limits(2, "settlement", needs_supervisor_above=D("30")),
            ("tiers[2].settlement.needs_supervisor_above", "percent_out_of_range"),
        ),
        (with_limits(2, "personalised", max_tenor=72), ("tiers[2].personalised.max_tenor", "tenor_over_cap")),
        (
            with_limits(2, "personalised", max_fee_waiver=D("2")),
            ("tiers[2].personalised.max_fee_waiver", "percent_out_of_range"),
        ),
        (with_limits(2, "personalised", max_pause_months=-1), ("tiers[2].personalised.max_pause_months", "negative")),
        (
            with_limits(2, "personalised", max_tenor=12, max_pause_months=12),
            ("tiers[2].personalised.max_pause_months", "out_of_range"),
        ),
        (replace(BASE, currency="XYZ"), ("currency", "unknown_currency")),
        (replace(BASE, tiers=()), ("tiers", "empty")),
        (replace(BASE, cooldown_days=-1), ("cooldown_days", "negative")),
        (replace(BASE, link_expiry_hours=0), ("link_expiry_hours", "out_of_range")),
        (replace(BASE, affordability_share=D("50")), ("affordability_share", "percent_out_of_range")),
        (replace(BASE, promise_max_days=0), ("promise_max_days", "out_of_range")),
        (replace(BASE, promise_min_share=D("1.01")), ("promise_min_share", "percent_out_of_range")),
    ],
)
def test_each_bad_limit_names_its_field_and_code(policy: OfferPolicy, expected: tuple[str, str]) -> None:
    assert expected in problems(policy)


def test_a_tier_starting_at_zero_is_out_of_range_only() -> None:
    assert problems(with_tier(0, min_dpd=0)) == {("tiers[0].min_dpd", "out_of_range")}


def test_problem_params_and_text() -> None:
    (gap,) = validate_policy(with_tier(1, min_dpd=35))
    assert gap == PolicyProblem("tiers[1].min_dpd", "gap", {"start": 30, "end": 34})
    assert str(gap) == "tiers[1].min_dpd: gap (start=30, end=34)"
    (rate,) = validate_policy(with_limits(0, "installment", max_monthly_fee_rate=D("0.08")))
    assert rate.params == {"value": "0.08", "min": "0", "max": "0.05"}


def test_disallowed_plan_types_are_not_checked() -> None:
    junk = InstallmentLimits(allowed=False, tenors=(99, 99), max_monthly_fee_rate=D("9"))
    assert validate_policy(with_tier(4, installment=junk)) == []


def test_tier_order_in_the_document_does_not_matter() -> None:
    shuffled = replace(BASE, tiers=tuple(reversed(BASE.tiers)))
    assert validate_policy(shuffled) == []
    assert shuffled.to_dict() == BASE.to_dict()


def test_trailing_zeros_are_not_too_many_decimals() -> None:
    assert validate_policy(with_limits(0, "installment", min_installment=D("100.500"))) == []


# --- storage ----------------------------------------------------------------------------


def test_round_trip_through_json() -> None:
    text = json.dumps(BASE.to_dict(), sort_keys=True)
    again = OfferPolicy.from_dict(json.loads(text))
    assert again == BASE
    assert json.dumps(again.to_dict(), sort_keys=True) == text


def test_to_dict_is_plain_and_stably_ordered() -> None:
    shuffled = with_limits(0, "installment", tenors=(24, 3, 12, 6))
    data = shuffled.to_dict()
    tier = data["tiers"][0]  # type: ignore[index]
    assert tier["installment"]["tenors"] == [3, 6, 12, 24]
    assert tier["installment"]["max_monthly_fee_rate"] == "0.006"
    assert tier["installment"]["pricing"] == "monthly_fee"
    assert tier["max_dpd"] == 29 and data["tiers"][-1]["max_dpd"] is None  # type: ignore[index]
    assert data["blocking_flags"] == ["deceased", "dispute", "fraud"]
    assert data["affordability_share"] == "0.5"
    assert list(data)[:2] == ["currency", "tiers"]


def minimal() -> dict[str, Any]:
    return {"currency": "CNY", "tiers": [{"name": "all", "min_dpd": 1, "max_dpd": None}]}


def test_missing_optional_keys_take_restrictive_defaults() -> None:
    policy = OfferPolicy.from_dict(minimal())
    assert policy.tiers[0].installment == InstallmentLimits()
    assert policy.tiers[0].settlement == SettlementLimits()
    assert not policy.tiers[0].relief.allowed
    assert validate_policy(policy) == []


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(currency=5), "currency"),
        (lambda d: d.update(colour="red"), "colour"),
        (lambda d: d.pop("tiers"), "tiers"),
        (lambda d: d["tiers"][0].pop("min_dpd"), "tiers[0].min_dpd"),
        (lambda d: d["tiers"][0].update(min_dpd="1"), "tiers[0].min_dpd"),
        (lambda d: d["tiers"][0].update(min_dpd=True), "tiers[0].min_dpd"),
        (lambda d: d["tiers"][0].update(installment={"allowed": "yes"}), "tiers[0].installment.allowed"),
        (lambda d: d["tiers"][0].update(installment={"max_annual_rate": 0.1}), "tiers[0].installment.max_annual_rate"),
        (
            lambda d: d["tiers"][0].update(installment={"max_annual_rate": "ten"}),
            "tiers[0].installment.max_annual_rate",
        ),
        (
            lambda d: d["tiers"][0].update(installment={"max_annual_rate": "Infinity"}),
            "tiers[0].installment.max_annual_rate",
        ),
        (lambda d: d["tiers"][0].update(installment={"pricing": "weekly"}), "tiers[0].installment.pricing"),
        (lambda d: d["tiers"][0].update(installment={"tenors": [3, "6"]}), "tiers[0].installment.tenors[1]"),
        (lambda d: d["tiers"][0].update(relief={"max_mnths": 6}), "tiers[0].relief.max_mnths"),
        (lambda d: d.update(tiers={}), "tiers"),
    ],
)
def test_from_dict_refuses_loose_documents(mutate: Any, path: str) -> None:
    data = minimal()
    mutate(data)
    with pytest.raises(PolicyFormatError) as caught:
        OfferPolicy.from_dict(data)
    assert caught.value.path == path


def test_hand_built_policy_validates() -> None:
    policy = OfferPolicy(
        currency="JPY",
        tiers=(
            Tier(
                "early",
                1,
                59,
                installment=InstallmentLimits(
                    allowed=True,
                    tenors=(6, 12),
                    pricing=Pricing.ANNUAL_RATE,
                    max_annual_rate=D("0.15"),
                    min_installment=D("1000"),
                ),
            ),
            Tier(
                "late",
                60,
                None,
                settlement=SettlementLimits(allowed=True, max_discount=D("0.3"), deadline_days=14, max_payments=3),
                personalised=PersonalisedLimits(allowed=True, max_tenor=60),
                relief=ReliefLimits(allowed=True, max_months=12, after_months=48),
            ),
        ),
    )
    assert validate_policy(policy) == []
    assert problems(with_decimals(policy)) == {("tiers[0].installment.min_installment", "too_many_decimals")}


def with_decimals(policy: OfferPolicy) -> OfferPolicy:
    early = policy.tiers[0]
    limits = replace(early.installment, min_installment=D("1000.5"))
    return replace(policy, tiers=(replace(early, installment=limits), policy.tiers[1]))


def test_dump_handles_named_tuples() -> None:
    from datetime import date

    from portal.domain.policy_io import dump
    from portal.domain.schedule import PlanType
    from portal.domain.terms import PlanTerms

    data = dump(PlanTerms(PlanType.SETTLEMENT, discount=D("0.3"), payments=2, deadline=date(2027, 3, 2)))
    assert data["plan"] == "settlement" and data["discount"] == "0.3" and data["payments"] == 2
    assert data["deadline"] == "2027-03-02"
