"""The CSV layout for core systems that write neither camt.053 nor camt.054.

The layout is documented in ``docs/payments-csv.md``; the header row names the columns
(any order). A file with a wrong header, a bad value or a row of the wrong length is
refused as a whole, with the line number, before anything is written.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from portal.payments.entries import InvalidStatement, StatementEntry, check_amount
from portal.payments.models import Direction

REQUIRED = ("statement_id", "entry_reference", "booking_date", "direction", "amount", "currency")
OPTIONAL = ("end_to_end_id", "value_date", "reversal", "remittance", "creditor_reference", "bank_reference")
_MAX35 = ("statement_id", "entry_reference", "end_to_end_id", "creditor_reference", "bank_reference")
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0", "")


class CsvReader:
    """The entries of a CSV file, in file order (every row is a booked transaction)."""

    skipped = 0

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[StatementEntry]:
        try:
            with self.path.open(newline="", encoding="utf-8-sig") as handle:
                rows = csv.reader(handle, strict=True)
                header = [name.strip().lower() for name in next(rows, [])]
                self._check_header(header)
                for row in rows:
                    line = rows.line_num
                    if not any(cell.strip() for cell in row):
                        continue
                    if len(row) != len(header):
                        raise InvalidStatement(f"line {line}: {len(row)} fields, the header has {len(header)}")
                    yield _entry(dict(zip(header, (cell.strip() for cell in row), strict=True)), line)
        except UnicodeDecodeError:
            raise InvalidStatement("the CSV file is not UTF-8 text") from None
        except csv.Error as error:
            raise InvalidStatement(f"not a valid CSV file: {error}") from None

    @staticmethod
    def _check_header(header: list[str]) -> None:
        missing = [name for name in REQUIRED if name not in header]
        unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
        if missing or unknown or len(set(header)) != len(header):
            raise InvalidStatement(
                "the CSV header must name the columns "
                + ", ".join(REQUIRED)
                + " (and may add "
                + ", ".join(OPTIONAL)
                + f"), each once; missing {missing or 'none'}, unknown {unknown or 'none'}"
            )


def _entry(row: dict[str, str], line: int) -> StatementEntry:
    where = f"line {line}"
    for name in REQUIRED:
        if not row[name]:
            raise InvalidStatement(f"{where}: {name} is empty")
    for name in _MAX35:
        if len(row.get(name, "")) > 35:
            raise InvalidStatement(f"{where}: {name} is longer than 35 characters")
    if any(ord(ch) < 32 for value in row.values() for ch in value):
        raise InvalidStatement(f"{where}: control characters are not allowed")
    try:
        amount = Decimal(row["amount"])
    except InvalidOperation:
        raise InvalidStatement(f"{where}: amount {row['amount']!r} is not a number like 1234.56") from None
    currency = row["currency"].upper()
    check_amount(amount, currency, where)
    if row["direction"] not in (Direction.CREDIT, Direction.DEBIT):
        raise InvalidStatement(f"{where}: direction must be credit or debit, not {row['direction']!r}")
    reversal = row.get("reversal", "").lower()
    if reversal not in _TRUE + _FALSE:
        raise InvalidStatement(f"{where}: reversal must be true or false, not {reversal!r}")
    booked = _date(row["booking_date"], where)
    value = _date(row["value_date"], where) if row.get("value_date") else None
    creditor = row.get("creditor_reference", "")
    return StatementEntry(
        statement_id=row["statement_id"],
        entry_reference=row["entry_reference"],
        transaction=0,
        end_to_end_id=row.get("end_to_end_id") or None,
        bank_reference=row.get("bank_reference") or None,
        amount=amount,
        currency=currency,
        direction=Direction(row["direction"]),
        reversal=reversal in _TRUE,
        booked_at=datetime.combine(booked, datetime.min.time(), UTC),
        value_date=value,
        remittance=row.get("remittance", "")[:1000],
        creditor_references=(creditor,) if creditor else (),
    )


def _date(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidStatement(f"{where}: {text!r} is not a date (YYYY-MM-DD)") from None
