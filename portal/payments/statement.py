"""Writing camt.053.001.08 / camt.054.001.08 files: the demo statement, tests, the benchmark.

Streams with ``lxml.etree.xmlfile``: a statement of 100,000 entries is written one entry
at a time, never held in memory whole. What it writes is valid against the schemas in
``schemas/`` (the tests check).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from lxml import etree

from portal.payments.camt import NAMESPACES


@dataclass(frozen=True)
class EntrySpec:
    reference: str
    amount: Decimal
    currency: str
    booked: date
    credit: bool = True
    reversal: bool = False
    status: str = "BOOK"
    end_to_end_id: str | None = None
    bank_reference: str | None = None
    remittance: str | None = None  # Ustrd (at most 140 characters)
    creditor_reference: str | None = None  # Strd/CdtrRefInf/Ref


@dataclass(frozen=True)
class StatementSpec:
    id: str
    account: str  # the bank's collection account, e.g. "REPAYMENTS-CNY"
    currency: str
    entries: Iterable[EntrySpec] = field(default_factory=tuple)
    opening_balance: Decimal = Decimal("0.00")
    opening_date: date | None = None


def _sub(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
    child = etree.SubElement(parent, tag, attributes)
    if text is not None:
        child.text = text
    return child


def _entry(spec: EntrySpec) -> Any:
    ntry = etree.Element("Ntry")
    _sub(ntry, "NtryRef", spec.reference)
    _sub(ntry, "Amt", str(spec.amount), Ccy=spec.currency)
    _sub(ntry, "CdtDbtInd", "CRDT" if spec.credit else "DBIT")
    if spec.reversal:
        _sub(ntry, "RvslInd", "true")
    _sub(_sub(ntry, "Sts"), "Cd", spec.status)
    _sub(_sub(ntry, "BookgDt"), "Dt", spec.booked.isoformat())
    _sub(_sub(ntry, "ValDt"), "Dt", spec.booked.isoformat())
    if spec.bank_reference:
        _sub(ntry, "AcctSvcrRef", spec.bank_reference)
    domain = _sub(_sub(ntry, "BkTxCd"), "Domn")
    _sub(domain, "Cd", "PMNT")
    family = _sub(domain, "Fmly")
    _sub(family, "Cd", "RCDT" if spec.credit != spec.reversal else "ICDT")
    _sub(family, "SubFmlyCd", "RRTN" if spec.reversal else "DMCT")
    tx = _sub(_sub(ntry, "NtryDtls"), "TxDtls")
    if spec.end_to_end_id:
        _sub(_sub(tx, "Refs"), "EndToEndId", spec.end_to_end_id)
    if spec.remittance or spec.creditor_reference:
        info = _sub(tx, "RmtInf")
        if spec.remittance:
            _sub(info, "Ustrd", spec.remittance[:140])
        if spec.creditor_reference:
            _sub(_sub(_sub(info, "Strd"), "CdtrRefInf"), "Ref", spec.creditor_reference)
    return ntry


def write_camt(
    out: IO[bytes], fmt: str, message_id: str, created: datetime, statements: Iterable[StatementSpec]
) -> None:
    """Write one camt.053 (``fmt="camt053"``) or camt.054 message to ``out``."""
    body, container = ("BkToCstmrStmt", "Stmt") if fmt == "camt053" else ("BkToCstmrDbtCdtNtfctn", "Ntfctn")
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element("Document", nsmap={None: NAMESPACES[fmt]}), xf.element(body):
            header = etree.Element("GrpHdr")
            _sub(header, "MsgId", message_id)
            _sub(header, "CreDtTm", created.isoformat(timespec="seconds"))
            xf.write(header)
            for statement in statements:
                with xf.element(container):
                    head = etree.Element("Head")
                    _sub(head, "Id", statement.id)
                    account = _sub(head, "Acct")
                    _sub(_sub(_sub(account, "Id"), "Othr"), "Id", statement.account)
                    _sub(account, "Ccy", statement.currency)
                    if fmt == "camt053":
                        balance = _sub(head, "Bal")
                        _sub(_sub(_sub(balance, "Tp"), "CdOrPrtry"), "Cd", "OPBD")
                        _sub(balance, "Amt", str(statement.opening_balance), Ccy=statement.currency)
                        _sub(balance, "CdtDbtInd", "CRDT")
                        _sub(_sub(balance, "Dt"), "Dt", (statement.opening_date or created.date()).isoformat())
                    for child in head:
                        xf.write(child)
                    for spec in statement.entries:
                        xf.write(_entry(spec))
