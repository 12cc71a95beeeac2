"""Schedule builders, one per plan type. Inputs are trusted (see `quote` for checks).

Models, in one place:

* Installment / personalised, MONTHLY_FEE: principal split in N equal parts; the fee
  each month is principal × monthly rate on the ORIGINAL principal; total fee =
  principal × rate × N. Both split with the remainder on the last installment.
* Installment / personalised, ANNUAL_RATE: level annuity payment at annual/12 a month,
  rounded half-up; each month's interest is the declining balance × monthly rate,
  rounded; the last installment repays whatever balance is left.
* Relief: for `relief_months` a fixed payment first covers interest at the reduced
  rate on the declining balance, then principal. The balance left afterwards is
  amortised as an annuity over `after_months` at the normal rate; 0 means one final
  payment at month M+1, which is the same thing as a one-month annuity (that month
  bears normal interest). If the fixed payment clears the balance early, the schedule
  ends early; a remainder of only a few minor units takes fewer after-months.
* Settlement: the balance × (1 − discount), rounded UP to the minor unit so the discount
  never exceeds the agreed percentage, in 1..3 equal monthly payments from the first
  due date (remainder on the last). It closes the debt; nothing is charged.
* Waivers of fees and late fees are rounded DOWN, for the same reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from itertools import repeat

from portal.domain.dates import monthly_dates
from portal.domain.money import ZERO, ceil_money, computing_in_context, minor_unit
from portal.domain.rates import in_context_annuity_payment, payment_runs
from portal.domain.schedule import (
    NO_WAIVER,
    Installment,
    LevelRows,
    PlanType,
    Pricing,
    Quote,
    Waived,
    finish_quote_in_context,
    split_evenly,
)

__all__ = [
    "default_relief_payment",
    "fee_waiver",
    "installment_plan",
    "relief_plan",
    "settlement_plan",
]

ONE = Decimal(1)
TWELVE = Decimal(12)
# Building a NamedTuple through tuple.__new__ skips its Python-level __new__; it matters
# only because a 60-month schedule builds sixty rows and offers build many schedules.
_row = tuple.__new__
_MONTHLY_FEE = Pricing.MONTHLY_FEE  # a constant: `Pricing.X` is a descriptor look-up on 3.11


def in_context_fee_waiver(fees: Decimal, late_fees: Decimal, share: Decimal, currency: str) -> Waived:
    """Waive `share` (a fraction 0..1) of the fees and late fees, rounded down."""
    unit = minor_unit(currency)
    return Waived(
        fees=(fees * share).quantize(unit, ROUND_DOWN),
        late_fees=(late_fees * share).quantize(unit, ROUND_DOWN),
    )


fee_waiver = computing_in_context(in_context_fee_waiver)


def _fee_rows(principal: Decimal, rate: Decimal, dates: Sequence[date], unit: Decimal) -> LevelRows:
    """Rows of equal principal and fee parts, the remainders on the last."""
    months = len(dates)
    part, last_part = split_evenly(principal, months, unit)
    total_fee = (principal * rate * months).quantize(unit, ROUND_HALF_UP)
    fee, last_fee = split_evenly(total_fee, months, unit)
    return LevelRows(dates, (part, fee, part + fee), (last_part, last_fee, last_part + last_fee))


def _annuity_rows(
    principal: Decimal,
    monthly_rate: Decimal,
    dates: Sequence[date],
    unit: Decimal,
    first_number: int = 1,
) -> tuple[list[Installment], Decimal | None]:
    """Annuity rows, and the level payment when every row but the last pays it (None
    when a tiny loan's rows do not), so the plan's payment runs are known unscanned."""
    months = len(dates)
    if not monthly_rate:
        rows = [r._replace(number=r.number + first_number - 1) for r in _fee_rows(principal, ZERO, dates, unit)]
        return rows, None
    exact = in_context_annuity_payment(principal, monthly_rate, months)
    payment = exact.quantize(unit, ROUND_HALF_UP)
    rows, early = _level_rows(principal, monthly_rate, payment, dates, unit, first_number)
    if early:
        # Tiny loans only: a payment rounded up repays everything before the last
        # month. Rounded down instead, the last installment absorbs the difference.
        rows, _ = _level_rows(principal, monthly_rate, exact.quantize(unit, ROUND_DOWN), dates, unit, first_number)
        return rows, None
    return rows, payment


def _level_rows(
    principal: Decimal,
    monthly_rate: Decimal,
    payment: Decimal,
    dates: Sequence[date],
    unit: Decimal,
    first_number: int,
) -> tuple[list[Installment], bool]:
    """Annuity rows at a level payment, and whether the balance ran out early.

    Principal parts are capped at the balance, so an early payoff leaves zero rows
    at the end (which `quote` refuses and offers never show) rather than negatives.

    At a positive rate and payment, a balance that once reaches zero or less stays
    there (its interest is not positive, so each part is at least the payment): the
    balance left before the last row says whether any part reached the balance. So
    the rows are first made without comparing each part to the balance, and only a
    loan that ran out early is made again with the caps.
    """
    if monthly_rate > ZERO and payment > ZERO:
        uncapped = _uncapped_rows(principal, monthly_rate, payment, dates, unit, first_number)
        if uncapped is not None:
            return uncapped, False
    balance = principal
    early = False
    rows: list[Installment] = []
    append = rows.append
    for n, due in enumerate(dates[:-1], first_number):
        # The payment covers the interest: it exceeds principal × rate.
        interest = (balance * monthly_rate).quantize(unit, ROUND_HALF_UP)
        part = payment - interest
        if part >= balance:
            early = True
            part = balance
            append(_row(Installment, (n, due, part, interest, part + interest)))
        else:
            append(_row(Installment, (n, due, part, interest, payment)))
        balance -= part
    interest = (balance * monthly_rate).quantize(unit, ROUND_HALF_UP)
    last = first_number + len(dates) - 1
    append(_row(Installment, (last, dates[-1], balance, interest, balance + interest)))
    return rows, early


def _uncapped_rows(
    principal: Decimal,
    monthly_rate: Decimal,
    payment: Decimal,
    dates: Sequence[date],
    unit: Decimal,
    first_number: int,
) -> list[Installment] | None:
    """`_level_rows` of a loan that does not run out early, or None if it does.

    The loop keeps plain tuples; one `map` makes them Installments at the end, in C.
    """
    balance = principal
    fields: list[tuple[int, date, Decimal, Decimal, Decimal]] = []
    append = fields.append
    for n, due in enumerate(dates[:-1], first_number):
        interest = (balance * monthly_rate).quantize(unit, ROUND_HALF_UP)
        part = payment - interest
        append((n, due, part, interest, payment))
        balance -= part
    if fields and balance <= ZERO:
        return None
    interest = (balance * monthly_rate).quantize(unit, ROUND_HALF_UP)
    append((first_number + len(dates) - 1, dates[-1], balance, interest, balance + interest))
    return list(map(_row, repeat(Installment), fields))


def in_context_installment_plan(
    currency: str,
    amount: Decimal,
    months: int,
    pricing: Pricing,
    rate: Decimal,
    first_due: date,
    down_payment: Decimal = ZERO,
    waived: Waived = NO_WAIVER,
    plan: PlanType = PlanType.INSTALLMENT,
) -> Quote:
    """An installment (or personalised) plan of `months` installments.

    `rate` is the monthly fee rate under MONTHLY_FEE and the annual rate under
    ANNUAL_RATE. The financed principal is amount − waivers − down payment.
    """
    unit = minor_unit(currency)
    # Pin inputs to the minor-unit exponent (exact for valid input) so every
    # derived amount carries it too: "833.33", never "833.330" or "833.3".
    amount = amount.quantize(unit)
    down_payment = down_payment.quantize(unit)
    # Offers mostly waive nothing: skip adding up three zeros (the same value and exponent).
    principal = (amount if waived is NO_WAIVER else amount - waived.written_off) - down_payment
    dates = monthly_dates(first_due, months)
    if pricing is _MONTHLY_FEE:
        rows = _fee_rows(principal, rate, dates, unit)
        return finish_quote_in_context(plan, currency, amount, down_payment, principal, rows, waived)
    annuity, level = _annuity_rows(principal, rate / TWELVE, dates, unit)
    runs = None if level is None else payment_runs(level, months, annuity[-1].total)
    return finish_quote_in_context(plan, currency, amount, down_payment, principal, annuity, waived, runs)


installment_plan = computing_in_context(in_context_installment_plan)


def in_context_default_relief_payment(
    principal: Decimal, relief_rate: Decimal, relief_months: int, after_months: int, currency: str
) -> Decimal:
    """The fixed relief payment used when none is given.

    The level payment that would repay `principal` over the whole plan length at the
    relief rate, rounded half-up: affordable, and it repays principal from month one.
    """
    months = relief_months + max(after_months, 1)
    payment = in_context_annuity_payment(principal, relief_rate / TWELVE, months)
    return payment.quantize(minor_unit(currency), ROUND_HALF_UP)


default_relief_payment = computing_in_context(in_context_default_relief_payment)


def in_context_relief_plan(
    currency: str,
    amount: Decimal,
    first_due: date,
    relief_months: int,
    relief_rate: Decimal,
    normal_rate: Decimal,
    payment: Decimal,
    after_months: int,
    waived: Waived = NO_WAIVER,
) -> Quote:
    """Interest relief: reduced (or frozen, rate 0) interest for `relief_months`.

    `payment` must cover the first month's reduced interest. Rates are annual.
    """
    unit = minor_unit(currency)
    amount = amount.quantize(unit)
    payment = payment.quantize(unit)
    nothing = ZERO.quantize(unit)
    principal = amount - waived.written_off
    relief_monthly = relief_rate / TWELVE
    normal_monthly = normal_rate / TWELVE
    dates = monthly_dates(first_due, relief_months + max(after_months, 1))
    rows: list[Installment] = []
    balance = principal
    forgone = ZERO
    append = rows.append
    for n, due in enumerate(dates[:relief_months], 1):
        interest = (balance * relief_monthly).quantize(unit, ROUND_HALF_UP)
        forgone += (balance * normal_monthly).quantize(unit, ROUND_HALF_UP) - interest
        part = payment - interest
        if part < balance:
            balance -= part
            append(_row(Installment, (n, due, part, interest, payment)))
        else:
            append(_row(Installment, (n, due, balance, interest, balance + interest)))
            balance = ZERO
            break
    if balance:
        # Never more installments than the remainder has minor units, so a few fen
        # left over are one payment, not a row of zeros.
        after = min(max(after_months, 1), int(balance / unit))
        after_dates = dates[relief_months : relief_months + after]
        rows.extend(_annuity_rows(balance, normal_monthly, after_dates, unit, relief_months + 1)[0])
    waived = Waived(
        interest=forgone,
        fees=waived.fees,
        late_fees=waived.late_fees,
        discount=waived.discount,
    )
    return finish_quote_in_context(PlanType.RELIEF, currency, amount, nothing, principal, rows, waived)


relief_plan = computing_in_context(in_context_relief_plan)


def in_context_settlement_plan(
    currency: str, amount: Decimal, first_due: date, discount: Decimal, payments: int
) -> Quote:
    """Settle `amount` for amount × (1 − discount) in `payments` monthly payments."""
    unit = minor_unit(currency)
    amount = amount.quantize(unit)
    settled = ceil_money(amount * (ONE - discount), currency)
    part, last = split_evenly(settled, payments, unit)
    dates = monthly_dates(first_due, payments)
    nothing = ZERO.quantize(unit)
    rows = [_row(Installment, (n, d, part, nothing, part)) for n, d in enumerate(dates[:-1], 1)]
    rows.append(Installment(payments, dates[-1], last, nothing, last))
    waived = Waived(discount=amount - settled)
    runs = payment_runs(part, payments, last)  # known: no scan of the rows
    return finish_quote_in_context(PlanType.SETTLEMENT, currency, amount, nothing, settled, rows, waived, runs)


settlement_plan = computing_in_context(in_context_settlement_plan)
