"""offers_for(): eligibility, the offers of each tier, limits never exceeded, fingerprints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domain.account import AccountSnapshot
from portal.domain.default_policy import default_policy
from portal.domain.offers import Offer, ineligibility, offers_for
from portal.domain.policy import (
    InstallmentLimits,
    OfferPolicy,
    PersonalisedLimits,
    ReliefLimits,
    SettlementLimits,
    Tier,
)
from portal.domain.policy_validation import validate_policy
from portal.domain.quote import quote
from portal.domain.schedule import MAX_PLAN_MONTHS, LevelRows, PlanType, Pricing
from portal.domain.terms import PlanTerms, canonical_json, fingerprint

D = Decimal
POLICY = default_policy()
TODAY = date(2027, 1, 31)


def account(dpd: int = 10, principal: str = "18000", **changes: Any) -> AccountSnapshot:
    fields: dict[str, Any] = {
        "currency": "CNY",
        "principal": D(principal),
        "interest": D("1200"),
        "fees": D("300"),
        "late_fees": D("150"),
        "overdue_amount": D("3000"),
        "minimum_due": D("900"),
        "days_past_due": dpd,
        "due_date": date(2026, 12, 25),
    }
    fields.update(changes)
    return AccountSnapshot(**fields)


def summary(offers: list[Offer]) -> list[tuple[str, int]]:
    return [(o.plan.value, len(o.quote.installments)) for o in offers]


# --- eligibility -----------------------------------------------------------------------


def test_m1_gets_each_fee_tenor_due_a_month_from_today() -> None:
    offers = offers_for(account(dpd=10), POLICY, TODAY)
    assert summary(offers) == [("installment", 3), ("installment", 6), ("installment", 12), ("installment", 24)]
    twelve = offers[2]
    assert twelve.tier == "M1" and twelve.terms.rate == D("0.006")
    assert twelve.terms.pricing is Pricing.MONTHLY_FEE and twelve.terms.months == 12
    # 31 Jan + 1 month is clamped to 28 Feb; later dates step from that first due date.
    assert twelve.quote.first_due == date(2027, 2, 28)
    assert twelve.quote.installments[1].due_date == date(2027, 3, 28)
    assert twelve.quote.apr.quantize(D("0.0001")) == D("0.1303")
    assert twelve.agent_may_offer and not twelve.needs_approval
    # The offer is exactly what the checked quote API gives for the same terms.
    assert twelve.quote == quote(
        "installment", amount="19650", currency="CNY", months=12, monthly_fee_rate="0.006", first_due=date(2027, 2, 28)
    )


def test_m3_offers_every_type_in_order() -> None:
    offers = offers_for(account(dpd=75), POLICY, TODAY)
    assert summary(offers) == [
        ("installment", 6),
        ("installment", 12),
        ("installment", 24),
        ("installment", 36),
        ("relief", 24),
        ("settlement", 1),
        ("settlement", 2),
        ("personalised", 60),
    ]
    by_plan = {o.plan: o for o in offers}
    # M3 installments need a 5 % down payment, rounded up: 19650 × 5 % = 982.50.
    assert offers[0].quote.down_payment == D("982.50")
    assert [o.needs_approval for o in offers[:4]] == [False, False, False, True]
    settlement = by_plan[PlanType.SETTLEMENT]
    assert settlement.quote.first_due == TODAY + timedelta(days=30)
    assert settlement.quote.waived.discount == D("3930.00")  # 20 % of 19650
    assert not settlement.agent_may_offer  # agents may give 10 % at most
    relief = by_plan[PlanType.RELIEF]
    assert relief.terms.relief_rate == 0 and relief.terms.relief_months == 6
    assert relief.quote.waived.fees == D("300.00") and relief.quote.waived.late_fees == D("150.00")
    personalised = by_plan[PlanType.PERSONALISED]
    assert personalised.needs_approval and personalised.needs_hardship_reason
    assert not personalised.agent_may_offer
    assert personalised.quote.total_cost == 0 and personalised.quote.principal == D("19200.00")


def test_write_off_offers_settlements_and_personalised_only() -> None:
    offers = offers_for(account(dpd=400), POLICY, TODAY)
    assert summary(offers) == [("settlement", 1), ("settlement", 2), ("settlement", 3), ("personalised", 60)]
    assert all(o.needs_approval for o in offers)  # 50 % is above the 40 % threshold


def test_ineligible_accounts_get_nothing() -> None:
    cases = {
        "blocked": account(flags=frozenset({"dispute"})),
        "active_plan": account(has_active_plan=True),
        "cooling_down": account(last_broken_plan_on=TODAY - timedelta(days=89)),
        "not_overdue": account(dpd=0),
        "currency": account(currency="HKD"),
        "nothing_owed": account(principal="0", interest=D(0), fees=D(0), late_fees=D(0)),
    }
    for reason, snapshot in cases.items():
        assert reason in ineligibility(snapshot, POLICY, TODAY)
        assert offers_for(snapshot, POLICY, TODAY) == []
    # An unknown flag blocks nothing; the cool-down ends after exactly 90 days.
    assert offers_for(account(flags=frozenset({"vip"})), POLICY, TODAY)
    assert offers_for(account(last_broken_plan_on=TODAY - timedelta(days=90)), POLICY, TODAY)


def test_balance_bands_and_minimum_installments_filter_offers() -> None:
    # M1 installments start at 600: a balance of 550 gets none at all.
    small = account(principal="100", interest=D(0))
    assert small.balance == D("550")
    assert offers_for(small, POLICY, TODAY) == []
    # 1450 over 24 months is 60.42 a month, under the 100 minimum: 3, 6, 12 only.
    medium = account(principal="1000", interest=D(0))
    assert summary(offers_for(medium, POLICY, TODAY)) == [("installment", 3), ("installment", 6), ("installment", 12)]


def test_personalised_shortens_to_meet_the_minimum_installment() -> None:
    # W/O personalised needs 50 a month: 1000 after waiving fees is 20 months of 50.
    offers = offers_for(account(dpd=400, principal="1000", interest=D(0)), POLICY, TODAY)
    personalised = offers[-1]
    assert personalised.plan is PlanType.PERSONALISED and personalised.terms.months == 20
    assert personalised.quote.min_payment == D("50.00")


def test_offers_json_keys_are_stable_terms() -> None:
    offer = offers_for(account(dpd=45), POLICY, TODAY)[-1]
    assert offer.plan is PlanType.RELIEF
    assert offer.terms._asdict()["relief_payment"] == D("1158.80")
    assert offer.terms.after_months == 12 and offer.terms.normal_rate == D("0.1825")


# --- fingerprints -----------------------------------------------------------------------


def test_fingerprint_is_deterministic_and_sensitive() -> None:
    first = offers_for(account(dpd=75), POLICY, TODAY)
    again = offers_for(account(dpd=75), POLICY, TODAY)
    assert [o.fingerprint for o in first] == [o.fingerprint for o in again]
    assert len({o.fingerprint for o in first}) == len(first)
    assert all(len(o.fingerprint) == 64 and int(o.fingerprint, 16) >= 0 for o in first)
    others = [
        offers_for(account(dpd=75, principal="18000.01"), POLICY, TODAY),
        offers_for(account(dpd=75), POLICY, TODAY + timedelta(days=1)),
    ]
    for changed in others:
        assert not {o.fingerprint for o in changed} & {o.fingerprint for o in first}
    terms, result = first[0].terms, first[0].quote
    assert fingerprint(terms._replace(rate=D("0.0060")), result) == first[0].fingerprint
    assert fingerprint(terms._replace(rate=D("0.0059")), result) != first[0].fingerprint
    assert fingerprint(terms._replace(plan=PlanType.PERSONALISED), result) != first[0].fingerprint


def test_canonical_json_is_sorted_compact_json() -> None:
    for offer in offers_for(account(dpd=120), POLICY, TODAY):
        text = canonical_json(offer.terms, offer.quote)
        document = json.loads(text)
        assert json.dumps(document, sort_keys=True, separators=(",", ":")) == text
        q = offer.quote
        assert document["installments"][0] == [
            str(q.first_due),
            str(q.installments[0].principal),
            str(q.installments[0].charge),
            str(q.installments[0].total),
        ]
        assert len(document["installments"]) == len(q.installments)
        assert document["installments"][-1][0] == str(q.installments[-1].due_date)
        assert document["offer"]["totals"]["apr"] == format(q.apr, "f")
        assert set(document["offer"]["terms"]) == set(PlanTerms._fields)


SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from datetime import date
from decimal import Decimal as D
from portal.domain.account import AccountSnapshot
from portal.domain.default_policy import default_policy
from portal.domain.offers import offers_for
a = AccountSnapshot("CNY", D("18000"), D("1200"), D("300"), D("150"), D("3000"), D("900"), 120,
                    date(2026, 12, 25))
print(" ".join(o.fingerprint for o in offers_for(a, default_policy(), date(2027, 1, 31))))
"""


def test_fingerprint_is_the_same_in_another_process() -> None:
    here = " ".join(o.fingerprint for o in offers_for(account(dpd=120), POLICY, TODAY))
    env = dict(os.environ, PYTHONHASHSEED="12345")
    there = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(root=str(Path(__file__).resolve().parents[2]))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert there == here


# --- random valid policies × random accounts ------------------------------------------


ALLOWED = st.sampled_from([True, True, True, False])


def fraction(top: int = 100) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=0, max_value=top).map(lambda n: D(n) / 100)


def money(top: int) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=0, max_value=top).map(lambda n: D(n).scaleb(-2))


@st.composite
def band(draw: st.DrawFn) -> dict[str, Any]:
    low = draw(money(200_000))
    high = draw(st.none() | money(5_000_000).map(lambda extra: low + extra))
    return {"min_balance": low, "max_balance": high}


@st.composite
def installment_limits(draw: st.DrawFn) -> InstallmentLimits:
    tenors = tuple(draw(st.sets(st.integers(1, MAX_PLAN_MONTHS), min_size=1, max_size=4)))
    return InstallmentLimits(
        allowed=draw(ALLOWED),
        tenors=tenors,
        pricing=draw(st.sampled_from(Pricing)),
        max_monthly_fee_rate=draw(st.integers(0, 500).map(lambda n: D(n).scaleb(-4))),
        max_annual_rate=draw(fraction(60)),
        min_down_payment=draw(fraction(50)),
        min_installment=draw(money(50_000)),
        needs_supervisor_above=draw(st.none() | st.integers(0, MAX_PLAN_MONTHS)),
        agent_max_tenor=draw(st.integers(0, max(tenors))),
        **draw(band()),
    )


@st.composite
def relief_limits(draw: st.DrawFn) -> ReliefLimits:
    months = draw(st.integers(1, 36))
    waiver = draw(fraction())
    return ReliefLimits(
        allowed=draw(ALLOWED),
        max_months=months,
        after_months=draw(st.integers(0, MAX_PLAN_MONTHS - months)),
        normal_annual_rate=draw(fraction(40)),
        max_rate_cut=draw(fraction()),
        max_fee_waiver=waiver,
        min_payment=draw(money(100_000)),
        needs_supervisor_above=draw(st.none() | st.integers(0, 36)),
        agent_max_months=draw(st.integers(0, months)),
        agent_max_fee_waiver=waiver * draw(fraction()),
        **draw(band()),
    )


@st.composite
def settlement_limits(draw: st.DrawFn) -> SettlementLimits:
    discount = draw(fraction(90))
    return SettlementLimits(
        allowed=draw(ALLOWED),
        max_discount=discount,
        deadline_days=draw(st.integers(0, 90)),
        max_payments=draw(st.integers(1, 3)),
        min_payment=draw(money(100_000)),
        needs_supervisor_above=draw(st.none() | fraction()),
        agent_max_discount=discount * draw(fraction()),
        **draw(band()),
    )


@st.composite
def personalised_limits(draw: st.DrawFn) -> PersonalisedLimits:
    return PersonalisedLimits(
        allowed=draw(ALLOWED),
        max_tenor=draw(st.integers(1, MAX_PLAN_MONTHS)),
        pricing=draw(st.sampled_from(Pricing)),
        max_monthly_fee_rate=draw(st.integers(0, 100).map(lambda n: D(n).scaleb(-4))),
        max_annual_rate=draw(fraction(20)),
        max_fee_waiver=draw(fraction()),
        min_installment=draw(money(50_000)),
        **draw(band()),
    )


@st.composite
def policies(draw: st.DrawFn) -> OfferPolicy:
    cuts = sorted(draw(st.sets(st.integers(2, 400), max_size=4)))
    starts = [1, *cuts]
    tiers = tuple(
        Tier(
            f"T{i}",
            start,
            starts[i + 1] - 1 if i + 1 < len(starts) else None,
            installment=draw(installment_limits()),
            relief=draw(relief_limits()),
            settlement=draw(settlement_limits()),
            personalised=draw(personalised_limits()),
        )
        for i, start in enumerate(starts)
    )
    policy = OfferPolicy("CNY", tiers, cooldown_days=draw(st.integers(0, 120)))
    assert validate_policy(policy) == []
    return policy


@st.composite
def accounts(draw: st.DrawFn) -> AccountSnapshot:
    return AccountSnapshot(
        currency="CNY",
        principal=draw(money(50_000_000)),
        interest=draw(money(500_000)),
        fees=draw(money(200_000)),
        late_fees=draw(money(100_000)),
        overdue_amount=draw(money(1_000_000)),
        minimum_due=draw(money(100_000)),
        days_past_due=draw(st.integers(0, 500)),
        due_date=date(2026, 12, 25),
        flags=draw(st.sampled_from([frozenset(), frozenset(), frozenset({"vip"}), frozenset({"dispute"})])),
        has_active_plan=draw(st.sampled_from([False, False, False, True])),
        last_broken_plan_on=draw(st.sampled_from([None, None, date(2026, 1, 1), TODAY])),
    )


def check_within_limits(offer: Offer, account: AccountSnapshot, policy: OfferPolicy) -> None:
    tier = policy.tier_for(account.days_past_due, account.balance)
    assert tier is not None and offer.tier == tier.name
    terms, q = offer.terms, offer.quote
    balance = account.balance
    assert q.amount == balance
    assert 1 <= len(q.installments) <= MAX_PLAN_MONTHS
    assert q.first_due >= TODAY
    assert not (offer.agent_may_offer and offer.needs_approval)
    if offer.plan is PlanType.INSTALLMENT:
        lim = tier.installment
        limit = lim.max_monthly_fee_rate if lim.pricing is Pricing.MONTHLY_FEE else lim.max_annual_rate
        assert lim.allowed and lim.min_balance <= balance
        assert lim.max_balance is None or balance <= lim.max_balance
        assert terms.months in lim.tenors and len(q.installments) == terms.months
        assert terms.pricing is lim.pricing and terms.rate is not None and terms.rate <= limit
        assert q.down_payment >= balance * lim.min_down_payment
        assert q.min_payment >= lim.min_installment
        if offer.agent_may_offer:
            assert terms.months <= lim.agent_max_tenor
        if lim.needs_supervisor_above is not None and terms.months > lim.needs_supervisor_above:
            assert offer.needs_approval
    elif offer.plan is PlanType.RELIEF:
        rl = tier.relief
        assert rl.allowed and rl.min_balance <= balance
        assert rl.max_balance is None or balance <= rl.max_balance
        assert terms.relief_months is not None and terms.relief_months <= rl.max_months
        assert terms.relief_rate is not None
        assert terms.relief_rate >= rl.normal_annual_rate * (1 - rl.max_rate_cut)
        assert terms.fee_waiver <= rl.max_fee_waiver
        assert q.waived.fees <= account.fees * rl.max_fee_waiver
        assert q.waived.late_fees <= account.late_fees * rl.max_fee_waiver
        assert terms.relief_payment is not None and terms.relief_payment >= rl.min_payment
        assert len(q.installments) <= rl.max_months + max(rl.after_months, 1)
        if offer.agent_may_offer:
            assert terms.relief_months <= rl.agent_max_months
            assert terms.fee_waiver <= rl.agent_max_fee_waiver
    elif offer.plan is PlanType.SETTLEMENT:
        sl = tier.settlement
        assert sl.allowed and sl.min_balance <= balance
        assert sl.max_balance is None or balance <= sl.max_balance
        assert terms.discount is not None and terms.discount <= sl.max_discount
        assert q.waived.discount <= balance * sl.max_discount
        assert terms.payments is not None and terms.payments <= sl.max_payments
        assert len(q.installments) == terms.payments
        assert q.first_due <= TODAY + timedelta(days=sl.deadline_days)
        assert q.min_payment >= sl.min_payment and q.total_cost == 0
        if offer.agent_may_offer:
            assert terms.discount <= sl.agent_max_discount
    else:
        pl = tier.personalised
        limit = pl.max_monthly_fee_rate if pl.pricing is Pricing.MONTHLY_FEE else pl.max_annual_rate
        assert pl.allowed and pl.min_balance <= balance
        assert pl.max_balance is None or balance <= pl.max_balance
        assert terms.months is not None and terms.months <= pl.max_tenor
        assert terms.rate is not None and terms.rate <= limit
        assert q.waived.fees <= account.fees * pl.max_fee_waiver
        assert q.min_payment >= pl.min_installment
        assert offer.needs_approval and offer.needs_hardship_reason and not offer.agent_may_offer


def in_band(limits: Any, balance: Decimal) -> bool:
    """The tier allows this plan type and the balance lies inside its band."""
    return (
        limits.allowed
        and limits.min_balance <= balance
        and (limits.max_balance is None or balance <= limits.max_balance)
    )


def settlement_must_be_offered(snapshot: AccountSnapshot, policy: OfferPolicy) -> bool:
    """An eligible account whose one-payment settlement clears the floor with room to spare."""
    tier = policy.tier_for(snapshot.days_past_due, snapshot.balance)
    assert tier is not None
    lim = tier.settlement
    floor = max(lim.min_payment, D("0.01"))
    return in_band(lim, snapshot.balance) and snapshot.balance * (1 - lim.max_discount) >= 2 * floor


@settings(max_examples=60, deadline=None, database=None)
@given(policy=policies(), snapshots=st.lists(accounts(), min_size=1, max_size=8))
def test_offers_never_exceed_a_valid_policy(policy: OfferPolicy, snapshots: list[AccountSnapshot]) -> None:
    for snapshot in snapshots:
        offers = offers_for(snapshot, policy, TODAY)
        if ineligibility(snapshot, policy, TODAY):
            assert offers == []
            continue
        if settlement_must_be_offered(snapshot, policy):
            assert any(o.plan is PlanType.SETTLEMENT for o in offers), snapshot
        plans = [o.plan for o in offers]
        assert plans == sorted(plans, key=list(PlanType).index)
        order = [(list(PlanType).index(o.plan), len(o.quote.installments)) for o in offers]
        assert order == sorted(order)  # then by number of payments
        for offer in offers:
            check_within_limits(offer, snapshot, policy)
            assert offer.fingerprint == fingerprint(offer.terms, offer.quote)


@settings(max_examples=40, deadline=None, database=None)
@given(snapshot=accounts(), shift=st.integers(0, 400))
def test_default_policy_offers_stay_within_it(snapshot: AccountSnapshot, shift: int) -> None:
    snapshot = replace(
        snapshot, days_past_due=snapshot.days_past_due + shift, flags=frozenset(), last_broken_plan_on=None
    )
    offers = offers_for(snapshot, POLICY, TODAY)
    tier = POLICY.tier_for(snapshot.days_past_due, snapshot.balance)
    bands = [tier.installment, tier.relief, tier.settlement, tier.personalised] if tier else []
    if not ineligibility(snapshot, POLICY, TODAY) and any(in_band(b, snapshot.balance) for b in bands):
        # The default policy's bands are set so that a balance inside one always gets an offer.
        assert offers, snapshot
    for offer in offers:
        check_within_limits(offer, snapshot, POLICY)


def test_fee_rows_are_made_lazily_but_behave_as_the_tuple_of_their_rows() -> None:
    q = quote(
        plan="installment",
        currency="CNY",
        amount=D("10000"),
        months=12,
        monthly_fee_rate=D("0.006"),
        first_due=date(2027, 1, 31),
    )
    rows = q.installments
    assert isinstance(rows, LevelRows)
    made = tuple(rows)
    assert len(rows) == 12 and rows[0] == made[0] and rows[-1] == made[-1] and rows[2:4] == made[2:4]
    assert rows == made and made == rows and hash(rows) == hash(made) and rows != list(made)
    assert [r.number for r in rows] == list(range(1, 13))
    assert [r.due_date for r in rows][1:3] == [date(2027, 2, 28), date(2027, 3, 31)]
    assert q.min_payment == min(r.total for r in made) and q.max_payment == max(r.total for r in made)
    one = quote(
        plan="installment",
        currency="CNY",
        amount=D("500"),
        months=1,
        monthly_fee_rate=D("0.006"),
        first_due=date(2027, 1, 31),
    )
    assert len(one.installments) == 1 and one.min_payment == one.max_payment == one.installments[0].total


def test_the_fingerprint_of_lazy_rows_is_that_of_the_same_rows_in_a_tuple() -> None:
    for offer in offers_for(account(dpd=120), POLICY, TODAY) + offers_for(account(dpd=10), POLICY, TODAY):
        plain = offer.quote._replace(installments=tuple(offer.quote.installments))
        assert canonical_json(offer.terms, plain) == canonical_json(offer.terms, offer.quote)


def test_a_quote_with_lazy_rows_dumps_to_plain_json() -> None:
    from portal.domain.policy_io import dump

    q = quote(
        plan="installment",
        currency="CNY",
        amount=D("1200"),
        months=3,
        monthly_fee_rate=D("0.006"),
        first_due=date(2027, 1, 31),
    )
    data = json.loads(json.dumps(dump(q)))
    assert [row["total"] for row in data["installments"]] == [str(r.total) for r in q.installments]
    assert data["installments"][0]["due_date"] == "2027-01-31"
