"""Tiers by days past due AND balance band: the one tier choice (``OfferPolicy.tier_for``)
and the validation that makes it unambiguous."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from portal.domain.default_policy import SMALL_BALANCE, default_policy, demo_policy
from portal.domain.policy import OfferPolicy, Tier
from portal.domain.policy_validation import PROBLEM_CODES, validate_policy

D = Decimal
BASE = default_policy()
BANDED = demo_policy()


def split_m1(*bands: tuple[Decimal, Decimal | None]) -> OfferPolicy:
    """The default policy with M1 (1–29) replaced by one tier per (from, below) band."""
    m1, *rest = BASE.tiers
    split = [replace(m1, name=f"M1-{i}", balance_from=low, balance_below=high) for i, (low, high) in enumerate(bands)]
    return replace(BASE, tiers=(*split, *rest))


def problems(policy: OfferPolicy) -> set[tuple[str, str]]:
    found = validate_policy(policy)
    assert all(p.code in PROBLEM_CODES for p in found)
    return {(p.field, p.code) for p in found}


def test_a_tier_without_a_band_takes_any_balance() -> None:
    m1 = BASE.tiers[0]
    assert not m1.banded
    assert [m1.covers(5, owed) for owed in (D(0), D("0.01"), D("1999.99"), D(10) ** 12)] == [True] * 4
    assert BASE.tier_for(5, D(0)) is m1 and BASE.tier_for(5, D(10) ** 12) is m1


def test_a_document_without_bands_reads_as_any_balance() -> None:
    document = BASE.to_dict()
    for tier in document["tiers"]:  # type: ignore[union-attr]
        del tier["balance_from"], tier["balance_below"]
    assert OfferPolicy.from_dict(document) == BASE


def test_the_demo_policy_splits_m1_at_the_small_balance() -> None:
    assert validate_policy(BANDED) == []
    assert BANDED.tier_for(1, SMALL_BALANCE - D("0.01")).name == "M1 small"
    assert BANDED.tier_for(29, D(0)).name == "M1 small"
    assert BANDED.tier_for(1, SMALL_BALANCE).name == "M1"  # the band's lower end is inclusive
    assert BANDED.tier_for(29, SMALL_BALANCE + D("0.01")).name == "M1"
    # Past M1 the balance does not matter: the other tiers have no band.
    assert BANDED.tier_for(30, D(5)).name == BANDED.tier_for(30, D(10) ** 9).name == "M2"
    assert BANDED.tier_for(0, D(5)) is None


def test_bands_round_trip_through_the_document() -> None:
    again = OfferPolicy.from_dict(BANDED.to_dict())
    assert again == BANDED
    small = BANDED.to_dict()["tiers"][0]  # type: ignore[index]
    assert (small["name"], small["balance_from"], small["balance_below"]) == ("M1 small", "0", "2000")


def test_the_tier_order_in_the_document_does_not_change_the_choice() -> None:
    reordered = replace(BANDED, tiers=(BANDED.tiers[1], BANDED.tiers[0], *BANDED.tiers[2:]))
    assert validate_policy(reordered) == []
    for owed in (D(0), D("1999.99"), D(2000), D(50000)):
        assert reordered.tier_for(10, owed) == BANDED.tier_for(10, owed)


def test_three_bands_end_to_end_are_valid() -> None:
    policy = split_m1((D(0), D(500)), (D(500), D(5000)), (D(5000), None))
    assert validate_policy(policy) == []
    assert [policy.tier_for(3, owed).name for owed in (D(499), D(500), D("4999.99"), D(5000))] == [
        "M1-0",
        "M1-1",
        "M1-1",
        "M1-2",
    ]


def test_a_gap_between_bands_is_refused() -> None:
    assert problems(split_m1((D(0), D(1000)), (D(2000), None))) == {("tiers[1].balance_from", "band_gap")}
    (gap,) = validate_policy(split_m1((D(0), D(1000)), (D(2000), None)))
    assert dict(gap.params) == {"start": "1000", "end": "2000", "min_dpd": 1, "max_dpd": 29}


def test_bands_that_start_above_zero_or_stop_short_are_refused() -> None:
    assert problems(split_m1((D(100), D(1000)), (D(1000), None))) == {("tiers[0].balance_from", "band_gap")}
    assert problems(split_m1((D(0), D(1000)), (D(1000), D(9000)))) == {("tiers[1].balance_below", "band_gap")}


def test_overlapping_bands_are_refused() -> None:
    assert problems(split_m1((D(0), D(2000)), (D(1500), None))) == {("tiers[1].balance_from", "band_overlap")}
    # Two tiers on the same days without any band overlap entirely.
    assert problems(split_m1((D(0), None), (D(0), None))) == {("tiers[1].balance_from", "band_overlap")}


def test_a_band_must_not_end_where_it_starts() -> None:
    found = problems(split_m1((D(0), D(0)), (D(0), None)))
    assert ("tiers[0].balance_below", "min_above_max") in found


def test_a_band_with_more_decimals_than_the_currency_is_refused() -> None:
    found = problems(split_m1((D(0), D("1000.001")), (D("1000.001"), None)))
    assert ("tiers[0].balance_below", "too_many_decimals") in found


def test_a_negative_band_edge_is_refused() -> None:
    assert ("tiers[0].balance_from", "negative") in problems(split_m1((D(-5), D(1000)), (D(1000), None)))


def test_bands_on_different_day_ranges_are_still_a_day_overlap() -> None:
    m1, *rest = BASE.tiers
    small = replace(m1, name="M1 small", balance_below=D(2000))
    large = replace(m1, max_dpd=35, balance_from=D(2000))
    found = problems(replace(BASE, tiers=(small, large, *rest)))
    assert ("tiers[2].min_dpd", "overlap") in found


amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def banded_policies(draw: st.DrawFn) -> OfferPolicy:
    """The default policy with some tiers each split into valid bands at drawn cuts."""
    tiers: list[Tier] = []
    for tier in BASE.tiers:
        cuts = sorted(set(draw(st.lists(amounts.filter(lambda a: a > 0), max_size=3))))
        bounds: list[Decimal | None] = [D(0), *cuts, None]
        tiers += [
            replace(tier, name=f"{tier.name}#{b}", balance_from=bounds[b] or D(0), balance_below=bounds[b + 1])
            for b in range(len(bounds) - 1)
        ]
    order = draw(st.permutations(tiers))
    return replace(BASE, tiers=tuple(order))


@given(banded_policies(), st.integers(min_value=1, max_value=5000), amounts)
def test_a_valid_banded_policy_puts_every_account_in_exactly_one_tier(
    policy: OfferPolicy, dpd: int, owed: Decimal
) -> None:
    assert validate_policy(policy) == []
    holding = [t for t in policy.tiers if t.covers(dpd, owed)]
    assert len(holding) == 1
    assert policy.tier_for(dpd, owed) is holding[0]
    # The chosen tier is the unbanded policy's tier for the days, split by balance.
    assert holding[0].name.rsplit("#", 1)[0] == BASE.tier_for(dpd, owed).name


@given(banded_policies(), st.integers(min_value=0, max_value=3), amounts)
def test_removing_a_band_tier_is_always_caught(policy: OfferPolicy, which: int, owed: Decimal) -> None:
    banded = [i for i, t in enumerate(policy.tiers) if t.banded]
    if not banded:
        return
    drop = banded[which % len(banded)]
    broken = replace(policy, tiers=tuple(t for i, t in enumerate(policy.tiers) if i != drop))
    assert {p.code for p in validate_policy(broken)} & {"band_gap"}
