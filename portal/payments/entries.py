"""What every statement format is parsed into: one entry per reported transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from portal.domain.money import CurrencyError, currency_places
from portal.payments.models import Direction
from portal.security import mask_card_numbers


class InvalidStatement(ValueError):
    """The file is not a statement the portal can read; nothing of it may be written."""


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One transaction of a statement or notification, as the bank reported it.

    ``statement_id`` and ``entry_reference`` (and ``end_to_end_id`` where present, else
    the transaction's place within its entry) identify it: see :attr:`key`.
    """

    statement_id: str
    entry_reference: str
    transaction: int  # its place among the entry's transaction details (0 for the first)
    end_to_end_id: str | None
    bank_reference: str | None
    amount: Decimal
    currency: str
    direction: Direction
    reversal: bool
    booked_at: datetime  # aware UTC
    value_date: date | None
    remittance: str  # unstructured remittance lines, joined
    creditor_references: tuple[str, ...]  # structured creditor references (CdtrRefInf/Ref)

    def __post_init__(self) -> None:
        # Payers were once told to quote their card number, so the remittance text may
        # hold one; the full number is never stored (DESIGN), so every source (camt, CSV,
        # API) has it masked here, before matching, storing or showing it.
        object.__setattr__(self, "remittance", mask_card_numbers(self.remittance))

    @property
    def key(self) -> str:
        """The digest that makes importing an entry twice impossible (``payments.import_key``)."""
        tail = self.end_to_end_id if self.end_to_end_id else f"#{self.transaction}"
        # NUL separates the parts unambiguously: XML cannot carry it and CSV input refuses it.
        canonical = "\x00".join((self.statement_id, self.entry_reference, tail))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def booking_date(self) -> date:
        return self.booked_at.date()


def check_amount(amount: Decimal, currency: str, where: str) -> None:
    """Refuse an amount that is not positive or is finer than its currency's minor unit."""
    try:
        places = currency_places(currency)
    except CurrencyError:
        raise InvalidStatement(f"{where}: unknown currency {currency!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidStatement(f"{where}: amount {amount} is not a positive amount")
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise InvalidStatement(f"{where}: amount {amount} has more decimals than {currency} allows ({places})")
    if amount >= Decimal(10) ** 14:
        raise InvalidStatement(f"{where}: amount {amount} is too large")
