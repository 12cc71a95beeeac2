"""The terms an offer was built with, and its fingerprint.

The fingerprint is a SHA-256 hex digest of the canonical JSON of an offer's terms,
currency, every installment (number, due date, principal, charge, total) and its totals.
It identifies exactly what the cardholder was shown: acceptance compares it, and the
agreement records it. Canonical means one text per offer in any process: sorted keys,
no spaces, ASCII, decimals as plain strings (money at the currency's places, terms
normalised so 0.0060 and 0.006 agree).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from functools import lru_cache

from portal.domain.money import CONTEXT, ZERO
from portal.domain.schedule import PlanType, Pricing, Quote

__all__ = ["PlanTerms", "canonical_json", "fingerprint"]


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """The parameters an offer was built with; None where a plan type has no such term.

    Rates are fractions: `rate` is the monthly fee rate (MONTHLY_FEE) or annual rate
    (ANNUAL_RATE); relief rates are annual. `fee_waiver` and `discount` are fractions;
    `down_payment` and `relief_payment` are amounts.
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


_TERM_NAMES = tuple(sorted(PlanTerms.__slots__))


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


@lru_cache(maxsize=8192)
def _row_head(number: int, due: date) -> str:
    # Numbers and due dates repeat in every offer computed on the same day.
    return '[%d,"%s","' % (number, due.isoformat())


# The document, keys in sorted order. Quote amounts always carry exactly the currency's
# minor-unit exponent (the builders guarantee it), so str() of them is canonical and
# never scientific. Formatting by hand is several times faster than json.dumps, and a
# unit test proves the text identical to json.dumps(..., sort_keys=True).
_DOCUMENT = (
    '{"installments":[%s],"offer":{"currency":"%s","plan":"%s","terms":{%s},'
    '"totals":{"amount":"%s","apr":"%s","down_payment":"%s","ear":"%s",'
    '"principal":"%s","total_cost":"%s","total_repaid":"%s"},'
    '"waived":{"discount":"%s","fees":"%s","interest":"%s","late_fees":"%s"}}}'
)


def canonical_json(terms: PlanTerms, quote: Quote) -> str:
    """The canonical JSON text the fingerprint hashes.

    The same text as json.dumps(document, sort_keys=True, separators=(",", ":")) of
    {"installments": [[number, "due date", "principal", "charge", "total"], ...],
     "offer": {"currency", "plan", "terms": {every PlanTerms field},
               "totals": {amount, apr, down_payment, ear, principal, total_cost,
                          total_repaid}, "waived": {discount, fees, interest, late_fees}}}
    with decimals as strings: money at the currency's places, rates at eight places,
    terms normalised.
    """
    with localcontext(CONTEXT):
        rows = ",".join(
            [_row_head(n, d) + '%s","%s","%s"]' % (p, c, t) for n, d, p, c, t in quote.installments]
        )
        terms_text = ",".join(
            ['"%s":%s' % (name, _json_value(getattr(terms, name))) for name in _TERM_NAMES]
        )
        waived = quote.waived
        return _DOCUMENT % (
            rows, quote.currency, terms.plan.value, terms_text,
            quote.amount, format(quote.apr, "f"), quote.down_payment, format(quote.ear, "f"),
            quote.principal, quote.total_cost, quote.total_repaid,
            waived.discount, waived.fees, waived.interest, waived.late_fees,
        )


def fingerprint(terms: PlanTerms, quote: Quote) -> str:
    """SHA-256 hex of `canonical_json(terms, quote)`: same offer, same digest, anywhere;
    any change to a term, date or amount gives another."""
    return hashlib.sha256(canonical_json(terms, quote).encode("ascii")).hexdigest()
