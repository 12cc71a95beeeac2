"""``flask --app wsgi portal payments import FILE [--format …] [--json]``.

The file is read once, streaming, and checked whole (schema, amounts, dates) before
anything is written; its entries wait in a temporary spool (``spool.py``), then are
posted in chunks, one commit per chunk. A file that fails the check exits with status 2
and a message saying where; nothing of it is written.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import click
from flask.cli import AppGroup

from portal.audit.service import SYSTEM, SealRefused, seal_pending
from portal.payments import camt
from portal.payments.csv_layout import CsvReader
from portal.payments.entries import InvalidStatement, StatementEntry
from portal.payments.models import PaymentSource
from portal.payments.service import ImportCounts, post_entries
from portal.payments.spool import spool, unspool
from portal.unit_of_work import unit_of_work

FORMATS = ("camt053", "camt054", "csv")
CHUNK = 2000  # entries per commit: a crash loses at most one chunk, which re-import then posts

payments_cli = AppGroup("payments", help="Payments from the core banking system.")


def reader(path: Path, fmt: str) -> Iterable[StatementEntry]:
    """The entries of ``path`` read as ``fmt``, checked (raises InvalidStatement while iterating)."""
    if fmt == "csv":
        return CsvReader(path)
    return camt.CamtReader(path, fmt, validate=True)


def check_file(path: Path, fmt: str | None, out: IO[bytes]) -> tuple[str, int]:
    """Read and check all of ``path``, spooling its entries to ``out``; write nothing to the
    database. Returns the format and how many entries were not booked. Raises InvalidStatement."""
    found = camt.sniff(path)
    if fmt and fmt != found:
        raise InvalidStatement(f"--format {fmt} was given, but the file is {found}")
    entries = reader(path, found)
    spool(entries, out, CHUNK)
    return found, getattr(entries, "skipped", 0)


def _seal_chunk() -> None:
    """Chain the chunk's audit events now, all of them: the hook after each commit seals a
    bounded number, and an import's backlog must not fall to cardholders' requests."""
    try:
        seal_pending()
    except SealRefused as refused:
        click.echo(f"audit events left pending: {refused}", err=True)


def import_file(path: Path, fmt: str | None = None) -> tuple[str, ImportCounts]:
    """Check all of ``path``, then post its entries one chunk per commit (what the command
    does; the simulator imports its daily statements through it); its format and counts.
    Raises InvalidStatement, having written nothing."""
    counts = ImportCounts()
    with tempfile.TemporaryFile() as held:
        found, counts.skipped = check_file(path, fmt, held)
        for chunk in unspool(held):
            with unit_of_work():  # one commit per chunk
                counts.add(post_entries(chunk, PaymentSource(found), SYSTEM))
            _seal_chunk()
    return found, counts


@payments_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="The file's format (default: from its content).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of counts.")
def import_command(file: Path, fmt: str | None, as_json: bool) -> None:
    """Import a camt.053 / camt.054 / CSV file of payments; importing it again posts nothing."""
    try:
        found, counts = import_file(file, fmt)
    except InvalidStatement as error:
        click.echo(f"{file.name}: refused, nothing imported: {error}", err=True)
        raise SystemExit(2) from None
    if as_json:
        click.echo(json.dumps(counts.contract()))
        return
    click.echo(
        f"{file.name} ({found}): {counts.entries} credit entries: {counts.posted} posted, "
        f"{counts.unmatched} unmatched (for review), {counts.duplicates} already imported. "
        f"{counts.debits} debit entries; {counts.reversed} reversals applied; "
        f"{counts.skipped} entries not booked, skipped."
    )
