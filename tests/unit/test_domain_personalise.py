"""Personalised plans at the terms a supervisor approves: length, monthly amount, pause."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from portal.domain.default_policy import default_policy
from portal.domain.personalise import PersonaliseError, personalised_quote
from portal.domain.schedule import Pricing, Waived

D = Decimal

HARDSHIP = default_policy().tier_for(400, Decimal(10000)).personalised  # 60 months, pause up to 3, minimum 50
FIRST = date(2026, 12, 28)


def test_the_default_policy_allows_a_pause_only_in_hardship_tiers():
    policy = default_policy()
    assert policy.tier_for(70, Decimal(10000)).personalised.max_pause_months == 0
    assert policy.tier_for(95, Decimal(10000)).personalised.max_pause_months == 3
    assert policy.tier_for(400, Decimal(10000)).personalised.max_pause_months == 3


def test_a_given_length():
    terms, quote = personalised_quote("CNY", D("30000.00"), Waived(fees=D("100.00")), HARDSHIP, FIRST, months=24)
    assert terms.months == 24 and len(quote.installments) == 24
    assert quote.principal == D("29900.00") and quote.first_due == FIRST


def test_a_monthly_amount_gives_the_fewest_payments_within_it():
    _, quote = personalised_quote("CNY", D("30000.00"), Waived(), HARDSHIP, FIRST, monthly=D("700"))
    assert quote.max_payment <= D("700")
    assert len(quote.installments) == 43  # 42 payments would need 714.29
    _, exact = personalised_quote("CNY", D("1200.00"), Waived(), HARDSHIP, FIRST, monthly=D("100"))
    assert len(exact.installments) == 12 and exact.max_payment == D("100.00")


def test_a_pause_moves_the_first_payment_and_counts_towards_the_length():
    terms, quote = personalised_quote("CNY", D("30000.00"), Waived(), HARDSHIP, FIRST, months=57, pause_months=3)
    assert quote.first_due == date(2027, 3, 28) and terms.months == 57
    with pytest.raises(PersonaliseError, match="months_out_of_range"):
        personalised_quote("CNY", D("30000.00"), Waived(), HARDSHIP, FIRST, months=58, pause_months=3)
    with pytest.raises(PersonaliseError, match="pause_out_of_range"):
        personalised_quote("CNY", D("30000.00"), Waived(), HARDSHIP, FIRST, months=12, pause_months=4)
    no_pause = replace(HARDSHIP, max_pause_months=0)
    with pytest.raises(PersonaliseError, match="pause_out_of_range"):
        personalised_quote("CNY", D("30000.00"), Waived(), no_pause, FIRST, months=12, pause_months=1)


def test_a_paused_plan_with_a_price_has_a_lower_annualised_rate_than_without():
    priced = replace(HARDSHIP, pricing=Pricing.MONTHLY_FEE, max_monthly_fee_rate=D("0.005"))
    _, plain = personalised_quote("CNY", D("12000.00"), Waived(), priced, FIRST, months=24)
    _, paused = personalised_quote("CNY", D("12000.00"), Waived(), priced, FIRST, months=24, pause_months=3)
    assert paused.total_cost == plain.total_cost and paused.apr < plain.apr


def test_terms_outside_the_limits_are_refused():
    with pytest.raises(PersonaliseError, match="monthly_too_low"):
        personalised_quote("CNY", D("30000.00"), Waived(), HARDSHIP, FIRST, monthly=D("400"))  # needs 75 months
    with pytest.raises(PersonaliseError, match="below_minimum"):
        personalised_quote("CNY", D("1000.00"), Waived(), HARDSHIP, FIRST, months=60)  # 16.67 a month
    with pytest.raises(PersonaliseError, match="choose_one"):
        personalised_quote("CNY", D("1000.00"), Waived(), HARDSHIP, FIRST, months=10, monthly=D("100"))
    with pytest.raises(PersonaliseError, match="choose_one"):
        personalised_quote("CNY", D("1000.00"), Waived(), HARDSHIP, FIRST)
