"""The shapes of a priced schedule (Quote, Installment, LevelRows, Waived) and their totalling.

The builders (`portal.domain.builders`) trust their inputs; `portal.domain.quote.quote`
is the checked entry point. The rules every schedule follows:

* Parts are rounded half-up to the minor unit and the rounding remainder goes to the
  LAST installment, so principal parts sum exactly to the financed principal and charge
  parts to the total charge.
* Due dates step by calendar month from the first due date (`dates.monthly_dates`).
* The APR and EAR come from the IRR of +principal at period 0 and −each installment
  total at periods 1..N (`rates`). A plan that costs nothing has both at exactly 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import cache
from itertools import count, repeat
from operator import itemgetter
from typing import NamedTuple, overload

from portal.domain.money import ZERO, computing_in_context, minor_unit
from portal.domain.rates import RATE_PLACES, in_context_runs_apr_ear, payment_runs, runs_of_payments

__all__ = [
    "MAX_PLAN_MONTHS",
    "NO_WAIVER",
    "Installment",
    "LevelRows",
    "PlanType",
    "Pricing",
    "Quote",
    "Waived",
    "finish_quote",
    "finish_quote_in_context",
    "split_evenly",
]

# Regulatory ceiling (CBIRC/PBoC 2022: installment terms at most five years; CBRC 2011
# Art. 70: personalised agreements at most five years). Policies may go lower, never
# higher, and no schedule of any type is built longer.
MAX_PLAN_MONTHS = 60


class PlanType(StrEnum):
    """The four arrangements a cardholder can be offered, in display order."""

    INSTALLMENT = "installment"
    RELIEF = "relief"
    SETTLEMENT = "settlement"
    PERSONALISED = "personalised"


class Pricing(StrEnum):
    """How an installment plan is priced.

    MONTHLY_FEE: a fee each month on the ORIGINAL financed principal (Chinese card
    convention; 0.6 % a month ≈ 13.03 % APR). ANNUAL_RATE: interest at annual/12 a
    month on the declining balance, repaid in equal (annuity) installments.
    """

    MONTHLY_FEE = "monthly_fee"
    ANNUAL_RATE = "annual_rate"


class Installment(NamedTuple):
    """One scheduled payment. `charge` is the fee or interest part; total = sum."""

    # A NamedTuple rather than a frozen dataclass: it is as immutable, and a 60-month
    # schedule builds sixty of them on the hot path.
    number: int
    due_date: date
    principal: Decimal
    charge: Decimal
    total: Decimal


# tuple.__new__ builds a NamedTuple without the Python-level __new__ and its keywords.
_new = tuple.__new__


class LevelRows(Sequence[Installment]):
    """Installments 1..N−1 alike (one principal, one charge, one total) and the last with
    the rounding remainders: the rows of a fee-priced plan, made only when first read.

    Offers price, fingerprint and compare thousands of such schedules for each one a
    person reads row by row; `min_total`, `max_total` and the fingerprint text
    (`terms._rows`) answer from the two kinds of row. Otherwise it is the tuple of its
    rows: it iterates, indexes, slices, hashes and compares equal to it.
    """

    __slots__ = ("_rows", "dates", "last", "regular")

    def __init__(
        self, dates: Sequence[date], regular: tuple[Decimal, Decimal, Decimal], last: tuple[Decimal, Decimal, Decimal]
    ) -> None:
        self.dates, self.regular, self.last = dates, regular, last
        self._rows: tuple[Installment, ...] | None = None

    def rows(self) -> tuple[Installment, ...]:
        """Every row (made once, in C: a 60-month schedule is sixty of them)."""
        if self._rows is None:
            part, charge, total = self.regular
            body = map(
                _new, repeat(Installment), zip(count(1), self.dates[:-1], repeat(part), repeat(charge), repeat(total))
            )
            self._rows = (*body, _new(Installment, (len(self.dates), self.dates[-1], *self.last)))
        return self._rows

    def charges(self) -> Decimal:
        """The sum of the rows' charges."""
        return self.regular[1] * (len(self.dates) - 1) + self.last[1]

    def paid(self) -> Decimal:
        """The sum of the rows' totals."""
        return self.regular[2] * (len(self.dates) - 1) + self.last[2]

    def min_total(self) -> Decimal:
        return self.last[2] if len(self.dates) == 1 else min(self.regular[2], self.last[2])

    def max_total(self) -> Decimal:
        return self.last[2] if len(self.dates) == 1 else max(self.regular[2], self.last[2])

    def __len__(self) -> int:
        return len(self.dates)

    @overload
    def __getitem__(self, index: int) -> Installment: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Installment, ...]: ...
    def __getitem__(self, index: int | slice) -> Installment | tuple[Installment, ...]:
        return self.rows()[index]

    def __iter__(self) -> Iterator[Installment]:
        return iter(self.rows())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LevelRows | tuple):
            return self.rows() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.rows())

    def __repr__(self) -> str:
        return f"LevelRows({self.rows()!r})"


class Waived(NamedTuple):
    """What the plan forgives, in money.

    `fees`, `late_fees` and `discount` are removed from the balance before it is
    financed. `interest` is future interest not charged: for relief, what the normal
    rate would have cost during the relief months minus what the reduced rate costs.
    """

    interest: Decimal = ZERO
    fees: Decimal = ZERO
    late_fees: Decimal = ZERO
    discount: Decimal = ZERO

    @property
    def written_off(self) -> Decimal:
        """The part of the balance the cardholder no longer owes."""
        return self.fees + self.late_fees + self.discount


NO_WAIVER = Waived()

_NO_RATE = ZERO.quantize(RATE_PLACES)
_TOTAL = itemgetter(4)
_QUANTIZE = Decimal.quantize


class Quote(NamedTuple):
    """A priced schedule: what the cardholder pays, when, and what it costs.

    amount        the balance the plan deals with, before waivers and down payment
    down_payment  paid on acceptance; not an installment and not financed
    principal     financed: amount − waived.written_off − down_payment
                  (= the sum of the installments' principal parts)
    total_cost    fees + interest (= the sum of the installments' charge parts)
    total_repaid  down_payment + every installment total
    apr, ear      annualised rates as fractions (0.13034224 = 13.03 %)

    Like every value the offers build by the thousand (Installment, Waived, Offer,
    PlanTerms), a NamedTuple: as immutable as a frozen dataclass, and several times
    cheaper to make.
    """

    plan: PlanType
    currency: str
    amount: Decimal
    down_payment: Decimal
    principal: Decimal
    installments: tuple[Installment, ...] | LevelRows
    total_cost: Decimal
    total_repaid: Decimal
    waived: Waived
    apr: Decimal
    ear: Decimal

    @property
    def first_due(self) -> date:
        """Due date of the first installment."""
        return self.installments[0].due_date

    @property
    def max_payment(self) -> Decimal:
        """The largest single installment (what affordability must cover)."""
        rows = self.installments
        return rows.max_total() if type(rows) is LevelRows else max(map(_TOTAL, rows))

    @property
    def min_payment(self) -> Decimal:
        """The smallest single installment (checked against policy minimums)."""
        rows = self.installments
        return rows.min_total() if type(rows) is LevelRows else min(map(_TOTAL, rows))


def split_evenly(total: Decimal, parts: int, unit: Decimal) -> tuple[Decimal, Decimal]:
    """(regular part, last part) splitting `total` into `parts` at `unit` precision.

    The regular part is total/parts rounded half-up; the last takes the remainder. For
    tiny totals over many parts half-up could overshoot and leave nothing or less for
    the last part (0.28 over 8: 7 × 0.04 = 0.28), so then the regular part is rounded
    down instead and the last part absorbs the difference (7 × 0.03 + 0.07).
    """
    share = total / parts
    part = share.quantize(unit, ROUND_HALF_UP)
    if total and part * (parts - 1) >= total:
        part = share.quantize(unit, ROUND_DOWN)
    return part, total - part * (parts - 1)


@cache
def _nothing_waived(unit: Decimal) -> Waived:
    zero = ZERO.quantize(unit)
    return Waived(zero, zero, zero, zero)


def finish_quote_in_context(
    plan: PlanType,
    currency: str,
    amount: Decimal,
    down_payment: Decimal,
    principal: Decimal,
    installments: list[Installment] | LevelRows,
    waived: Waived,
    runs: list[tuple[Decimal, int, int]] | None = None,
) -> Quote:
    """Total a schedule and price it with its IRR-based APR and EAR.

    `amount`, `down_payment` and the rows must already be at the currency's minor unit
    (the builders see to it), and the rows' principal parts must sum to `principal` (the
    rule every schedule follows); waivers are brought to the unit here. Fee rows
    (`LevelRows`) are totalled from their two kinds of row, without making the rest.
    Other rows are scanned once into runs of equal totals (a 60-month annuity is about
    three), unless the builder knows them and passes `runs` (`rates.payment_runs`): the
    rate is solved on them, what is paid is their sum, and the cost is what is paid
    less the principal, with no sum over sixty charges and sixty totals.
    """
    unit = minor_unit(currency)
    level = installments if type(installments) is LevelRows else None  # fee rows, typed as such
    if level is not None:
        total_cost, paid = level.charges(), level.paid()
        runs = payment_runs(level.regular[2], len(level), level.last[2])
    else:
        if runs is None:
            runs = runs_of_payments(map(_TOTAL, installments))
        # Reported amounts all carry the currency's exponent ("0.00", not "0").
        paid = sum([total * count for total, _, count in runs], ZERO.quantize(unit))
        total_cost = paid - principal
    # Waivers at the currency's exponent too.
    waived = _nothing_waived(unit) if waived is NO_WAIVER else _new(Waived, map(_QUANTIZE, waived, repeat(unit)))
    if not total_cost:
        apr = ear = _NO_RATE
    else:
        apr, ear = in_context_runs_apr_ear(principal, runs)
    rows = level if level is not None else tuple(installments)
    fields = (plan, currency, amount, down_payment, principal, rows, total_cost, down_payment + paid)
    return _new(Quote, (*fields, waived, apr, ear))


finish_quote = computing_in_context(finish_quote_in_context)
