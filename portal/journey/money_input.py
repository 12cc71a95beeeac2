"""Reading amounts people type: commas, full-width digits, currency symbols; never floats."""

from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation

from portal.domain.money import currency_places

MAX_AMOUNT = Decimal("1000000000")  # a thousand million: more than anyone's monthly budget


class AmountError(ValueError):
    """``code`` says what is wrong: not_a_number, negative, too_many_decimals, too_large."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_amount(text: str | None, currency: str, *, allow_zero: bool = True) -> Decimal | None:
    """The amount in ``text`` (None when blank), at most the currency's decimals."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    for symbol in ("¥", "$", "HK", "CN", "RMB", "元", ",", " ", "\u00a0", "_"):
        cleaned = cleaned.replace(symbol, "")
    if not cleaned:
        return None
    if len(cleaned) > 20 or not all(ch.isascii() and (ch.isdigit() or ch in ".-") for ch in cleaned):
        raise AmountError("not_a_number")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise AmountError("not_a_number") from None
    if not amount.is_finite():
        raise AmountError("not_a_number")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise AmountError("negative")
    if amount > MAX_AMOUNT:
        raise AmountError("too_large")
    exponent = amount.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and -exponent > currency_places(currency)
        and amount != round(amount, currency_places(currency))
    ):
        raise AmountError("too_many_decimals")
    return amount.quantize(Decimal(1).scaleb(-currency_places(currency)))
