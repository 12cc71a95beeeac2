"""The terms an offer was built with, and its fingerprint.

The fingerprint is a SHA-256 hex digest of the canonical JSON of an offer's terms,
currency, every installment (due date, principal, charge, total, in order: the position
is the number) and its totals.
It identifies exactly what the cardholder was shown: acceptance compares it, and the
agreement records it. Canonical means one text per offer in any process: sorted keys,
no spaces, ASCII, decimals as plain strings (money at the currency's places, terms
normalised so 0.0060 and 0.006 agree).
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal, localcontext
from functools import lru_cache
from typing import NamedTuple

from portal.domain.money import CONTEXT, ZERO
from portal.domain.schedule import LevelRows, PlanType, Pricing, Quote

__all__ = ["PlanTerms", "canonical_json", "fingerprint"]


class PlanTerms(NamedTuple):
    """The parameters an offer was built with; None where a plan type has no such term.

    Rates are fractions: `rate` is the monthly fee rate (MONTHLY_FEE) or annual rate
    (ANNUAL_RATE); relief rates are annual. `fee_waiver` and `discount` are fractions;
    `down_payment` and `relief_payment` are amounts. (A NamedTuple: immutable and
    cheap to build; offers build several per account.)
    """

    plan: PlanType
    months: int | None = None
    pricing: Pricing | None = None
    rate: Decimal | None = None
    down_payment: Decimal = ZERO
    fee_waiver: Decimal = ZERO
    relief_months: int | None = None
    relief_rate: Decimal | None = None
    normal_rate: Decimal | None = None
    relief_payment: Decimal | None = None
    after_months: int | None = None
    discount: Decimal | None = None
    payments: int | None = None
    deadline: date | None = None


# Field positions in sorted-name order, for canonical JSON.
_SORTED_FIELDS = tuple(sorted((name, i) for i, name in enumerate(PlanTerms._fields)))


def _json_value(value: object) -> str:
    # PlanTerms holds only None, int, Decimal, date and StrEnum members (plain ASCII
    # words), so no JSON string escaping can ever be needed.
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    if type(value) is Decimal:
        return '"' + format(value.normalize(), "f") + '"'
    if type(value) is date:
        return '"' + value.isoformat() + '"'
    return '"' + str(value) + '"'


@lru_cache(maxsize=8192, typed=True)
def _field_text(name: str, value: object) -> str:
    # Memoised per (name, type, value): most fields of the terms that miss the cache
    # below repeat too (only an amount such as the relief payment is new). Equal values
    # of one type give equal text, except Decimal zeros (-0 equals 0 but prints "-0"),
    # which `_terms_text` therefore never looks up here.
    return f'"{name}":' + _json_value(value)


@lru_cache(maxsize=4096)
def _terms_text(terms: PlanTerms) -> str:
    # Memoised on the terms' value: equal terms give equal text (decimals are
    # normalised), and installment and settlement terms repeat across accounts.
    with localcontext(CONTEXT):  # normalize() obeys the context's precision
        return ",".join(
            [
                _field_text(name, value) if value or type(value) is not Decimal else f'"{name}":' + _json_value(value)
                for name, i in _SORTED_FIELDS
                for value in (terms[i],)
            ]
        )


class _RowHeads(dict[date, str]):
    """'["2027-01-31","' for each due date, made once: due dates repeat in every offer
    computed on the same day. A dict with __missing__ is a C-level lookup per row."""

    def __missing__(self, due: date) -> str:
        if len(self) >= 4096:  # a long-running server moves on to new dates
            self.clear()
        head = self[due] = f'["{due.isoformat()}","'
        return head


_ROW_HEADS = _RowHeads()


def _rows(quote: Quote) -> str:
    rows = quote.installments
    heads = _ROW_HEADS
    if type(rows) is LevelRows:
        # Rows 1..N−1 differ only in their dates: one tail text for all of them.
        tail = '{!s}","{!s}","{!s}"]'.format(*rows.regular)
        last = '{!s}","{!s}","{!s}"]'.format(*rows.last)
        *regular, final = map(heads.__getitem__, rows.dates)
        body = (tail + ",").join(regular) + tail + "," if regular else ""
        return body + final + last
    texts: list[str] = []
    append = texts.append
    tail = ""
    last_p = last_c = last_t = None
    for _, due, principal, charge, total in rows:
        # Regular installments share their amount objects: format them once.
        if principal is not last_p or charge is not last_c or total is not last_t:
            tail = f'{principal!s}","{charge!s}","{total!s}"]'
            last_p, last_c, last_t = principal, charge, total
        append(heads[due] + tail)
    return ",".join(texts)


def _rate_text(rate: Decimal) -> str:
    # Rates carry eight places, so str() is plain notation from 1e-6 up; below that
    # (and for zero, "0E-8") it turns scientific and the slower fixed format is needed.
    text = str(rate)
    return format(rate, "f") if "E" in text else text


def canonical_json(terms: PlanTerms, quote: Quote) -> str:
    """The canonical JSON text the fingerprint hashes.

    The same text as json.dumps(document, sort_keys=True, separators=(",", ":")) of
    {"installments": [["due date", "principal", "charge", "total"], ...],
     "offer": {"currency", "plan", "terms": {every PlanTerms field},
               "totals": {amount, apr, down_payment, ear, principal, total_cost,
                          total_repaid}, "waived": {discount, fees, interest, late_fees}}}
    with decimals as strings: money at the currency's places, rates at eight places,
    terms normalised.

    Written out by hand, keys in sorted order, because it is several times faster than
    json.dumps (a unit test proves the texts identical). Quote amounts always carry
    exactly the currency's minor-unit exponent (the builders see to it), so str() of
    them is canonical and never scientific; `!s` skips Decimal's slower __format__.
    """
    rows = _rows(quote)
    w = quote.waived
    return (
        f'{{"installments":[{rows}],"offer":{{"currency":"{quote.currency}",'
        f'"plan":"{terms.plan.value}","terms":{{{_terms_text(terms)}}},'
        f'"totals":{{"amount":"{quote.amount!s}","apr":"{_rate_text(quote.apr)}",'
        f'"down_payment":"{quote.down_payment!s}","ear":"{_rate_text(quote.ear)}",'
        f'"principal":"{quote.principal!s}","total_cost":"{quote.total_cost!s}",'
        f'"total_repaid":"{quote.total_repaid!s}"}},'
        f'"waived":{{"discount":"{w.discount!s}","fees":"{w.fees!s}",'
        f'"interest":"{w.interest!s}","late_fees":"{w.late_fees!s}"}}}}}}'
    )


def fingerprint(terms: PlanTerms, quote: Quote) -> str:
    """SHA-256 hex of `canonical_json(terms, quote)`: same offer, same digest, anywhere;
    any change to a term, date or amount gives another."""
    return hashlib.sha256(canonical_json(terms, quote).encode("ascii")).hexdigest()
