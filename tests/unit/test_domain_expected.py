"""The expected results of a tier's installment offers (portal.domain.expected)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from portal.domain.default_policy import default_policy
from portal.domain.expected import expected_installments

M2 = default_policy().tiers[1].installment  # 3–24 months at 0.6 % a month, no down payment
FIRST_DUE = date(2027, 1, 15)


def test_a_fee_cut_lowers_the_monthly_payment_and_the_fee_income_but_not_the_recovery():
    active = expected_installments(M2, "CNY", 100, Decimal("1000000"), Decimal("0.2"), Decimal("0.5"), FIRST_DUE)
    cheaper = replace(M2, max_monthly_fee_rate=Decimal("0.005"))
    draft = expected_installments(cheaper, "CNY", 100, Decimal("1000000"), Decimal("0.2"), Decimal("0.5"), FIRST_DUE)
    assert active is not None and draft is not None
    assert active.tenor == draft.tenor == 24
    # 10,000 over 24 months: 416.67 of principal, plus 60.00 (0.6 %) or 50.00 (0.5 %) a month.
    assert (active.monthly_payment, draft.monthly_payment) == (Decimal("476.67"), Decimal("466.67"))
    # 100 accounts × 20 % take a plan × 50 % keep it = 10 plans, each with 1,440.00 or 1,200.00 of fees.
    assert (active.fee_income, draft.fee_income) == (Decimal("14400.00"), Decimal("12000.00"))
    assert active.recovery == draft.recovery == Decimal("100000.00")


def test_nothing_is_expected_where_no_installment_is_offered():
    none_allowed = replace(M2, allowed=False)
    assert expected_installments(none_allowed, "CNY", 5, Decimal(5000), Decimal(1), Decimal(1), FIRST_DUE) is None
    assert expected_installments(M2, "CNY", 0, Decimal(0), Decimal(1), Decimal(1), FIRST_DUE) is None


def test_a_kept_rate_above_one_never_expects_more_than_the_balance_offered():
    """Kept plans in the window from acceptances before it can outnumber the window's
    acceptances (a kept rate of 1.5): the expectation stops at every plan kept."""
    over = expected_installments(M2, "CNY", 100, Decimal("1000000"), Decimal("1"), Decimal("1.5"), FIRST_DUE)
    assert over is not None and over.recovery == Decimal("1000000.00")
    assert over.fee_income == Decimal("144000.00")  # 100 plans × 1,440.00
