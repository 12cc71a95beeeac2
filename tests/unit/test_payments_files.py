"""Reading statement files: camt.053/054 against their schemas, the CSV layout, references."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from portal.agreements.reference import check_symbol, format_reference
from portal.payments.camt import CamtReader, sniff
from portal.payments.csv_layout import CsvReader
from portal.payments.entries import InvalidStatement
from portal.payments.matching import candidates
from portal.payments.models import Direction
from tests.payment_files import camt_bytes, camt_file, entry

AGREEMENT = format_reference("7K3M9QXD" + check_symbol("7K3M9QXD"))


def read(path: Path, fmt: str) -> list:
    return list(CamtReader(path, fmt, validate=True))


@pytest.mark.parametrize("fmt", ["camt053", "camt054"])
def test_what_the_writer_writes_is_schema_valid_and_reads_back(tmp_path: Path, fmt: str) -> None:
    path = camt_file(tmp_path, [entry("1", "245.50", end_to_end_id="E1", remittance="repay DEMO0001")], fmt=fmt)
    assert sniff(path) == fmt
    (only,) = read(path, fmt)
    assert (only.statement_id, only.entry_reference, only.end_to_end_id) == ("STMT-1", "1", "E1")
    assert only.amount == Decimal("245.50") and only.currency == "CNY" and only.direction == Direction.CREDIT
    assert only.remittance == "repay DEMO0001" and not only.reversal


def test_an_entry_missing_a_required_element_fails_the_schema(tmp_path: Path) -> None:
    good = camt_bytes([entry("1", "10.00"), entry("2", "20.00")])
    broken = good.replace(b"<BkTxCd>", b"<Oops/><BkTxCd>", 1)
    path = tmp_path / "bad.xml"
    path.write_bytes(broken)
    with pytest.raises(InvalidStatement, match=r"camt\.053\.001\.08\.xsd"):
        read(path, "camt053")


def test_a_file_that_is_not_xml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_bytes(camt_bytes([entry("1", "10.00")])[:-40])
    with pytest.raises(InvalidStatement, match="not valid XML"):
        read(path, "camt053")


def test_a_dtd_and_its_external_entity_are_refused_unread(tmp_path: Path) -> None:
    body = camt_bytes([entry("1", "10.00", remittance="X")]).decode()
    head, rest = body.split("?>", 1)
    doctype = '<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    path = tmp_path / "xxe.xml"
    path.write_text(head + "?>" + doctype + rest.replace(">X<", ">&xxe;<"), encoding="utf-8")
    with pytest.raises(InvalidStatement, match="DTD"):
        sniff(path)
    with pytest.raises(InvalidStatement, match="DTD"):
        read(path, "camt053")


def test_another_message_version_is_named_and_refused(tmp_path: Path) -> None:
    path = tmp_path / "v2.xml"
    path.write_bytes(camt_bytes([entry("1", "10.00")]).replace(b"camt.053.001.08", b"camt.053.001.02"))
    with pytest.raises(InvalidStatement, match=r"camt\.053\.001\.02"):
        sniff(path)


def test_an_amount_finer_than_the_currency_allows_is_refused(tmp_path: Path) -> None:
    path = camt_file(tmp_path, [entry("1", "10.001")])
    with pytest.raises(InvalidStatement, match="more decimals than CNY"):
        read(path, "camt053")


def test_pending_entries_are_skipped_and_counted(tmp_path: Path) -> None:
    path = camt_file(tmp_path, [entry("1", "10.00", status="PDNG"), entry("2", "20.00")], fmt="camt054")
    reader = CamtReader(path, "camt054", validate=True)
    assert [e.entry_reference for e in reader] == ["2"] and reader.skipped == 1


def test_a_batch_entry_gives_one_entry_per_transaction(tmp_path: Path) -> None:
    body = camt_bytes([entry("B1", "30.00", end_to_end_id="E1", remittance="DEMO0001")]).decode()
    # Give the first transaction its own amount and add a second one to the same entry.
    body = body.replace("</Refs><RmtInf>", '</Refs><Amt Ccy="CNY">10.00</Amt><RmtInf>', 1)
    second = (
        '<TxDtls><Refs><EndToEndId>E2</EndToEndId></Refs><Amt Ccy="CNY">20.00</Amt>'
        "<RmtInf><Ustrd>DEMO0002</Ustrd></RmtInf></TxDtls>"
    )
    body = body.replace("</TxDtls>", "</TxDtls>" + second, 1)
    path = tmp_path / "batch.xml"
    path.write_text(body, encoding="utf-8")
    entries = read(path, "camt053")
    assert [(e.end_to_end_id, e.amount, e.remittance) for e in entries] == [
        ("E1", Decimal("10.00"), "DEMO0001"),
        ("E2", Decimal("20.00"), "DEMO0002"),
    ]
    assert len({e.key for e in entries}) == 2


def test_an_entry_is_identified_by_statement_entry_and_end_to_end_references() -> None:
    from dataclasses import replace

    base = next(iter(_entries("DEMO0001")))
    assert replace(base, amount=Decimal("2.00"), remittance="other").key == base.key
    assert replace(base, statement_id="S2").key != base.key
    assert replace(base, entry_reference="2").key != base.key
    assert replace(base, end_to_end_id="E1").key != replace(base, end_to_end_id="E2").key
    assert replace(base, transaction=1).key != base.key  # a batch's transactions without end-to-end ids


CSV_HEADER = "statement_id,entry_reference,booking_date,direction,amount,currency,end_to_end_id,remittance,reversal\n"


def test_csv_rows_read_as_entries(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        CSV_HEADER + 'S1,0001,2026-11-30,credit,245.00,cny,E1,"Card repayment, DEMO0001",\n'
        "S1,0002,2026-11-30,debit,245.00,CNY,E1,,true\n",
        encoding="utf-8",
    )
    assert sniff(path) == "csv"
    first, second = list(CsvReader(path))
    assert (first.currency, first.remittance, first.reversal) == ("CNY", "Card repayment, DEMO0001", False)
    assert (second.direction, second.reversal) == (Direction.DEBIT, True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("statement_id,amount\nS1,1\n", "header"),
        (CSV_HEADER + "S1,1,2026-11-30,credit,12.345,CNY,,,\n", "line 2: amount 12.345 has more decimals"),
        (CSV_HEADER + "S1,1,2026-13-01,credit,1.00,CNY,,,\n", "line 2: '2026-13-01' is not a date"),
        (CSV_HEADER + "S1,1,2026-11-30,sideways,1.00,CNY,,,\n", "direction must be credit or debit"),
        (CSV_HEADER + "S1,1,2026-11-30,credit,-1.00,CNY,,,\n", "not a positive amount"),
        (CSV_HEADER + "S1,1,2026-11-30,credit,1.00,CNY\n", "line 2: 6 fields"),
        (CSV_HEADER + "S1,1,2026-11-30,credit,1.00,XXY,,,\n", "unknown currency"),
    ],
)
def test_a_bad_csv_file_is_refused_saying_where(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InvalidStatement, match=message):
        list(CsvReader(path))


def test_references_are_found_in_free_text_in_any_case_and_spacing() -> None:
    spaced = AGREEMENT.replace("-", " ").lower()  # "pa 7k3m 9qxd 4"
    found = candidates(next(iter(_entries(f"Nov. repayment, ref:demo0001; plan {spaced}"))))
    assert "DEMO0001" in found.words
    assert found.agreements == {AGREEMENT}
    assert "DEMO0002" in candidates(next(iter(_entries("还款DEMO0002，谢谢")))).words  # no space needed


def test_a_mistyped_agreement_reference_is_not_a_candidate() -> None:
    wrong = AGREEMENT[:-1] + ("A" if AGREEMENT[-1] != "A" else "B")
    assert candidates(next(iter(_entries(wrong)))).agreements == frozenset()


def _entries(remittance: str):
    from datetime import UTC, datetime

    from portal.payments.entries import StatementEntry

    yield StatementEntry(
        "S", "1", 0, None, None, Decimal("1.00"), "CNY", Direction.CREDIT, False,
        datetime(2026, 11, 30, tzinfo=UTC), None, remittance, (),
    )  # fmt: skip
