"""What a tier's installment plans would bring, from observed outcome rates (pure).

The policy impact preview counts the accounts each version would offer; this adds what
those offers would be worth, so that a price change (a monthly fee of 0.6 % cut to 0.5 %)
shows. For one tier of one policy version:

* the typical plan is quoted by the real quote (``portal.domain.quote``) for the average
  balance of the accounts offered installments, over the longest tenor the tier allows
  (the most affordable one), with the tier's highest price and lowest down payment:
  its monthly payment and the fees or interest it carries (fee income);
* of the accounts offered, ``take_up`` accept a plan and ``kept`` of those keep it to the
  third installment (both observed: ``portal.reporting.observed``);
* expected recovery = offered balance × take-up × kept; expected fee income = offered
  accounts × take-up × kept × the typical plan's fees. A plan not kept is counted as
  recovering nothing, a kept one as recovering its balance: a simple model whose rates the
  page shows beside it, with how many plans they rest on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal.domain.money import round_money
from portal.domain.policy import InstallmentLimits
from portal.domain.quote import QuoteError, quote
from portal.domain.schedule import Pricing

ZERO = Decimal(0)


@dataclass(frozen=True)
class Expected:
    tenor: int
    monthly_payment: Decimal  # of the typical plan
    fee_income: Decimal  # expected over the offered accounts
    recovery: Decimal  # expected over the offered accounts


def expected_installments(
    limits: InstallmentLimits,
    currency: str,
    accounts: int,
    balance: Decimal,
    take_up: Decimal,
    kept: Decimal,
    first_due: date,
) -> Expected | None:
    """The expectation for ``accounts`` offered installments owing ``balance`` in total
    (None when the tier offers none, or nobody is offered them)."""
    if not limits.allowed or not limits.tenors or accounts <= 0 or balance <= ZERO:
        return None
    tenor = max(limits.tenors)
    average = round_money(balance / accounts, currency)
    annual = limits.pricing == Pricing.ANNUAL_RATE
    try:
        typical = quote(
            "installment",
            amount=average,
            currency=currency,
            first_due=first_due,
            months=tenor,
            down_payment=round_money(average * limits.min_down_payment, currency),
            annual_rate=limits.max_annual_rate if annual else None,
            monthly_fee_rate=None if annual else limits.max_monthly_fee_rate,
        )
    except QuoteError:
        return None
    # Observed rates are flows over a window, not cohorts: more plans kept in the window
    # than accepted in it (plans accepted before it) must not promise more than every
    # plan kept, nor more than the balance offered.
    take_up, kept = min(max(take_up, ZERO), Decimal(1)), min(max(kept, ZERO), Decimal(1))
    plans_kept = Decimal(accounts) * take_up * kept
    return Expected(
        tenor=tenor,
        monthly_payment=typical.max_payment,
        fee_income=round_money(plans_kept * typical.total_cost, currency),
        recovery=round_money(balance * take_up * kept, currency),
    )
