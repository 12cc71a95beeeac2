"""The account facts offers are computed from: a frozen, validated snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal.domain.money import currency_places

__all__ = ["AccountSnapshot"]


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """One card account as the core banking system last reported it.

    The balance is split into principal, interest, fees and late fees, each in the
    account's currency and no finer than its minor unit. `flags` are do-not-offer and
    similar markers such as {"dispute", "deceased", "fraud"}; which of them block offers
    is policy (`OfferPolicy.blocking_flags`). `new_plans_after_broken` are the dates
    (the cardholder's) on which plans were accepted after an earlier plan of the account
    broke: the history the re-ageing limits count (`portal.domain.reage`).
    """

    currency: str
    principal: Decimal
    interest: Decimal
    fees: Decimal
    late_fees: Decimal
    overdue_amount: Decimal
    minimum_due: Decimal
    days_past_due: int
    due_date: date
    flags: frozenset[str] = frozenset()
    has_active_plan: bool = False
    last_broken_plan_on: date | None = None
    new_plans_after_broken: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        # Fail where bad data enters, not deep inside a schedule: an offer built on a
        # float or a sub-fen amount would be wrong in ways nobody would notice.
        places = currency_places(self.currency)  # raises CurrencyError if unknown
        for name in ("principal", "interest", "fees", "late_fees", "overdue_amount", "minimum_due"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise ValueError(f"{name} must be a finite Decimal")
            if value < 0:
                raise ValueError(f"{name} must not be negative")
            exponent = value.as_tuple().exponent
            if isinstance(exponent, int) and exponent < -places and value != round(value, places):
                raise ValueError(f"{name} has more decimals than {self.currency} allows")
        if isinstance(self.days_past_due, bool) or not isinstance(self.days_past_due, int):
            raise ValueError("days_past_due must be a whole number")
        if self.days_past_due < 0:
            raise ValueError("days_past_due must not be negative")

    @property
    def balance(self) -> Decimal:
        """Everything owed: principal + interest + fees + late fees."""
        return self.principal + self.interest + self.fees + self.late_fees
