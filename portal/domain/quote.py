"""The checked quoting API (used by the CLI and staff tools) and its JSON form.

`quote()` accepts loose input (Decimal, int or numeric strings; never floats), checks
it, and raises `QuoteError` with a one-line message for anything wrong. Limits that
hold whatever the policy says:

* amounts > 0, and no finer than the currency's minor unit (10.001 CNY, 10.5 JPY fail);
* 1..60 months for any schedule (the regulatory five-year cap);
* monthly fee rate 0 ≤ r ≤ 0.05 (5 % a month is already ~80 % APR); annual rates
  0 ≤ r ≤ 1; waiver and discount are fractions 0..1 (discount < 1);
* settlements: 1..3 payments, the first due within `deadline_days` of `today`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

from portal.domain import builders
from portal.domain.money import CONTEXT, ZERO, is_known_currency, minor_unit, to_decimal
from portal.domain.schedule import MAX_PLAN_MONTHS, PlanType, Pricing, Quote, Waived

__all__ = [
    "MAX_ANNUAL_RATE",
    "MAX_MONTHLY_FEE_RATE",
    "MAX_SETTLEMENT_PAYMENTS",
    "QuoteError",
    "quote",
    "quote_to_json",
]

MAX_MONTHLY_FEE_RATE = Decimal("0.05")
MAX_ANNUAL_RATE = Decimal(1)
MAX_SETTLEMENT_PAYMENTS = 3

Number = Decimal | int | str


class QuoteError(ValueError):
    """Bad quote input; the message is one line, fit for a CLI."""


def _money(value: Number, name: str, currency: str, *, allow_zero: bool = False) -> Decimal:
    try:
        number = to_decimal(value, name)
    except ValueError as exc:
        raise QuoteError(str(exc)) from None
    if number < 0 or (not number and not allow_zero):
        raise QuoteError(f"{name} must be {'zero or more' if allow_zero else 'more than zero'}")
    unit = minor_unit(currency)
    if number != number.quantize(unit):
        raise QuoteError(f"{name} {value} has more decimals than {currency} allows")
    return number.quantize(unit)


def _fraction(value: Number, name: str, high: Decimal, *, below: bool = False) -> Decimal:
    try:
        number = to_decimal(value, name)
    except ValueError as exc:
        raise QuoteError(str(exc)) from None
    if number < 0 or number > high or (below and number == high):
        bound = f"below {high}" if below else f"at most {high}"
        raise QuoteError(f"{name} must be from 0 and {bound}, not {value}")
    return number


def _count(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise QuoteError(f"{name} must be a whole number")
    if not low <= value <= high:
        raise QuoteError(f"{name} must be from {low} to {high}, not {value}")
    return value


def _a(plan: PlanType) -> str:
    return ("an " if plan is PlanType.INSTALLMENT else "a ") + plan.value


def _refuse(plan: PlanType, **given: object) -> None:
    for name, value in given.items():
        if value is not None:
            raise QuoteError(f"{name} does not apply to {_a(plan)} plan")


def quote(
    plan: str,
    *,
    amount: Number,
    currency: str,
    first_due: date,
    months: int | None = None,
    monthly_fee_rate: Number | None = None,
    annual_rate: Number | None = None,
    down_payment: Number = 0,
    relief_months: int | None = None,
    relief_rate: Number | None = None,
    relief_payment: Number | None = None,
    after_months: int = 0,
    waiver: Number = 0,
    fees: Number = 0,
    late_fees: Number = 0,
    discount: Number | None = None,
    payments: int = 1,
    deadline_days: int | None = None,
    today: date | None = None,
) -> Quote:
    """Check the inputs and build the quote for one plan.

    plan            "installment", "relief", "settlement" or "personalised"
    amount          the balance the plan deals with; `fees` and `late_fees` are the
                    parts of it that `waiver` (a fraction) may forgive
    installment / personalised: `months` and at most one of `monthly_fee_rate`
                    (fee on the original principal) or `annual_rate` (annuity);
                    neither means interest-free. Optional `down_payment`.
    relief          `relief_months` at `relief_rate` (annual, default 0 = frozen), then
                    `after_months` at `annual_rate` (the normal rate); `relief_payment`
                    defaults to `builders.default_relief_payment`.
    settlement      `discount` (fraction) in `payments` (1..3) monthly payments; with
                    `deadline_days` and `today`, the first must be due by the deadline.
    """
    with localcontext(CONTEXT):
        try:
            kind = PlanType(plan)
        except ValueError:
            names = ", ".join(p.value for p in PlanType)
            raise QuoteError(f"unknown plan {plan!r}; use one of {names}") from None
        if not isinstance(currency, str) or not is_known_currency(currency):
            raise QuoteError(f"unknown currency {currency!r}")
        if isinstance(first_due, datetime) or not isinstance(first_due, date):
            raise QuoteError("first_due must be a date")
        if today is not None and first_due < today:
            raise QuoteError("first_due must not be before today")
        total = _money(amount, "amount", currency)
        if kind is PlanType.SETTLEMENT:
            _refuse(
                kind,
                months=months,
                monthly_fee_rate=monthly_fee_rate,
                annual_rate=annual_rate,
                relief_months=relief_months,
                relief_rate=relief_rate,
                relief_payment=relief_payment,
            )
            return _settlement(
                total, currency, first_due, discount, payments, deadline_days, today, waiver, down_payment
            )
        _refuse(kind, discount=discount, deadline_days=deadline_days)
        if payments != 1:
            raise QuoteError(f"payments does not apply to {_a(kind)} plan")
        waived = _waiver(total, currency, waiver, fees, late_fees)
        if kind is PlanType.RELIEF:
            _refuse(kind, months=months, monthly_fee_rate=monthly_fee_rate)
            if _money(down_payment, "down_payment", currency, allow_zero=True):
                raise QuoteError("down_payment does not apply to a relief plan")
            return _relief(
                total,
                currency,
                first_due,
                waived,
                relief_months,
                relief_rate,
                annual_rate,
                relief_payment,
                after_months,
            )
        _refuse(kind, relief_months=relief_months, relief_rate=relief_rate, relief_payment=relief_payment)
        if after_months:
            raise QuoteError(f"after_months does not apply to {_a(kind)} plan")
        return _installment(
            kind, total, currency, first_due, waived, months, monthly_fee_rate, annual_rate, down_payment
        )


def _waiver(total: Decimal, currency: str, waiver: Number, fees: Number, late_fees: Number) -> Waived:
    share = _fraction(waiver, "waiver", Decimal(1))
    fee_part = _money(fees, "fees", currency, allow_zero=True)
    late_part = _money(late_fees, "late_fees", currency, allow_zero=True)
    if fee_part + late_part > total:
        raise QuoteError("fees and late_fees must not exceed amount")
    waived = builders.fee_waiver(fee_part, late_part, share, currency)
    if waived.written_off >= total:
        raise QuoteError("the waiver leaves nothing to repay")
    return waived


def _checked(result: Quote) -> Quote:
    # A zero installment is no payment at all: the amount is too small to split.
    if result.min_payment <= ZERO:
        raise QuoteError("amount is too small for that many installments")
    return result


def _installment(
    kind: PlanType,
    total: Decimal,
    currency: str,
    first_due: date,
    waived: Waived,
    months: int | None,
    monthly_fee_rate: Number | None,
    annual_rate: Number | None,
    down_payment: Number,
) -> Quote:
    if months is None:
        raise QuoteError(f"months is required for {_a(kind)} plan")
    count = _count(months, "months", 1, MAX_PLAN_MONTHS)
    if monthly_fee_rate is not None and annual_rate is not None:
        raise QuoteError("give monthly_fee_rate or annual_rate, not both")
    if annual_rate is not None:
        pricing = Pricing.ANNUAL_RATE
        rate = _fraction(annual_rate, "annual_rate", MAX_ANNUAL_RATE)
    else:
        pricing = Pricing.MONTHLY_FEE
        rate = (
            ZERO if monthly_fee_rate is None else _fraction(monthly_fee_rate, "monthly_fee_rate", MAX_MONTHLY_FEE_RATE)
        )
    down = _money(down_payment, "down_payment", currency, allow_zero=True)
    if down >= total - waived.written_off:
        raise QuoteError("down_payment must be less than the amount to repay")
    return _checked(
        builders.installment_plan(
            currency=currency,
            amount=total,
            months=count,
            pricing=pricing,
            rate=rate,
            first_due=first_due,
            down_payment=down,
            waived=waived,
            plan=kind,
        )
    )


def _relief(
    total: Decimal,
    currency: str,
    first_due: date,
    waived: Waived,
    relief_months: int | None,
    relief_rate: Number | None,
    annual_rate: Number | None,
    relief_payment: Number | None,
    after_months: int,
) -> Quote:
    if relief_months is None:
        raise QuoteError("relief_months is required for a relief plan")
    count = _count(relief_months, "relief_months", 1, MAX_PLAN_MONTHS)
    after = _count(after_months, "after_months", 0, MAX_PLAN_MONTHS)
    if count + max(after, 1) > MAX_PLAN_MONTHS:
        raise QuoteError(f"relief_months plus after_months must not exceed {MAX_PLAN_MONTHS}")
    normal = ZERO if annual_rate is None else _fraction(annual_rate, "annual_rate", MAX_ANNUAL_RATE)
    reduced = ZERO if relief_rate is None else _fraction(relief_rate, "relief_rate", MAX_ANNUAL_RATE)
    if reduced > normal:
        raise QuoteError("relief_rate must not exceed annual_rate (the normal rate)")
    principal = total - waived.written_off
    if relief_payment is None:
        payment = builders.default_relief_payment(principal, reduced, count, after, currency)
    else:
        payment = _money(relief_payment, "relief_payment", currency)
    # Interest-only is allowed (the balance is amortised afterwards); less than the
    # interest would make the debt grow, which forbearance must never do.
    if payment < (principal * reduced / 12).quantize(minor_unit(currency), ROUND_HALF_UP):
        raise QuoteError("relief_payment must cover the first month's interest")
    return _checked(
        builders.relief_plan(
            currency=currency,
            amount=total,
            first_due=first_due,
            relief_months=count,
            relief_rate=reduced,
            normal_rate=normal,
            payment=payment,
            after_months=after,
            waived=waived,
        )
    )


def _settlement(
    total: Decimal,
    currency: str,
    first_due: date,
    discount: Number | None,
    payments: int,
    deadline_days: int | None,
    today: date | None,
    waiver: Number,
    down_payment: Number,
) -> Quote:
    if discount is None:
        raise QuoteError("discount is required for a settlement")
    share = _fraction(discount, "discount", Decimal(1), below=True)
    count = _count(payments, "payments", 1, MAX_SETTLEMENT_PAYMENTS)
    if _fraction(waiver, "waiver", Decimal(1)) or _money(down_payment, "down_payment", currency, allow_zero=True):
        raise QuoteError("waiver and down_payment do not apply to a settlement")
    if deadline_days is not None:
        days = _count(deadline_days, "deadline_days", 0, 3660)
        if today is None:
            raise QuoteError("deadline_days needs today")
        if first_due > today + timedelta(days=days):
            raise QuoteError(f"first_due must be within {days} days of today")
    return _checked(
        builders.settlement_plan(currency=currency, amount=total, first_due=first_due, discount=share, payments=count)
    )


def _plain(number: Decimal) -> str:
    # Fixed-point text: "0.00000000", never "0E-8".
    return format(number, "f")


def quote_to_json(result: Quote) -> dict[str, object]:
    """The quote as JSON-ready data: amounts and rates as decimal strings.

    Rates are fractions with eight decimal places ("0.13034224"); dates ISO 8601.
    """
    return {
        "plan": result.plan.value,
        "currency": result.currency,
        "principal": _plain(result.principal),
        "down_payment": _plain(result.down_payment),
        "installments": [
            {
                "number": row.number,
                "due_date": row.due_date.isoformat(),
                "principal": _plain(row.principal),
                "charge": _plain(row.charge),
                "total": _plain(row.total),
            }
            for row in result.installments
        ],
        "total_repaid": _plain(result.total_repaid),
        "total_cost": _plain(result.total_cost),
        "apr": _plain(result.apr),
        "ear": _plain(result.ear),
        "waived": {
            "interest": _plain(result.waived.interest),
            "fees": _plain(result.waived.fees),
            "late_fees": _plain(result.waived.late_fees),
            "discount": _plain(result.waived.discount),
        },
    }
