"""Statement files for payment tests, written by the same writer the demo uses."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from portal.payments.statement import EntrySpec, StatementSpec, write_camt

DAY = date(2026, 11, 30)
CREATED = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)


def entry(reference: str, amount: str, **fields: object) -> EntrySpec:
    """A booked CNY credit for ``DAY`` unless ``fields`` say otherwise."""
    values: dict[str, object] = {"currency": "CNY", "booked": DAY}
    values.update(fields)
    return EntrySpec(reference, Decimal(amount), **values)  # type: ignore[arg-type]


def camt_bytes(
    entries: list[EntrySpec], *, fmt: str = "camt053", statement: str = "STMT-1", currency: str = "CNY"
) -> bytes:
    out = io.BytesIO()
    write_camt(out, fmt, f"MSG-{statement}", CREATED, [StatementSpec(statement, "REPAYMENTS", currency, entries)])
    return out.getvalue()


def camt_file(tmp_path: Path, entries: list[EntrySpec], name: str = "statement.xml", **options: str) -> Path:
    path = tmp_path / name
    path.write_bytes(camt_bytes(entries, **options))
    return path
