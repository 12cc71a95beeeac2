"""A personalised plan at the terms a supervisor approves: `personalised_quote`.

The offer a cardholder asks for is the tier's longest plan. A supervisor may approve it
at another length, or at the monthly amount the cardholder proposed (the shortest length
whose payments stay at or under it), and may start it with a payment pause. Limits:

* length plus pause at most the tier's `max_tenor` (itself at most 60 months);
* pause at most the tier's `max_pause_months`; during it nothing is due and nothing is
  charged: the first payment moves on by the pause, and the annualised rate follows
  from the real dates;
* every payment at least the tier's minimum installment (and the currency's minor unit).

Price and fee waiver are the tier's, as in the offer. Nothing here touches a database.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext

from portal.domain.builders import in_context_installment_plan
from portal.domain.dates import add_months
from portal.domain.money import CONTEXT, minor_unit
from portal.domain.policy import PersonalisedLimits
from portal.domain.rates import in_context_loan_apr_ear
from portal.domain.schedule import PlanType, Pricing, Quote, Waived
from portal.domain.terms import PlanTerms

__all__ = ["PersonaliseError", "personalised_quote"]


class PersonaliseError(ValueError):
    """Terms outside the tier's limits. Codes: ``months_out_of_range``,
    ``pause_out_of_range``, ``monthly_too_low``, ``below_minimum``, ``choose_one``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _price(lim: PersonalisedLimits) -> Decimal:
    return lim.max_monthly_fee_rate if lim.pricing is Pricing.MONTHLY_FEE else lim.max_annual_rate


def _build(
    currency: str, amount: Decimal, waived: Waived, lim: PersonalisedLimits, first_due: date, months: int
) -> Quote:
    return in_context_installment_plan(
        currency, amount, months, lim.pricing, _price(lim), first_due, Decimal(0), waived, PlanType.PERSONALISED
    )


def personalised_quote(
    currency: str,
    amount: Decimal,
    waived: Waived,
    lim: PersonalisedLimits,
    first_due: date,
    *,
    months: int | None = None,
    monthly: Decimal | None = None,
    pause_months: int = 0,
) -> tuple[PlanTerms, Quote]:
    """The terms and schedule of a personalised plan of ``months`` payments, or of the
    fewest payments of at most ``monthly`` each (give one of the two), starting after a
    pause of ``pause_months``. ``first_due`` is the first due date without a pause.

    Raises `PersonaliseError` when the result would break the tier's limits.
    """
    if (months is None) == (monthly is None):
        raise PersonaliseError("choose_one")
    if not 0 <= pause_months <= lim.max_pause_months:
        raise PersonaliseError("pause_out_of_range")
    longest = lim.max_tenor - pause_months
    start = add_months(first_due, pause_months)
    with localcontext(CONTEXT):
        floor = max(lim.min_installment, minor_unit(currency))
        if months is not None:
            if not 1 <= months <= longest:
                raise PersonaliseError("months_out_of_range")
            quote = _build(currency, amount, waived, lim, start, months)
        else:
            assert monthly is not None
            quote = _fewest_within(currency, amount, waived, lim, start, monthly, longest)
        if quote.min_payment < floor:
            raise PersonaliseError("below_minimum")
        if pause_months and quote.total_cost:
            # The schedule's own rate counts from one month before its first payment;
            # the money is lent at the start of the pause, so count the paused months too.
            totals = [Decimal(0)] * pause_months + [row.total for row in quote.installments]
            apr, ear = in_context_loan_apr_ear(quote.principal, totals)
            quote = quote._replace(apr=apr, ear=ear)
        terms = PlanTerms(
            PlanType.PERSONALISED,
            months=len(quote.installments),
            pricing=lim.pricing,
            rate=_price(lim),
            fee_waiver=lim.max_fee_waiver,
        )
        return terms, quote


def _fewest_within(
    currency: str, amount: Decimal, waived: Waived, lim: PersonalisedLimits, start: date, monthly: Decimal, longest: int
) -> Quote:
    if monthly <= 0 or longest < 1:
        raise PersonaliseError("monthly_too_low")
    # Payments fall as the plan lengthens, so the first length that fits is the fewest.
    principal = amount - waived.written_off
    guess = max(1, min(longest, int(principal // monthly)))
    while guess > 1 and _build(currency, amount, waived, lim, start, guess - 1).max_payment <= monthly:
        guess -= 1
    for length in range(guess, longest + 1):
        quote = _build(currency, amount, waived, lim, start, length)
        if quote.max_payment <= monthly:
            return quote
    raise PersonaliseError("monthly_too_low")
