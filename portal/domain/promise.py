"""Promise-to-pay limits: a cardholder commits to pay an amount by a date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, localcontext

from portal.domain.account import AccountSnapshot
from portal.domain.money import CONTEXT, ceil_money, minor_unit
from portal.domain.policy import OfferPolicy

__all__ = ["PROMISE_CODES", "check_promise", "latest_promise_date", "minimum_promise"]

PROMISE_CODES = frozenset(
    {
        "currency",
        "blocked",
        "active_plan",
        "nothing_overdue",
        "amount_not_positive",
        "too_many_decimals",
        "below_minimum",
        "above_balance",
        "date_in_past",
        "date_too_far",
    }
)


def minimum_promise(overdue: Decimal, share: Decimal, currency: str) -> Decimal:
    """The least a promise may cover: ``share`` of what is overdue, rounded up to the
    currency's minor unit (so the figure shown is one the check accepts)."""
    with localcontext(CONTEXT):
        return ceil_money(overdue * share, currency)


def latest_promise_date(today: date, max_days: int) -> date:
    """The last day a promise may name."""
    return today + timedelta(days=max_days)


def check_promise(
    account: AccountSnapshot, policy: OfferPolicy, amount: Decimal, pay_by: date, today: date
) -> list[str]:
    """Problem codes for promising `amount` by `pay_by`; [] means the promise is fine.

    The promise must fall between today and today + `promise_max_days` (inclusive),
    cover at least `promise_min_share` of the overdue amount (rounded up to the minor
    unit) and not exceed the balance. Accounts with a blocking flag or an active plan
    cannot promise; an active plan already says what is due. Codes: see PROMISE_CODES.
    """
    problems: list[str] = []
    if account.currency != policy.currency:
        problems.append("currency")
    if account.flags & policy.blocking_flags:
        problems.append("blocked")
    if account.has_active_plan:
        problems.append("active_plan")
    if account.overdue_amount <= 0:
        problems.append("nothing_overdue")
    if type(amount) is int:
        amount = Decimal(amount)
    with localcontext(CONTEXT):
        # Anything but a finite Decimal (a float, NaN) is as unusable as a negative.
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            problems.append("amount_not_positive")
        else:
            if amount != amount.quantize(minor_unit(account.currency)):
                problems.append("too_many_decimals")
            minimum = minimum_promise(account.overdue_amount, policy.promise_min_share, account.currency)
            if account.overdue_amount > 0 and amount < minimum:
                problems.append("below_minimum")
            if amount > account.balance:
                problems.append("above_balance")
    if pay_by < today:
        problems.append("date_in_past")
    elif pay_by > latest_promise_date(today, policy.promise_max_days):
        problems.append("date_too_far")
    return problems
