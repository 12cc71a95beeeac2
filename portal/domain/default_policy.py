"""A realistic starting policy for a Chinese card portfolio (CNY), used by demo data.

Figures follow common practice: 0.6 % a month installment fees for 3–24 months early
on; relief and settlements open up as accounts age; the five-year personalised plan of
CBRC 2011 Art. 70 from M3. A bank replaces this with its own, approved, policy.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from portal.domain.policy import (
    InstallmentLimits,
    OfferPolicy,
    PersonalisedLimits,
    ReliefLimits,
    SettlementLimits,
    Tier,
)
from portal.domain.schedule import Pricing

__all__ = ["SMALL_BALANCE", "default_policy", "demo_policy"]

D = Decimal

_FEE_INSTALLMENTS = InstallmentLimits(
    allowed=True,
    tenors=(3, 6, 12, 24),
    pricing=Pricing.MONTHLY_FEE,
    max_monthly_fee_rate=D("0.006"),
    min_installment=D("100"),
    min_balance=D("600"),
    max_balance=D("500000"),
    agent_max_tenor=24,
)

_RELIEF = ReliefLimits(
    allowed=True,
    max_months=6,
    after_months=12,
    normal_annual_rate=D("0.1825"),  # 0.05 % a day, the usual card rate
    max_rate_cut=D("0.5"),
    max_fee_waiver=D("0.5"),
    min_payment=D("200"),
    min_balance=D("1000"),
    agent_max_months=6,
    agent_max_fee_waiver=D("0.5"),
)

_PERSONALISED = PersonalisedLimits(
    allowed=True,
    max_tenor=60,
    max_fee_waiver=D("1"),
    min_installment=D("50"),
    min_balance=D("3000"),
)
# From 90 days past due hardship is likely: a supervisor may start with a pause.
_PERSONALISED_HARDSHIP = replace(_PERSONALISED, max_pause_months=3)


def default_policy() -> OfferPolicy:
    """The default CNY policy: tiers M1 1–29, M2 30–59, M3 60–89, M4 90–179, W/O 180+."""
    return OfferPolicy(
        currency="CNY",
        tiers=(
            Tier("M1", 1, 29, installment=_FEE_INSTALLMENTS),
            Tier("M2", 30, 59, installment=_FEE_INSTALLMENTS, relief=_RELIEF),
            Tier(
                "M3",
                60,
                89,
                installment=InstallmentLimits(
                    allowed=True,
                    tenors=(6, 12, 24, 36),
                    max_monthly_fee_rate=D("0.006"),
                    min_down_payment=D("0.05"),
                    min_installment=D("100"),
                    min_balance=D("600"),
                    needs_supervisor_above=24,
                    agent_max_tenor=24,
                ),
                relief=ReliefLimits(
                    allowed=True,
                    max_months=6,
                    after_months=18,
                    normal_annual_rate=D("0.1825"),
                    max_rate_cut=D("1"),
                    max_fee_waiver=D("1"),
                    min_payment=D("100"),
                    min_balance=D("1000"),
                    agent_max_months=6,
                    agent_max_fee_waiver=D("0.5"),
                ),
                settlement=SettlementLimits(
                    allowed=True,
                    max_discount=D("0.2"),
                    deadline_days=30,
                    max_payments=2,
                    min_payment=D("100"),
                    min_balance=D("2000"),
                    needs_supervisor_above=D("0.3"),
                    agent_max_discount=D("0.1"),
                ),
                personalised=_PERSONALISED,
            ),
            Tier(
                "M4",
                90,
                179,
                # Annuity pricing: interest on the declining balance at 12 % a year.
                installment=InstallmentLimits(
                    allowed=True,
                    tenors=(12, 24, 36),
                    pricing=Pricing.ANNUAL_RATE,
                    max_annual_rate=D("0.12"),
                    min_down_payment=D("0.1"),
                    min_installment=D("100"),
                    min_balance=D("1000"),
                    needs_supervisor_above=24,
                    agent_max_tenor=24,
                ),
                relief=ReliefLimits(
                    allowed=True,
                    max_months=6,
                    after_months=24,
                    normal_annual_rate=D("0.1825"),
                    max_rate_cut=D("1"),
                    max_fee_waiver=D("1"),
                    min_payment=D("100"),
                    min_balance=D("1000"),
                    needs_supervisor_above=3,
                    agent_max_months=3,
                    agent_max_fee_waiver=D("0.5"),
                ),
                settlement=SettlementLimits(
                    allowed=True,
                    max_discount=D("0.4"),
                    deadline_days=30,
                    max_payments=3,
                    min_payment=D("100"),
                    min_balance=D("1000"),
                    needs_supervisor_above=D("0.3"),
                    agent_max_discount=D("0.2"),
                ),
                personalised=_PERSONALISED_HARDSHIP,
            ),
            Tier(
                "W/O",
                180,
                None,
                settlement=SettlementLimits(
                    allowed=True,
                    max_discount=D("0.5"),
                    deadline_days=45,
                    max_payments=3,
                    min_payment=D("100"),
                    min_balance=D("500"),
                    needs_supervisor_above=D("0.4"),
                    agent_max_discount=D("0.3"),
                ),
                personalised=PersonalisedLimits(
                    allowed=True,
                    max_tenor=60,
                    max_fee_waiver=D("1"),
                    min_installment=D("50"),
                    min_balance=D("1000"),
                    max_pause_months=3,
                ),
            ),
        ),
        cooldown_days=90,
        max_new_plans_12_months=1,
        max_new_plans_5_years=2,
        link_expiry_hours=72,
        affordability_share=D("0.5"),
        promise_max_days=14,
        promise_min_share=D("0.2"),
    )


# Below this an early (M1) balance is left to automated reminders and self-service links;
# agents work the larger ones. A band, so it is the bank's figure, edited and approved.
SMALL_BALANCE = D("2000")


def demo_policy() -> OfferPolicy:
    """The default policy with M1 split by balance band, as banks queue early arrears:
    "M1 small" (1–29 days, balance below 2,000: reminders and self-service) and "M1"
    (1–29 days, 2,000 and over: the agents' queue). Both offer the same plans."""
    policy = default_policy()
    m1, *rest = policy.tiers
    small = replace(m1, name="M1 small", balance_below=SMALL_BALANCE)
    return replace(policy, tiers=(small, replace(m1, balance_from=SMALL_BALANCE), *rest))
