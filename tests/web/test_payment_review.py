"""The review list of unmatched payments: assign to an account, or mark not ours."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from portal.audit.models import AuditEvent
from portal.cases.models import CaseEvent
from portal.extensions import db
from portal.payments.models import Payment
from portal.plans.models import PlanInstallment
from portal.staff.models import Role
from tests.conftest import make_account, unit
from tests.plan_factories import make_plan
from tests.staff_helpers import StaffAuth, make_staff, signed_in_staff


def unmatched(app, amount="245.00", remittance="thanks, Li", basis="no_reference", **fields) -> int:
    values = dict(
        account_id=None,
        paid_at=datetime(2026, 11, 30, 2, 0, tzinfo=UTC),
        amount=Decimal(amount),
        currency="CNY",
        method="bank_transfer",
        direction="credit",
        status="unmatched",
        source="camt053",
        match_basis=basis,
        booking_date=date(2026, 11, 30),
        remittance=remittance,
        statement_id="STMT-1",
        entry_reference=f"E{amount}",
    )
    values.update(fields)
    with app.app_context():
        payment = Payment(**values)
        db.session.add(payment)
        db.session.commit()
        return payment.id


def get(app, payment_id) -> Payment:
    with app.app_context():
        payment = db.session.get(Payment, payment_id)
        db.session.expunge(payment)
        return payment


def audit(app, action):
    with app.app_context():
        return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def post(client, path, **data):
    return client.post(path, data={"csrf_token": StaffAuth(client).token(), **data})


def test_the_list_shows_waiting_payments_oldest_first_with_why_and_source(app, client):
    first = unmatched(app, "10.00", "hello", created_at=datetime(2026, 11, 29, tzinfo=UTC))
    unmatched(app, "20.00", "DEMO0001 DEMO0002", basis="ambiguous", source="csv")
    unmatched(app, "30.00", "posted", status="posted", account_id=make_account(app))
    signed_in_staff(app, client, Role.AGENT)
    response = client.get("/care/payments/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 payments waiting" in html
    assert html.index("CN¥10.00") < html.index("CN¥20.00")
    assert "CN¥30.00" not in html
    assert "It names more than one account." in html
    assert "No reference we know" in html
    assert "CSV file" in html
    assert '<code class="remittance">DEMO0001 DEMO0002</code>' in html
    assert f"/care/payments/{first}" in html
    # The navigation counts them on every care page.
    assert '<span class="count">2' in client.get("/care/").get_data(as_text=True)


def test_the_list_pages_and_a_bad_page_is_422(app, client):
    for n in range(27):
        unmatched(app, f"{n + 1}.00", entry_reference=f"E{n}")
    signed_in_staff(app, client, Role.SUPERVISOR)
    html = client.get("/care/payments/?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in html
    assert "CN¥26.00" in html and "CN¥1.00" not in html
    assert client.get("/care/payments/?page=zero").status_code == 422


def test_assigning_posts_it_to_the_account_and_its_active_plan(app, client):
    account = make_account(app, reference="DEMO0001")
    plan = make_plan(app, account, "installment", "en", months=12)
    with app.app_context():
        first = db.session.execute(
            select(PlanInstallment).where(PlanInstallment.plan_id == plan, PlanInstallment.number == 1)
        ).scalar_one()
        amount = first.total
    payment = unmatched(app, str(amount), "for my card")
    signed_in_staff(app, client, Role.AGENT)
    response = post(client, f"/care/payments/{payment}/assign", reference=" demo0001 ", note="Phoned in")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/care/accounts/{account}#timeline")
    row = get(app, payment)
    assert (row.status, row.account_id, row.plan_id, row.match_basis) == ("posted", account, plan, "assigned_by_staff")
    with app.app_context():
        paid = db.session.execute(
            select(PlanInstallment.paid).where(PlanInstallment.plan_id == plan).order_by(PlanInstallment.number)
        ).scalars()
        assert list(paid)[:2] == [amount, Decimal(0)]
        (event,) = db.session.execute(
            select(CaseEvent).where(CaseEvent.account_id == account, CaseEvent.kind == "payment_assigned")
        ).scalars()
        assert event.data["payment_id"] == payment and event.data["plan_id"] == plan
    (record,) = audit(app, "payment.assigned")
    assert record.object_id == str(payment)
    assert record.before["status"] == "unmatched"
    assert record.after["account_id"] == account and record.after["note"] == "Phoned in"
    case = client.get(f"/care/accounts/{account}").get_data(as_text=True)
    assert "Payment assigned by care staff" in case and "Phoned in" in case


def test_not_ours_takes_it_off_the_list_with_the_reason_audited(app, client):
    payment = unmatched(app)
    signed_in_staff(app, client, Role.SUPERVISOR)
    assert post(client, f"/care/payments/{payment}/not-ours", note="").status_code == 422
    assert get(app, payment).status == "unmatched"
    response = post(client, f"/care/payments/{payment}/not-ours", note="Meant for another bank")
    assert response.status_code == 302
    assert get(app, payment).status == "not_ours"
    (record,) = audit(app, "payment.not_ours")
    assert record.after == {"status": "not_ours", "note": "Meant for another bank"}
    assert "No payments are waiting" in client.get("/care/payments/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("NOPE0001", "We could not find an account with that reference"),
        ("HKD00001", "That account is kept in another currency"),
        ("", "Enter the account reference."),
        ("X" * 21, "at most 20 characters"),
    ],
)
def test_a_wrong_reference_is_a_form_error_and_writes_nothing(app, client, reference, message):
    make_account(app, reference="HKD00001", currency="HKD")
    payment = unmatched(app)
    signed_in_staff(app, client, Role.AGENT)
    response = post(client, f"/care/payments/{payment}/assign", reference=reference)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert get(app, payment).status == "unmatched"
    assert audit(app, "payment.assigned") == []


def test_a_payment_someone_else_handled_is_refused_clearly(app, client):
    account = make_account(app, reference="DEMO0001")
    payment = unmatched(app)
    signed_in_staff(app, client, Role.AGENT)
    assert "Assign to an account" in client.get(f"/care/payments/{payment}").get_data(as_text=True)
    other = app.test_client()
    signed_in_staff(app, other, Role.SUPERVISOR)
    assert post(other, f"/care/payments/{payment}/not-ours", note="Not ours").status_code == 302
    response = post(client, f"/care/payments/{payment}/assign", reference="DEMO0001")
    assert response.status_code == 409
    assert "Someone else has already dealt with this payment" in response.get_data(as_text=True)
    row = get(app, payment)
    assert (row.status, row.account_id) == ("not_ours", None)
    assert audit(app, "payment.assigned") == []
    with app.app_context():
        assert db.session.execute(select(CaseEvent).where(CaseEvent.account_id == account)).first() is None


def test_the_decision_is_made_by_a_conditional_update_so_a_race_loses_cleanly(app, monkeypatch):
    """Both reviewers read the payment as unmatched; the second's UPDATE finds nothing."""
    from portal.audit.service import Actor
    from portal.payments import review

    make_account(app, reference="DEMO0001")
    payment = unmatched(app)
    staff_id = make_staff(app, Role.AGENT)[0]
    read = review._payment

    def read_then_lose_the_race(payment_id):
        found = read(payment_id)  # unmatched when read…
        db.session.execute(update(Payment).where(Payment.id == payment_id).values(status="not_ours"))
        return found  # …but someone else's decision landed before ours

    monkeypatch.setattr(review, "_payment", read_then_lose_the_race)
    with pytest.raises(review.ReviewError) as raised, unit(app):
        review.assign_payment(payment, "DEMO0001", Actor.staff(staff_id))
    assert raised.value.code == "already_handled"
    assert get(app, payment).status == "unmatched"  # the unit rolled back, ours wrote nothing
    assert audit(app, "payment.assigned") == []


def test_a_reversal_we_never_received_cannot_be_assigned_only_marked_not_ours(app, client):
    make_account(app, reference="DEMO0001")
    payment = unmatched(app, basis="original_not_found", direction="debit")
    signed_in_staff(app, client, Role.AGENT)
    html = client.get(f"/care/payments/{payment}").get_data(as_text=True)
    assert "Assign to an account" not in html and "Mark as not ours" in html
    assert "-CN¥245.00" in html
    response = post(client, f"/care/payments/{payment}/assign", reference="DEMO0001")
    assert response.status_code == 422
    assert get(app, payment).status == "unmatched"


@pytest.mark.parametrize("role", [Role.POLICY_ADMIN, Role.AUDITOR])
def test_only_care_staff_review_payments(app, client, role):
    payment = unmatched(app)
    signed_in_staff(app, client, role)
    assert client.get("/care/payments/").status_code == 403
    assert post(client, f"/care/payments/{payment}/not-ours", note="x").status_code == 403
    assert get(app, payment).status == "unmatched"


def test_the_service_refuses_a_role_outside_care(app):
    from portal.audit.service import Actor
    from portal.payments import review

    payment = unmatched(app)
    staff_id = make_staff(app, Role.AUDITOR)[0]
    with pytest.raises(review.ReviewError) as raised, unit(app):
        review.mark_not_ours(payment, "no", Actor.staff(staff_id))
    assert raised.value.code == "not_allowed"


def test_a_decision_without_the_csrf_token_is_refused(app, client):
    payment = unmatched(app)
    signed_in_staff(app, client, Role.AGENT)
    response = client.post(f"/care/payments/{payment}/not-ours", data={"note": "x"})
    assert response.status_code in (400, 422)
    assert get(app, payment).status == "unmatched"


def test_an_unknown_payment_is_404(app, client):
    signed_in_staff(app, client, Role.AGENT)
    assert client.get("/care/payments/999999").status_code == 404
    assert post(client, "/care/payments/999999/not-ours", note="x").status_code == 404
