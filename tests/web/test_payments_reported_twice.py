"""The same payment in the day's camt.054 and then in the camt.053 statement is posted once.

The two files give it two statement ids (two import keys) but one bank reference
(``AcctSvcrRef``): that, with direction, amount and currency, makes the second a duplicate.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.payments.models import Payment
from tests.conftest import make_account
from tests.payment_files import camt_file, entry
from tests.web.test_payments_import import counts, payments


def test_a_payment_notified_by_camt054_then_listed_in_camt053_is_posted_once(app, tmp_path, query):
    make_account(app, reference="DEMO0001")
    paid = entry("N-1", "245.00", end_to_end_id="E1", bank_reference="BANK-REF-1", remittance="DEMO0001")
    other = entry("N-2", "30.00", bank_reference="BANK-REF-2", remittance="nobody we know")
    notice = camt_file(tmp_path, [paid, other], "notice.xml", fmt="camt054", statement="NTFCTN-1")
    assert counts(app, notice) == {"entries": 2, "posted": 1, "duplicates": 0, "unmatched": 1}
    # The statement numbers its entries its own way; the bank's reference stays.
    again = [
        entry("S-7", "245.00", end_to_end_id="E1", bank_reference="BANK-REF-1", remittance="DEMO0001"),
        entry("S-8", "30.00", bank_reference="BANK-REF-2", remittance="nobody we know"),
    ]
    statement = camt_file(tmp_path, again, "statement.xml", statement="STMT-1")
    assert counts(app, statement) == {"entries": 2, "posted": 0, "duplicates": 2, "unmatched": 0}
    assert [p.statement_id for p in payments(app)] == ["NTFCTN-1", "NTFCTN-1"]
    assert query(select(Payment.bank_reference).order_by(Payment.id)) == ["BANK-REF-1", "BANK-REF-2"]


def test_the_same_bank_reference_with_another_amount_or_direction_is_another_payment(app, tmp_path):
    make_account(app, reference="DEMO0001")
    first = entry("1", "245.00", bank_reference="R1", remittance="DEMO0001")
    counts(app, camt_file(tmp_path, [first], "a.xml", fmt="camt054", statement="N-1"))
    later = [
        entry("1", "245.01", bank_reference="R1", remittance="DEMO0001"),
        entry("2", "245.00", bank_reference="R1", credit=False, remittance="DEMO0001"),
    ]
    assert counts(app, camt_file(tmp_path, later, "b.xml", statement="S-1")) == {
        "entries": 1, "posted": 1, "duplicates": 0, "unmatched": 0,
    }  # fmt: skip
    assert len(payments(app)) == 3


def test_transactions_of_one_statement_sharing_a_reference_stay_apart_but_match_once_each_later(app, tmp_path):
    """A batch entry shares its reference among its transactions: equal ones in one
    statement are distinct payments, and a later statement repeats each of them once."""
    make_account(app, reference="DEMO0001")
    two = [entry(str(n), "100.00", bank_reference="BATCH-1", remittance="DEMO0001") for n in (1, 2)]
    assert counts(app, camt_file(tmp_path, two, "n.xml", fmt="camt054", statement="N-1"))["posted"] == 2
    three = [entry(str(n), "100.00", bank_reference="BATCH-1", remittance="DEMO0001") for n in (7, 8, 9)]
    assert counts(app, camt_file(tmp_path, three, "s.xml", statement="S-1")) == {
        "entries": 3, "posted": 1, "duplicates": 2, "unmatched": 0,
    }  # fmt: skip
