"""`portal payments import`: statement files posted once, matched, reversed, refused whole."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from portal.agreements.models import Agreement
from portal.audit.models import AuditEvent
from portal.audit.service import verify_chain
from portal.demo import DEMO_CARDHOLDERS
from portal.extensions import db
from portal.payments.models import Payment
from portal.plans.models import Plan, PlanInstallment, PlanState
from portal.staff.models import Role
from tests.conftest import make_account
from tests.payment_files import camt_file, entry
from tests.plan_factories import make_pending_agreement, make_plan
from tests.staff_helpers import signed_in_staff

CONTRACT = {"entries", "posted", "duplicates", "unmatched"}


def run(app, path: Path, *options: str):
    return app.test_cli_runner().invoke(args=["portal", "payments", "import", str(path), *options])


def counts(app, path: Path, *options: str) -> dict[str, int]:
    result = run(app, path, "--json", *options)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == CONTRACT
    assert data["entries"] == data["posted"] + data["duplicates"] + data["unmatched"]
    return data


def payments(app) -> list[Payment]:
    with app.app_context():
        rows = list(db.session.execute(select(Payment).order_by(Payment.id)).scalars())
        db.session.expunge_all()
        return rows


def test_a_payment_quoting_the_account_reference_is_posted_to_that_account(app, tmp_path):
    account = make_account(app, reference="DEMO0001")
    path = camt_file(tmp_path, [entry("0001", "245.00", end_to_end_id="E1", remittance="Card repayment demo0001.")])
    assert counts(app, path) == {"entries": 1, "posted": 1, "duplicates": 0, "unmatched": 0}
    (payment,) = payments(app)
    assert (payment.account_id, payment.status, payment.match_basis) == (account, "posted", "account_reference")
    assert (payment.amount, payment.currency, payment.direction, payment.source) == (
        Decimal("245.00"), "CNY", "credit", "camt053",
    )  # fmt: skip
    assert (payment.statement_id, payment.entry_reference, payment.end_to_end_id) == ("STMT-1", "0001", "E1")


def test_importing_the_same_file_again_posts_nothing(app, tmp_path):
    make_account(app, reference="DEMO0001")
    path = camt_file(tmp_path, [entry("1", "10.00", remittance="DEMO0001"), entry("2", "20.00", remittance="unknown")])
    assert counts(app, path) == {"entries": 2, "posted": 1, "duplicates": 0, "unmatched": 1}
    assert counts(app, path) == {"entries": 2, "posted": 0, "duplicates": 2, "unmatched": 0}
    assert len(payments(app)) == 2


def test_an_entry_repeated_within_one_file_is_one_payment(app, tmp_path):
    make_account(app, reference="DEMO0001")
    twice = entry("1", "10.00", end_to_end_id="E1", remittance="DEMO0001")
    assert counts(app, camt_file(tmp_path, [twice, twice])) == {
        "entries": 2,
        "posted": 1,
        "duplicates": 1,
        "unmatched": 0,
    }


def test_the_agreement_reference_posts_to_the_plan_and_pays_its_oldest_installment(app, tmp_path):
    account = make_account(app, reference="ACC-7")
    plan = make_plan(app, account, "installment", "en", months=6)
    make_pending_agreement(app, plan)
    with app.app_context():
        reference = db.session.execute(select(Agreement.reference)).scalar_one()
        first = db.session.execute(select(PlanInstallment).where(PlanInstallment.number == 1)).scalar_one().total
    spaced = reference.replace("-", " ").lower()
    path = camt_file(
        tmp_path,
        [
            entry("1", str(first), creditor_reference=reference),  # structured creditor reference
            entry("2", "1.00", remittance=f"for plan {spaced}"),  # typed loosely in the free text
        ],
    )
    assert counts(app, path) == {"entries": 2, "posted": 2, "duplicates": 0, "unmatched": 0}
    assert {(p.account_id, p.plan_id, p.match_basis) for p in payments(app)} == {(account, plan, "agreement_reference")}
    with app.app_context():
        paid = dict(db.session.execute(select(PlanInstallment.number, PlanInstallment.paid)).all())
    assert paid[1] == first and paid[2] == Decimal("1.00") and paid[3] == 0


def test_a_payment_quoting_an_ended_plans_agreement_counts_towards_the_accounts_active_plan(app, tmp_path):
    """A standing order set up for a plan that later broke keeps quoting its agreement
    reference: the money goes to the plan the account is on now, not to the broken one."""
    account = make_account(app, reference="ACC-8")
    old = make_plan(app, account, "installment", "en", months=6)
    make_pending_agreement(app, old)
    with app.app_context():
        reference = db.session.execute(select(Agreement.reference)).scalar_one()
        db.session.get(Plan, old).state = PlanState.BROKEN
        db.session.commit()
    new = make_plan(app, account, "installment", "en", months=3)
    with app.app_context():
        first = db.session.execute(
            select(PlanInstallment.total).where(PlanInstallment.plan_id == new, PlanInstallment.number == 1)
        ).scalar_one()
    counts(app, camt_file(tmp_path, [entry("1", str(first), remittance=f"standing order {reference}")]))
    (payment,) = payments(app)
    assert (payment.account_id, payment.plan_id, payment.match_basis) == (account, new, "agreement_reference")
    with app.app_context():
        paid = dict(
            db.session.execute(
                select(PlanInstallment.plan_id, func.sum(PlanInstallment.paid)).group_by(PlanInstallment.plan_id)
            ).all()
        )
        first_paid = db.session.execute(
            select(PlanInstallment.paid).where(PlanInstallment.plan_id == new, PlanInstallment.number == 1)
        ).scalar_one()
    assert first_paid == first and paid[old] == 0


def test_a_payment_quoting_an_ended_plans_agreement_with_no_plan_now_is_the_accounts(app, tmp_path):
    account = make_account(app, reference="ACC-9")
    old = make_plan(app, account, "installment", "en", months=6)
    make_pending_agreement(app, old)
    with app.app_context():
        reference = db.session.execute(select(Agreement.reference)).scalar_one()
        db.session.get(Plan, old).state = PlanState.COMPLETED
        db.session.commit()
    counts(app, camt_file(tmp_path, [entry("1", "50.00", creditor_reference=reference)]))
    (payment,) = payments(app)
    assert (payment.account_id, payment.plan_id, payment.status) == (account, None, "posted")
    assert payment.match_basis == "agreement_reference"


def test_the_account_reference_of_an_account_on_a_plan_counts_towards_the_plan(app, tmp_path):
    account = make_account(app, reference="DEMO0004")
    plan = make_plan(app, account, "installment", "en", months=6)
    counts(app, camt_file(tmp_path, [entry("1", "5.00", remittance="DEMO0004")]))
    (payment,) = payments(app)
    assert (payment.account_id, payment.plan_id) == (account, plan)


def test_a_payment_naming_no_account_two_accounts_or_another_currency_waits_unmatched(app, tmp_path):
    make_account(app, reference="DEMO0001")
    make_account(app, card="6222000000000025", reference="DEMO0002")
    make_account(app, card="6222000000000033", reference="DEMO0003", currency="HKD")
    path = camt_file(
        tmp_path,
        [
            entry("1", "1.00", remittance="thank you"),
            entry("2", "2.00", remittance="DEMO0001 DEMO0002"),
            entry("3", "3.00", remittance="DEMO0003"),  # a CNY payment to an HKD account
        ],
    )
    assert counts(app, path) == {"entries": 3, "posted": 0, "duplicates": 0, "unmatched": 3}
    assert [(p.account_id, p.status, p.match_basis) for p in payments(app)] == [
        (None, "unmatched", "no_reference"),
        (None, "unmatched", "ambiguous"),
        (None, "unmatched", "other_currency"),
    ]


def test_a_reversal_unposts_the_payment_and_takes_it_back_out_of_the_plan(app, tmp_path):
    account = make_account(app, reference="DEMO0001")
    plan = make_plan(app, account, "installment", "en", months=6)
    counts(app, camt_file(tmp_path, [entry("1", "50.00", end_to_end_id="E1", remittance="DEMO0001")], "day1.xml"))
    with app.app_context():
        assert db.session.execute(select(func.sum(PlanInstallment.paid))).scalar_one() == Decimal("50.00")
    returned = entry("9", "50.00", credit=False, reversal=True, end_to_end_id="E1")
    path = camt_file(tmp_path, [returned], "day2.xml", statement="STMT-2")
    assert counts(app, path) == {"entries": 0, "posted": 0, "duplicates": 0, "unmatched": 0}
    original, reversal = payments(app)
    assert original.status == "reversed"
    assert (reversal.direction, reversal.reverses_id, reversal.account_id, reversal.plan_id) == (
        "debit", original.id, account, plan,
    )  # fmt: skip
    with app.app_context():
        assert db.session.execute(select(func.sum(PlanInstallment.paid))).scalar_one() == 0
        actions = list(db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())
    assert actions[-1] == "payment.reversed" and actions.count("payment.posted") == 2
    assert "reversals applied" in run(app, path).output  # and again: a duplicate, nothing changes
    assert [p.status for p in payments(app)] == ["reversed", "posted"]


def test_a_reversal_of_a_payment_never_received_waits_for_review(app, tmp_path):
    path = camt_file(tmp_path, [entry("9", "50.00", credit=False, reversal=True, end_to_end_id="NOPE")])
    counts(app, path)
    (row,) = payments(app)
    assert (row.status, row.match_basis, row.reverses_id) == ("unmatched", "original_not_found", None)


def test_a_debit_entry_is_recorded_but_is_not_a_credit_entry(app, tmp_path):
    account = make_account(app, reference="DEMO0001")
    path = camt_file(tmp_path, [entry("1", "10.00", credit=False, remittance="Refund DEMO0001"), entry("2", "5.00")])
    assert counts(app, path) == {"entries": 1, "posted": 0, "duplicates": 0, "unmatched": 1}
    refund, _ = payments(app)
    assert (refund.direction, refund.status, refund.account_id) == ("debit", "posted", account)


def test_a_camt054_notification_is_recognised_and_posted(app, tmp_path):
    account = make_account(app, reference="DEMO0001")
    path = camt_file(tmp_path, [entry("N1", "99.00", remittance="DEMO0001")], fmt="camt054", statement="NTF-1")
    assert counts(app, path) == {"entries": 1, "posted": 1, "duplicates": 0, "unmatched": 0}
    (payment,) = payments(app)
    assert (payment.source, payment.statement_id, payment.account_id) == ("camt054", "NTF-1", account)


def test_a_csv_file_is_imported_and_its_reversal_applied(app, tmp_path):
    account = make_account(app, reference="DEMO0001")
    path = tmp_path / "payments.csv"
    path.write_text(
        "statement_id,entry_reference,booking_date,direction,amount,currency,end_to_end_id,remittance,reversal\n"
        "S1,1,2026-11-30,credit,245.00,CNY,E1,Repayment DEMO0001,false\n"
        "S1,2,2026-11-30,credit,10.00,CNY,E2,Repayment DEMO0001,\n"
        "S1,3,2026-11-30,debit,245.00,CNY,E1,,true\n",
        encoding="utf-8",
    )
    assert counts(app, path) == {"entries": 2, "posted": 2, "duplicates": 0, "unmatched": 0}
    assert [(p.source, p.status, p.account_id) for p in payments(app)] == [
        ("csv", "reversed", account), ("csv", "posted", account), ("csv", "posted", account),
    ]  # fmt: skip
    assert counts(app, path, "--format", "csv")["duplicates"] == 2


def test_a_file_failing_the_schema_exits_2_and_writes_nothing(app, tmp_path):
    make_account(app, reference="DEMO0001")
    path = camt_file(tmp_path, [entry(str(n), "1.00", remittance="DEMO0001") for n in range(1, 4)])
    text = path.read_bytes()
    # The first entries are fine; the last breaks the schema: still, nothing is written.
    cut = text.rfind(b"<BkTxCd>")
    path.write_bytes(text[:cut] + b"<Unexpected/>" + text[cut:])
    result = run(app, path, "--json")
    assert result.exit_code == 2
    assert "refused, nothing imported" in result.output and "camt.053.001.08.xsd" in result.output
    assert payments(app) == []


def test_a_file_that_is_not_xml_or_has_another_format_exits_2(app, tmp_path):
    broken = camt_file(tmp_path, [entry("1", "1.00")])
    broken.write_bytes(broken.read_bytes()[:-30])
    assert run(app, broken).exit_code == 2
    statement = camt_file(tmp_path, [entry("1", "1.00")], "ok.xml")
    result = run(app, statement, "--format", "camt054")
    assert result.exit_code == 2 and "--format camt054 was given, but the file is camt053" in result.output
    assert payments(app) == []


def test_every_payment_written_is_audited_and_the_chain_holds(app, tmp_path):
    make_account(app, reference="DEMO0001")
    path = camt_file(tmp_path, [entry(str(n), "1.00", remittance="DEMO0001" if n % 2 else "?") for n in range(1, 7)])
    counts(app, path)
    with app.app_context():
        events = db.session.execute(select(AuditEvent.action, AuditEvent.object_id)).all()
        assert verify_chain() is None
    ids = {str(p.id) for p in payments(app)}
    assert sorted(a for a, _ in events) == ["payment.posted"] * 3 + ["payment.unmatched"] * 3
    assert {object_id for _, object_id in events} == ids


def test_the_demo_statement_is_schema_valid_and_posts_to_the_demo_accounts(app, tmp_path):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["portal", "demo"]).exit_code == 0
    result = runner.invoke(args=["portal", "demo", "statement", "--date", "2026-11-30"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "demo.xml"
    path.write_bytes(result.stdout_bytes)
    data = counts(app, path)
    demo = len(DEMO_CARDHOLDERS)
    assert data["posted"] == demo and data["unmatched"] == 1  # one per demo account, one quoting nothing
    assert counts(app, path)["duplicates"] == demo + 1


def test_the_account_page_shows_an_imported_payment_and_then_that_it_was_sent_back(app, client, auth, tmp_path):
    make_account(app, reference="DEMO0001")
    counts(app, camt_file(tmp_path, [entry("1", "321.09", end_to_end_id="E1", remittance="DEMO0001")], "a.xml"))
    auth.sign_in()
    assert "321.09" in client.get("/account").get_data(as_text=True)
    returned = entry("2", "321.09", credit=False, reversal=True, end_to_end_id="E1")
    counts(app, camt_file(tmp_path, [returned], "b.xml", statement="STMT-2"))
    page = client.get("/account").get_data(as_text=True)
    # Still listed, struck through and said in words: a payment never silently disappears.
    assert "<s>CN¥321.09</s>" in page and "Sent back by the bank: it does not count" in page
    assert page.count("321.09") == 1  # the reversal entry itself is not listed as a payment


def test_a_bad_entry_late_in_a_file_of_many_chunks_writes_nothing(app, tmp_path, monkeypatch):
    monkeypatch.setattr("portal.payments.cli.CHUNK", 1)  # every entry its own chunk and commit
    make_account(app, reference="DEMO0001")
    good = [entry(str(n), "1.00", remittance="DEMO0001") for n in range(1, 4)]
    path = camt_file(tmp_path, [*good, entry("4", "1.001", remittance="DEMO0001")])  # finer than CNY allows
    result = run(app, path)
    assert result.exit_code == 2 and "more decimals than CNY allows" in result.output
    assert payments(app) == []
    path = camt_file(tmp_path, good, "good.xml")
    assert counts(app, path) == {"entries": 3, "posted": 3, "duplicates": 0, "unmatched": 0}


def test_a_card_number_in_the_remittance_is_masked_from_every_file_and_never_shown(app, client, tmp_path):
    """Payers were once told to quote their card number: it is matched around, stored
    and shown with only its last four digits, whether it came in a camt or a CSV file."""
    first = make_account(app, reference="DEMO0001")
    second = make_account(app, card="6222000000000025", reference="DEMO0002")
    counts(app, camt_file(tmp_path, [entry("1", "10.00", remittance="4111 1111 1111 1111 DEMO0001")]))
    csv_path = tmp_path / "payments.csv"
    csv_path.write_text(
        "statement_id,entry_reference,booking_date,direction,amount,currency,end_to_end_id,remittance,reversal\n"
        "S1,1,2026-11-30,credit,20.00,CNY,E1,Repayment 5555-5555-5555-4444 DEMO0002,false\n"
        "S1,2,2026-11-30,credit,30.00,CNY,E2,card 4111111111111111,false\n",
        encoding="utf-8",
    )
    counts(app, csv_path, "--format", "csv")
    assert [(p.account_id, p.status, p.remittance) for p in payments(app)] == [
        (first, "posted", "************1111 DEMO0001"),
        (second, "posted", "Repayment ************4444 DEMO0002"),
        (None, "unmatched", "card ************1111"),
    ]
    full = ("4111 1111 1111", "4111111111111", "5555-5555-5555", "5555555555554444")
    with app.app_context():
        audited = json.dumps([(e.action, e.after) for e in db.session.execute(select(AuditEvent)).scalars()])
    assert audited and not any(number in audited for number in full)
    signed_in_staff(app, client, Role.AGENT)
    pages = [client.get("/care/payments/")] + [client.get(f"/care/payments/{p.id}") for p in payments(app)]
    for page in pages:
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and not any(number in html for number in full)
    assert "card ************1111" in pages[0].get_data(as_text=True)
