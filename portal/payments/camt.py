"""ISO 20022 camt.053.001.08 (statement) and camt.054.001.08 (notification) files.

Read with lxml, streaming (``iterparse``: each entry is dropped once read), against the
official schemas in ``schemas/``. The parser never resolves entities, never loads a DTD
and never touches the network; a document that declares a DTD at all is refused, since
no ISO 20022 message has one.

Only booked entries (status ``BOOK``) are read: a pending one will be reported again
when booked. An entry with several transactions (a batch) gives one
:class:`StatementEntry` per transaction. A time without a zone is taken as UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from portal.payments.entries import InvalidStatement, StatementEntry, check_amount
from portal.payments.models import Direction

SCHEMAS = Path(__file__).resolve().parent / "schemas"
NAMESPACES = {
    "camt053": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08",
    "camt054": "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08",
}
_FILES = {"camt053": "camt.053.001.08.xsd", "camt054": "camt.054.001.08.xsd"}
# The element holding one statement (053) or notification (054); its Id names it.
_CONTAINER = {"camt053": "Stmt", "camt054": "Ntfctn"}
# No external entity (XXE) is ever read and nothing is fetched from the network. Entities
# are "internal" rather than False: with False, lxml's iterparse under a schema silently
# stops at a syntax error instead of raising (lxml 6.1.3), so a cut-off file would look
# complete. Internal entities need a DTD, and a file with one is refused.
_SAFE: dict[str, Any] = {"resolve_entities": "internal", "no_network": True, "load_dtd": False, "huge_tree": False}


@cache
def schema(fmt: str) -> etree.XMLSchema:
    """The official XSD of ``fmt`` (read once; it imports nothing)."""
    parser = etree.XMLParser(**_SAFE)
    return etree.XMLSchema(etree.parse(str(SCHEMAS / _FILES[fmt]), parser))


def _refuse_dtd(element: Any) -> None:
    if element.getroottree().docinfo.internalDTD is not None:
        raise InvalidStatement("the file declares a DTD; ISO 20022 messages have none")


def sniff(path: Path) -> str:
    """``camt053`` or ``camt054`` from the root element's namespace, ``csv`` for a non-XML file."""
    with path.open("rb") as handle:
        head = handle.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return "csv"
    try:
        with path.open("rb") as handle:
            for _event, root in etree.iterparse(handle, events=("start",), **_SAFE):
                _refuse_dtd(root)
                namespace = etree.QName(root).namespace or ""
                for fmt, known in NAMESPACES.items():
                    if namespace == known:
                        return fmt
                raise InvalidStatement(
                    f"unsupported message {namespace or root.tag!r}: "
                    "the portal reads camt.053.001.08 and camt.054.001.08"
                )
    except etree.XMLSyntaxError as error:
        raise InvalidStatement(f"not valid XML: {error}") from None
    raise InvalidStatement("not valid XML: the file is empty")


class CamtReader:
    """The booked entries of a camt file, in file order. ``skipped`` counts entries
    that were not booked (pending or for information) once the reader is exhausted."""

    def __init__(self, path: Path, fmt: str, *, validate: bool) -> None:
        if fmt not in NAMESPACES:
            raise ValueError(f"not a camt format: {fmt}")
        self.path, self.fmt, self.validate = path, fmt, validate
        self.ns = {"c": NAMESPACES[fmt]}
        self.skipped = 0

    def __iter__(self) -> Iterator[StatementEntry]:
        ns = NAMESPACES[self.fmt]
        tags = (f"{{{ns}}}GrpHdr", f"{{{ns}}}Ntry")
        options: dict[str, Any] = dict(_SAFE, events=("end",), tag=tags)
        if self.validate:
            options["schema"] = schema(self.fmt)
        try:
            with self.path.open("rb") as handle:
                yield from self._entries(handle, options, tags, ns)
        except etree.XMLSyntaxError as error:
            raise InvalidStatement(f"not valid against {_FILES[self.fmt]} (or not valid XML): {error}") from None

    def _entries(
        self, handle: Any, options: dict[str, Any], tags: tuple[str, str], ns: str
    ) -> Iterator[StatementEntry]:
        created = datetime(1970, 1, 1, tzinfo=UTC)
        ordinal: dict[str, int] = {}
        checked = False
        for _event, element in etree.iterparse(handle, **options):
            if not checked:
                _refuse_dtd(element)
                if etree.QName(element.getroottree().getroot()).namespace != ns:
                    raise InvalidStatement(f"the file is not a {self.fmt} message")
                checked = True
            if element.tag == tags[0]:
                created = _datetime(element.findtext("c:CreDtTm", namespaces=self.ns), "GrpHdr/CreDtTm")
                continue
            container = element.getparent()
            statement = container.findtext("c:Id", namespaces=self.ns) or ""
            ordinal[statement] = ordinal.get(statement, 0) + 1
            yield from self._entry(element, statement, ordinal[statement], created)
            # Stream: forget the entry (the statement keeps only its header elements).
            element.clear()
            container.remove(element)

    def _text(self, element: Any, path: str) -> str | None:
        found = element.findtext(path, namespaces=self.ns)
        return found.strip() if found is not None else None

    def _entry(self, ntry: Any, statement: str, ordinal: int, created: datetime) -> Iterator[StatementEntry]:
        where = f"statement {statement}, entry {ordinal}"
        status = self._text(ntry, "c:Sts/c:Cd") or self._text(ntry, "c:Sts/c:Prtry")
        if status != "BOOK":
            self.skipped += 1
            return
        amount, currency = self._amount(ntry, where)
        direction = _direction(self._text(ntry, "c:CdtDbtInd"))
        reversal = self._text(ntry, "c:RvslInd") in ("true", "1")
        booked = self._when(ntry, "c:BookgDt") or self._when(ntry, "c:ValDt") or created
        value = self._when(ntry, "c:ValDt")
        bank_reference = self._text(ntry, "c:AcctSvcrRef")
        reference = self._text(ntry, "c:NtryRef") or bank_reference or f"#{ordinal}"
        transactions = ntry.findall("c:NtryDtls/c:TxDtls", namespaces=self.ns) or [None]
        for index, tx in enumerate(transactions):
            tx_amount, tx_currency, tx_direction = amount, currency, direction
            if len(transactions) > 1:
                if tx.find("c:Amt", namespaces=self.ns) is None:
                    raise InvalidStatement(f"{where}: a batch entry must give each transaction's amount")
                tx_amount, tx_currency = self._amount(tx, f"{where}, transaction {index + 1}")
                code = self._text(tx, "c:CdtDbtInd")
                tx_direction = _direction(code) if code else direction
            lines = tx.findall("c:RmtInf/c:Ustrd", namespaces=self.ns) if tx is not None else []
            refs = tx.findall("c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", namespaces=self.ns) if tx is not None else []
            yield StatementEntry(
                statement_id=statement,
                entry_reference=reference,
                transaction=index,
                end_to_end_id=self._text(tx, "c:Refs/c:EndToEndId") if tx is not None else None,
                bank_reference=(self._text(tx, "c:Refs/c:AcctSvcrRef") if tx is not None else None) or bank_reference,
                amount=tx_amount,
                currency=tx_currency,
                direction=tx_direction,
                reversal=reversal,
                booked_at=booked,
                value_date=value.date() if value else None,
                remittance=" ".join((line.text or "").strip() for line in lines).strip(),
                creditor_references=tuple((ref.text or "").strip() for ref in refs if (ref.text or "").strip()),
            )

    def _amount(self, element: Any, where: str) -> tuple[Decimal, str]:
        node = element.find("c:Amt", namespaces=self.ns)
        currency = node.get("Ccy", "")
        try:
            amount = Decimal((node.text or "").strip())
        except InvalidOperation:
            raise InvalidStatement(f"{where}: amount {node.text!r} is not a number") from None
        check_amount(amount, currency, where)
        return amount, currency

    def _when(self, element: Any, path: str) -> datetime | None:
        day = self._text(element, f"{path}/c:Dt")
        if day:
            return datetime.combine(_date(day, path), datetime.min.time(), UTC)
        moment = self._text(element, f"{path}/c:DtTm")
        return _datetime(moment, path) if moment else None


def _direction(code: str | None) -> Direction:
    if code == "CRDT":
        return Direction.CREDIT
    if code == "DBIT":
        return Direction.DEBIT
    raise InvalidStatement(f"credit/debit indicator {code!r} is neither CRDT nor DBIT")


def _date(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidStatement(f"{where}: {text!r} is not a date") from None


def _datetime(text: str | None, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise InvalidStatement(f"{where}: {text!r} is not a date and time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
