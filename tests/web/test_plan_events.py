"""Plan events for the core system: recorded by the real services, queued as webhooks
when an endpoint is configured, told once, free of personal data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.audit.service import SYSTEM, Actor
from portal.extensions import db
from portal.integrations.core_banking.models import PlanEvent, PlanEventKind
from portal.integrations.core_banking.plan_events import (
    NewPlanEvent,
    emit_plan_event,
    emit_plan_events,
    webhook_body,
)
from portal.notifications.models import OutboxMessage
from portal.plans.models import Plan, PlanInstallment
from tests.conftest import CARD, ROOT, make_account, unit
from tests.payment_files import camt_file, entry
from tests.plan_factories import card_number, make_pending_agreement, make_plan

URL = "https://core.bank.example/hooks/plans"
PHONE = "+86 138 0000 0001"


@pytest.fixture
def webhook(app, monkeypatch):
    monkeypatch.setitem(app.config, "CORE_WEBHOOK_URL", URL)
    monkeypatch.setitem(app.config, "CORE_WEBHOOK_SECRET", "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")


def events(query) -> list[PlanEvent]:
    return query(select(PlanEvent).order_by(PlanEvent.id))


def webhooks(query) -> list[OutboxMessage]:
    return query(select(OutboxMessage).where(OutboxMessage.channel == "webhook").order_by(OutboxMessage.id))


def accept(app) -> int:
    """Accept the first offer through the real acceptance service; return the plan id."""
    from portal.accounts.models import CardAccount
    from portal.journey.service import account_today
    from portal.offers.adapter import offers_for_account
    from portal.plans.service import Evidence, accept_offer
    from portal.policies.service import ensure_default_policy

    with unit(app):
        ensure_default_policy(SYSTEM)
    account_id = make_account(app, dpd=35, reference="DEMO0001")
    with unit(app):
        account = db.session.get(CardAccount, account_id)
        today = account_today(account)
        fingerprint = offers_for_account(account, today)[1][0].fingerprint
        evidence = Evidence("Li Na", "consent", "127.0.0.1", "test", "en")
        plan, created = accept_offer(account_id, fingerprint, evidence, Actor("cardholder", str(account_id)), today)
        assert created
        return plan.id


def cents(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def assert_no_personal_data(text: str) -> None:
    for secret in (CARD, "card", PHONE, "Li Na", "li.na@example.com"):
        assert secret not in text


def test_accepting_an_offer_records_the_accepted_event_with_references_and_amounts(app, query, frozen):
    plan_id = accept(app)
    (event,) = events(query)
    plan = query.one(select(Plan).where(Plan.id == plan_id))
    assert (event.plan_id, event.account_id, event.event) == (plan_id, plan.account_id, "accepted")
    assert event.public_id.startswith("evt_") and len(event.public_id) == 28
    assert event.occurred_at == plan.accepted_at
    data = event.data
    assert data["account_reference"] == "DEMO0001" and data["agreement_reference"]
    assert (data["plan_id"], data["plan_type"], data["currency"]) == (plan_id, plan.plan_type, "CNY")
    assert data["total_repaid"] == cents(plan.total_repaid)  # decimal strings in minor units
    installment = query(select(PlanInstallment).where(PlanInstallment.plan_id == plan_id, PlanInstallment.number == 1))[
        0
    ]
    assert data["installments"][0] == {
        "number": 1,
        "due_date": installment.due_date.isoformat(),
        "amount": cents(installment.total),
    }
    assert_no_personal_data(json.dumps(data))
    # No endpoint configured: recorded only (the daily file has it), nothing queued.
    assert webhooks(query) == []


def test_with_an_endpoint_configured_acceptance_queues_its_webhook_outside_the_contact_rules(
    app, query, frozen, webhook
):
    accept(app)
    (event,) = events(query)
    (message,) = webhooks(query)
    assert (message.recipient, message.kind, message.status, message.plan_event_id) == (
        URL,
        "plan_event",
        "queued",
        event.id,
    )
    assert message.account_id is None and message.collection is False and message.held_reason is None
    assert message.body == webhook_body(event.public_id, "accepted", event.occurred_at, event.data)
    body = json.loads(message.body)
    assert (body["id"], body["type"], body["data"]["plan_id"]) == (event.public_id, "plan.accepted", event.plan_id)
    assert_no_personal_data(message.body)
    queued = query(
        select(AuditEvent).where(AuditEvent.action == "message.queued", AuditEvent.object_id == str(message.id))
    )
    assert len(queued) == 1


def _import(app, path):
    result = app.test_cli_runner().invoke(args=["portal", "payments", "import", str(path)])
    assert result.exit_code == 0, result.output


def test_an_installment_paid_in_full_is_announced_once_whatever_reversals_follow(app, query, tmp_path, webhook):
    account = make_account(app, reference="DEMO0001")
    plan = make_plan(app, account, "installment", "en", months=6)
    make_pending_agreement(app, plan)
    first = query(select(PlanInstallment).where(PlanInstallment.plan_id == plan).order_by(PlanInstallment.number))[0]
    part = (first.total / 2).quantize(Decimal("0.01"))
    _import(app, camt_file(tmp_path, [entry("1", str(part), end_to_end_id="E1", remittance="DEMO0001")], "d1.xml"))
    assert events(query) == []  # half paid is not paid
    rest = str(first.total - part)
    _import(
        app,
        camt_file(tmp_path, [entry("2", rest, end_to_end_id="E2", remittance="DEMO0001")], "d2.xml", statement="S2"),
    )
    (paid,) = events(query)
    assert (paid.event, paid.installment_number, paid.plan_id) == ("installment_paid", 1, plan)
    assert paid.data["amount"] == cents(first.total) and paid.data["paid"] == cents(first.total)
    assert paid.data["due_date"] == first.due_date.isoformat() and paid.data["installment"] == 1
    assert len(webhooks(query)) == 1
    # A reversal un-pays it: nothing is announced. Paying it again is not announced twice.
    back = entry("9", rest, credit=False, reversal=True, end_to_end_id="E2")
    _import(app, camt_file(tmp_path, [back], "d3.xml", statement="S3"))
    assert query.one(select(PlanInstallment.paid).where(PlanInstallment.id == first.id)) == part
    _import(
        app,
        camt_file(tmp_path, [entry("3", rest, end_to_end_id="E3", remittance="DEMO0001")], "d4.xml", statement="S4"),
    )
    assert query.one(select(PlanInstallment.paid).where(PlanInstallment.id == first.id)) == first.total
    assert [e.event for e in events(query)] == ["installment_paid"] and len(webhooks(query)) == 1


def test_the_batch_form_records_many_events_in_one_call_and_skips_those_already_told(app, query, webhook):
    plans = [make_plan(app, make_account(app, card=card_number(n)), "installment", "en", months=3) for n in range(3)]
    at = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    batch = [NewPlanEvent(plans[0], PlanEventKind.BROKEN, {"reason": "missed_in_a_row"}, at)]
    batch += [NewPlanEvent(p, PlanEventKind.COMPLETED, at=at) for p in plans[1:]]
    with unit(app):
        assert emit_plan_events(batch) == 3
    with unit(app):
        assert emit_plan_events(batch) == 0  # a day run twice tells nothing twice
        assert emit_plan_events([]) == 0
    recorded = events(query)
    assert [(e.plan_id, e.event) for e in recorded] == [
        (plans[0], "broken"),
        (plans[1], "completed"),
        (plans[2], "completed"),
    ]
    assert recorded[0].data["reason"] == "missed_in_a_row" and all(e.occurred_at == at for e in recorded)
    assert len({e.public_id for e in recorded}) == 3
    assert [m.plan_event_id for m in webhooks(query)] == [e.id for e in recorded]


def test_a_cancelled_plan_is_announced_and_an_installment_event_must_name_its_installment(app, query):
    plan_id = make_plan(app, make_account(app), "installment", "en", months=3)
    with unit(app):
        plan = db.session.get(Plan, plan_id)
        emit_plan_event(plan, PlanEventKind.CANCELLED, {"by": "care"})
        with pytest.raises(ValueError, match="names its installment"):
            emit_plan_event(plan, PlanEventKind.INSTALLMENT_PAID)
        with pytest.raises(ValueError, match="timezone-aware"):
            emit_plan_event(plan, PlanEventKind.BROKEN, at=datetime(2026, 12, 1, 8, 0))
        with pytest.raises(TypeError, match="never float"):
            emit_plan_event(plan, PlanEventKind.BROKEN, {"amount": 1.5})
    (event,) = events(query)
    assert (event.event, event.data["by"], event.installment_number) == ("cancelled", "care", None)


def test_a_withdrawn_request_was_never_accepted_so_the_core_system_hears_nothing(app, query):
    from portal.plans.requests import withdraw_request

    account_id = make_account(app)
    plan_id = make_plan(app, account_id, "installment", "en", months=3)
    with unit(app):
        plan = db.session.get(Plan, plan_id)
        plan.state, plan.accepted_at = "pending_approval", None
    with unit(app):
        withdraw_request(plan_id, account_id, SYSTEM)
    assert query.one(select(Plan.state).where(Plan.id == plan_id)) == "cancelled"
    assert events(query) == []
    # So the documentation must not promise the core system a `cancelled` event.
    doc = (ROOT / "docs" / "plan-events-export.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith("| `cancelled` |"))
    assert "Nothing sends it today." in row and "withdrawing a request" in row
