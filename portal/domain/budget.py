"""Affordability, grouped as the UK Standard Financial Statement groups a budget.

Income less fixed and flexible costs leaves the monthly disposable income; a plan fits
when its largest monthly payment is at most the policy's share of it, so the cardholder
keeps a margin for the unexpected and the plan can be kept.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

from portal.domain.money import ZERO
from portal.domain.offers import Offer
from portal.domain.schedule import Quote

__all__ = ["Budget", "affordable_payment", "fits"]

_INCOME = ("earnings", "benefits", "pensions", "other_income")
_FIXED = ("housing", "utilities", "transport", "care_health", "school", "insurance", "other_essentials")
_FLEXIBLE = ("food_housekeeping", "communications_leisure", "personal")


@dataclass(frozen=True, slots=True)
class Budget:
    """Monthly amounts, all Decimal and not negative.

    Income: earnings, benefits, pensions, other_income. Fixed costs: housing (rent or
    mortgage, council tax), utilities (incl. water), transport, care_health, school,
    insurance (incl. pension contributions), other_essentials (incl. professional
    fees). Flexible costs: food_housekeeping, communications_leisure, personal.
    """

    earnings: Decimal = ZERO
    benefits: Decimal = ZERO
    pensions: Decimal = ZERO
    other_income: Decimal = ZERO
    housing: Decimal = ZERO
    utilities: Decimal = ZERO
    transport: Decimal = ZERO
    care_health: Decimal = ZERO
    school: Decimal = ZERO
    insurance: Decimal = ZERO
    other_essentials: Decimal = ZERO
    food_housekeeping: Decimal = ZERO
    communications_leisure: Decimal = ZERO
    personal: Decimal = ZERO

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValueError(f"{f.name} must be a Decimal of zero or more")

    def _sum(self, names: tuple[str, ...]) -> Decimal:
        return sum((getattr(self, n) for n in names), ZERO)

    @property
    def income(self) -> Decimal:
        """Total monthly income."""
        return self._sum(_INCOME)

    @property
    def fixed_costs(self) -> Decimal:
        """Costs that cannot be cut short term."""
        return self._sum(_FIXED)

    @property
    def flexible_costs(self) -> Decimal:
        """Costs the cardholder has some say over."""
        return self._sum(_FLEXIBLE)

    @property
    def costs(self) -> Decimal:
        """Fixed plus flexible costs."""
        return self.fixed_costs + self.flexible_costs

    @property
    def disposable(self) -> Decimal:
        """Income − costs; negative when the budget does not balance."""
        return self.income - self.costs


def affordable_payment(budget: Budget, share: Decimal) -> Decimal:
    """The most a plan should ask a month: `share` (0..1) of disposable income, ≥ 0."""
    if not ZERO <= share <= 1:
        raise ValueError("share must be a fraction from 0 to 1")
    return max(budget.disposable * share, ZERO)


def fits(offer: Offer | Quote, budget: Budget, share: Decimal) -> bool:
    """True when the offer's largest monthly payment ≤ disposable income × `share`.

    The down payment, a one-off on acceptance, is not a monthly payment and is left to
    the cardholder's savings.
    """
    quote = offer.quote if isinstance(offer, Offer) else offer
    return quote.max_payment <= affordable_payment(budget, share)
