"""Plan-event webhooks through the outbox to a REAL local HTTP receiver, which verifies
each signature with the ``standardwebhooks`` library as the core system would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from portal.audit.models import AuditEvent
from portal.db_types import utcnow
from portal.extensions import db
from portal.integrations.core_banking.dead_letters import requeue
from portal.integrations.core_banking.models import PlanEvent, PlanEventKind
from portal.integrations.core_banking.plan_events import emit_plan_event
from portal.notifications.delivery import MAX_ATTEMPTS, RETRY_DELAYS, deliver_due
from portal.notifications.models import OutboxMessage
from portal.plans.models import Plan
from portal.staff.models import Role
from tests.conftest import CARD, make_account, unit
from tests.plan_factories import make_plan
from tests.staff_helpers import make_staff

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PHONE = "+86 138 0000 0001"


class Receiver:
    """The core system's endpoint: verifies, records, answers ``status``."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 204
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = Webhook(SECRET).verify(body, headers)
                except WebhookVerificationError as error:
                    payload, verified = None, str(error)
                else:
                    verified = "ok"
                with receiver.lock:
                    receiver.received.append(
                        {"headers": headers, "body": body.decode(), "payload": payload, "verified": verified}
                    )
                    status = receiver.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/plans"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    server = Receiver()
    for name, value in {
        "MESSAGE_BACKEND": "live",
        "CORE_WEBHOOK_URL": server.url,
        "CORE_WEBHOOK_SECRET": SECRET,
    }.items():
        monkeypatch.setitem(app.config, name, value)
    yield server
    server.close()


def an_event(app: Any, kind: PlanEventKind = PlanEventKind.COMPLETED) -> PlanEvent:
    plan_id = make_plan(app, make_account(app, reference="DEMO0001"), "installment", "en", months=3)
    with unit(app):
        emit_plan_event(db.session.get(Plan, plan_id), kind, {"amount": "0.00"})
        event = db.session.execute(select(PlanEvent)).scalar_one()
        db.session.expunge(event)
        return event


def the_webhook(query: Any) -> OutboxMessage:
    return query.one(select(OutboxMessage).where(OutboxMessage.channel == "webhook"))


def deliver(app: Any, frozen: Any, minutes: float = 0) -> Any:
    frozen.set(utcnow() + timedelta(minutes=minutes))
    with app.app_context():
        return deliver_due("test-worker")


def test_a_plan_event_reaches_the_core_system_signed_with_its_event_id(app, query, frozen, receiver):
    event = an_event(app)
    report = deliver(app, frozen)
    assert report.sent == 1
    [got] = receiver.received
    assert got["verified"] == "ok"  # the library's own verification of webhook-signature
    assert got["headers"]["webhook-id"] == event.public_id
    assert got["headers"]["content-type"] == "application/json"
    assert got["headers"]["webhook-signature"].startswith("v1,")
    assert got["payload"]["type"] == "plan.completed" and got["payload"]["data"]["account_reference"] == "DEMO0001"
    message = the_webhook(query)
    assert got["body"] == message.body
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, None)
    # A receiver with another secret refuses it: the signature is real, not decoration.
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB").verify(got["body"], got["headers"])


def test_a_failing_receiver_is_retried_with_the_same_id_then_dead_lettered_and_requeued(app, query, frozen, receiver):
    event = an_event(app, PlanEventKind.BROKEN)
    receiver.status = 500
    assert deliver(app, frozen).retried == 1
    assert deliver(app, frozen).claimed == 0  # backoff: not due again yet
    for delay in RETRY_DELAYS[:-1]:
        assert deliver(app, frozen, delay.total_seconds() / 60).retried == 1
    assert deliver(app, frozen, RETRY_DELAYS[-1].total_seconds() / 60).failed == 1
    assert len(receiver.received) == MAX_ATTEMPTS
    assert {r["headers"]["webhook-id"] for r in receiver.received} == {event.public_id}
    assert all(r["verified"] == "ok" for r in receiver.received)
    assert len({r["body"] for r in receiver.received}) == 1
    message = the_webhook(query)
    assert (message.status, message.attempts, message.last_error) == (
        "failed",
        MAX_ATTEMPTS,
        "core system answered HTTP 500",
    )
    for text in (message.body, message.last_error):
        assert CARD not in text and PHONE not in text and "Li Na" not in text

    # Staff requeue it once the core system is back: sent again, still the same id.
    staff_id = make_staff(app, Role.SUPERVISOR)[0]
    from portal.audit.service import Actor

    with unit(app):
        requeue(message.id, Actor("staff", str(staff_id)))
    message = the_webhook(query)
    assert (message.status, message.attempts, message.last_error) == ("queued", 0, None)
    receiver.status = 200
    assert deliver(app, frozen).sent == 1
    assert receiver.received[-1]["headers"]["webhook-id"] == event.public_id
    assert receiver.received[-1]["verified"] == "ok"
    actions = query(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "outbox_message", AuditEvent.object_id == str(message.id))
        .order_by(AuditEvent.id)
    )
    assert actions == [
        "message.queued",
        *["message.retry"] * (MAX_ATTEMPTS - 1),
        "message.failed",
        "outbox.requeued",
        "message.sent",
    ]


def test_an_unreachable_core_system_is_retried_like_an_error(app, query, frozen, receiver, monkeypatch):
    an_event(app)
    receiver.close()  # nothing listens on the port any more
    assert deliver(app, frozen).retried == 1
    message = the_webhook(query)
    assert message.status == "queued" and message.last_error.startswith("core system unreachable (")


def test_a_redirect_is_not_a_delivery(app, query, frozen, receiver):
    an_event(app)
    receiver.status = 302
    assert deliver(app, frozen).retried == 1
    assert the_webhook(query).last_error == "core system answered HTTP 302"


def test_the_development_twin_sends_nowhere_and_shows_on_the_outbox_page(app, client, query, frozen, monkeypatch):
    monkeypatch.setitem(app.config, "CORE_WEBHOOK_URL", "http://localhost:9/hooks")
    assert app.config["MESSAGE_BACKEND"] == "dev"
    event = an_event(app)
    assert deliver(app, frozen).sent == 1
    message = the_webhook(query)
    assert message.provider_id == f"dev-webhook-{event.public_id}"
    assert json.loads(message.body)["id"] == event.public_id
    assert event.public_id in client.get("/dev/outbox").get_data(as_text=True)
