"""ISO 20022 camt.053.001.08 (statement) and camt.054.001.08 (notification) files.

Read with lxml, streaming (``iterparse``: each entry is dropped once read), against the
official schemas in ``schemas/``. The parser never reads an external entity (XXE),
never loads a DTD and never touches the network; a document that declares a DTD at all
is refused, since no ISO 20022 message has one.

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
        self.cut = len(NAMESPACES[fmt]) + 2  # "{namespace}" before each local name
        self.skipped = 0

    def __iter__(self) -> Iterator[StatementEntry]:
        ns = NAMESPACES[self.fmt]
        tags = (f"{{{ns}}}GrpHdr", f"{{{ns}}}Ntry")
        options: dict[str, Any] = dict(_SAFE, events=("end",), tag=tags, remove_comments=True, remove_pis=True)
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
                created = _datetime(_text(self._kids(element).get("CreDtTm")), "GrpHdr/CreDtTm")
                continue
            container = element.getparent()
            # Id is the first child of a Stmt or Ntfctn (the schema's order; validated).
            statement = _text(container[0]) if container[0].tag[self.cut :] == "Id" else None
            statement = statement or ""
            ordinal[statement] = ordinal.get(statement, 0) + 1
            yield from self._entry(element, statement, ordinal[statement], created)
            # Stream: forget the entry (the statement keeps only its header elements).
            element.clear()
            container.remove(element)

    def _kids(self, element: Any) -> dict[str, Any]:
        """Direct children by local name, the first of each: one walk instead of a path
        search per field (an entry is read 100,000 times in a large statement)."""
        cut = self.cut
        found: dict[str, Any] = {}
        for child in element:
            found.setdefault(child.tag[cut:], child)
        return found

    def _entry(self, ntry: Any, statement: str, ordinal: int, created: datetime) -> Iterator[StatementEntry]:
        where = f"statement {statement}, entry {ordinal}"
        kids = self._kids(ntry)
        status = _text(kids["Sts"][0]) if "Sts" in kids and len(kids["Sts"]) else None
        if status != "BOOK":
            self.skipped += 1
            return
        amount, currency = _amount(kids.get("Amt"), where)
        direction = _direction(_text(kids.get("CdtDbtInd")))
        reversal = _text(kids.get("RvslInd")) in ("true", "1")
        value = self._when(kids.get("ValDt"), f"{where}, ValDt")
        booked = self._when(kids.get("BookgDt"), f"{where}, BookgDt") or value or created
        bank_reference = _text(kids.get("AcctSvcrRef"))
        reference = _text(kids.get("NtryRef")) or bank_reference or f"#{ordinal}"
        transactions = [tx for details in ntry if details.tag[self.cut :] == "NtryDtls" for tx in details] or [None]
        for index, tx in enumerate(transactions):
            tx_kids = self._kids(tx) if tx is not None else {}
            refs = self._kids(tx_kids["Refs"]) if "Refs" in tx_kids else {}
            tx_amount, tx_currency, tx_direction = amount, currency, direction
            if len(transactions) > 1:
                if "Amt" not in tx_kids:
                    raise InvalidStatement(f"{where}: a batch entry must give each transaction's amount")
                tx_amount, tx_currency = _amount(tx_kids["Amt"], f"{where}, transaction {index + 1}")
                code = _text(tx_kids.get("CdtDbtInd"))
                tx_direction = _direction(code) if code else direction
            lines, creditor = self._remittance(tx_kids.get("RmtInf"))
            yield StatementEntry(
                statement_id=statement,
                entry_reference=reference,
                transaction=index,
                end_to_end_id=_text(refs.get("EndToEndId")),
                bank_reference=_text(refs.get("AcctSvcrRef")) or bank_reference,
                amount=tx_amount,
                currency=tx_currency,
                direction=tx_direction,
                reversal=reversal,
                booked_at=booked,
                value_date=value.date() if value else None,
                remittance=" ".join(lines),
                creditor_references=tuple(creditor),
            )

    def _remittance(self, info: Any) -> tuple[list[str], list[str]]:
        """The unstructured lines and the structured creditor references of RmtInf."""
        lines: list[str] = []
        creditor: list[str] = []
        for part in info if info is not None else ():
            name = part.tag[self.cut :]
            if name == "Ustrd" and _text(part):
                lines.append(_text(part) or "")
            elif name == "Strd":
                reference = self._kids(self._kids(part).get("CdtrRefInf", ())).get("Ref")
                if _text(reference):
                    creditor.append(_text(reference) or "")
        return lines, creditor

    def _when(self, choice: Any, where: str) -> datetime | None:
        """A DateAndDateTime2Choice: its one child is a Dt or a DtTm."""
        if choice is None or not len(choice):
            return None
        inner = choice[0]
        if inner.tag[self.cut :] == "Dt":
            return datetime.combine(_date(_text(inner) or "", where), datetime.min.time(), UTC)
        return _datetime(_text(inner), where)


def _text(element: Any) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _amount(node: Any, where: str) -> tuple[Decimal, str]:
    if node is None:
        raise InvalidStatement(f"{where}: no amount")
    currency = node.get("Ccy", "")
    try:
        amount = Decimal((node.text or "").strip())
    except InvalidOperation:
        raise InvalidStatement(f"{where}: amount {node.text!r} is not a number") from None
    check_amount(amount, currency, where)
    return amount, currency


def _direction(code: str | None) -> Direction:
    if code == "CRDT":
        return Direction.CREDIT
    if code == "DBIT":
        return Direction.DEBIT
    raise InvalidStatement(f"credit/debit indicator {code!r} is neither CRDT nor DBIT")


def _date(text: str, where: str) -> date:
    # xs:date may carry a zone ("2026-11-30+08:00"); the day is what was booked.
    if len(text) > 10 and text[10] in "Z+-":
        text = text[:10]
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
