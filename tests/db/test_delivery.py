"""The outbox worker against real servers: an SMTP server (aiosmtpd), an HTTP SMS
provider (http.server in a thread), retries with backoff, and two workers at once."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from portal.audit.service import Actor
from portal.cases.models import CaseEvent
from portal.db_types import utcnow
from portal.extensions import db
from portal.links.models import PlanLink
from portal.links.service import issue_plan_link
from portal.notifications.delivery import MAX_ATTEMPTS, deliver_due
from portal.notifications.models import OutboxMessage
from tests.conftest import make_account, unit

KEY = "provider-key-for-tests"
STAFF = Actor("staff", "1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a local SMTP server ------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in {
        "MESSAGE_BACKEND": "live",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_TLS": "off",
        "SMTP_FROM": "cards@bank.example",
    }.items():
        monkeypatch.setitem(app.config, name, value)
    yield mailbox
    controller.stop()


def _server_certificate(directory: Any) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA): (cert file, key file)."""
    import ipaddress
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "relay.pem", directory / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


@pytest.fixture(params=["implicit", "starttls"])
def tls_smtp_server(request: Any, app: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Mailbox]:
    """aiosmtpd behind TLS, from the first byte (SMTPS, as on port 465) or after STARTTLS."""
    import ssl

    from aiosmtpd.controller import Controller

    cert_file, key_file = _server_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    mailbox = Mailbox()
    port = free_port()
    if request.param == "implicit":
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, ssl_context=context)
    else:
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True)
    controller.start()
    for name, value in {
        "MESSAGE_BACKEND": "live",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_TLS": request.param,
        "SMTP_FROM": "cards@bank.example",
    }.items():
        monkeypatch.setitem(app.config, name, value)
    mailbox.ca_file = cert_file  # type: ignore[attr-defined]
    yield mailbox
    controller.stop()


# --- a local SMS provider -----------------------------------------------------------


class SmsProvider:
    """Records every request; answers with ``status`` (200 gives a provider id)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length))
                with provider.lock:
                    provider.requests.append({"key": self.headers.get("X-SMS-Key"), "path": self.path, **payload})
                    status = provider.status
                body = json.dumps({"id": f"prov-{payload['reference']}"} if status == 200 else {"error": "x"})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sms_provider(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmsProvider]:
    provider = SmsProvider()
    for name, value in {"MESSAGE_BACKEND": "live", "SMS_URL": provider.url, "SMS_KEY": KEY}.items():
        monkeypatch.setitem(app.config, name, value)
    yield provider
    provider.close()


# --- tests --------------------------------------------------------------------------


def test_email_reaches_a_real_smtp_server_with_its_opt_out(app, client, query, frozen, smtp_server):
    account_id = make_account(app)
    with app.app_context():
        link_id = issue_plan_link(account_id, "email", STAFF).id
        report = deliver_due("test-worker")
    assert report.sent == 1
    [(recipients, raw)] = smtp_server.messages
    assert recipients == ["li.na@example.com"]
    mail = message_from_bytes(raw, policy=default_policy)
    assert mail["From"] == "cards@bank.example" and mail["Subject"] == "Your card repayment options"
    unsubscribe = re.fullmatch(r"<(http://localhost:5000/unsubscribe/[^>]+)>", mail["List-Unsubscribe"]).group(1)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_content()
    assert unsubscribe in text and "http://localhost:5000/l/" in text
    assert client.get(unsubscribe.removeprefix("http://localhost:5000")).status_code == 200
    message = query.one(select(OutboxMessage))
    assert message.status == "sent" and message.provider_id == mail["Message-ID"] and message.attempts == 1
    link = query.one(select(PlanLink).where(PlanLink.id == link_id))
    assert link.sent_at == link.delivered_at == utcnow()


def test_email_over_tls_checks_the_relays_certificate(app, query, frozen, tls_smtp_server, monkeypatch):
    account_id = make_account(app)
    with app.app_context():
        issue_plan_link(account_id, "email", STAFF)
        # The relay's certificate is not from a public CA: without its CA file, nothing is sent.
        failed = deliver_due("test-worker")
    assert failed.sent == 0 and tls_smtp_server.messages == []
    message = query.one(select(OutboxMessage))
    assert message.status == "queued" and "SSLCertVerificationError" in (message.last_error or "")
    monkeypatch.setitem(app.config, "SMTP_CA_FILE", tls_smtp_server.ca_file)
    with app.app_context():
        db.session.execute(db.update(OutboxMessage).values(send_after=utcnow()))
        db.session.commit()
        assert deliver_due("test-worker").sent == 1
    [(recipients, raw)] = tls_smtp_server.messages
    assert recipients == ["li.na@example.com"] and b"/unsubscribe/" in raw


def test_smtp_tls_settings() -> None:
    from pathlib import Path

    from portal.config import ConfigError, load_config

    def tls(**env: str) -> tuple[str, int]:
        config = load_config(Path("/tmp"), {f"PORTAL_{k}": v for k, v in env.items()})
        return config["SMTP_TLS"], config["SMTP_PORT"]

    assert tls() == ("starttls", 587)
    assert tls(SMTP_PORT="465") == ("implicit", 465)
    assert tls(SMTP_TLS="implicit") == ("implicit", 465)
    assert tls(SMTP_TLS="implicit", SMTP_PORT="2465") == ("implicit", 2465)
    assert tls(SMTP_STARTTLS="off") == ("off", 587)
    with pytest.raises(ConfigError, match="PORTAL_SMTP_TLS"):
        tls(SMTP_TLS="ssl")
    for bad in ("/nonexistent/ca.pem", __file__):
        with pytest.raises(ConfigError, match="PORTAL_SMTP_CA_FILE"):
            tls(SMTP_CA_FILE=bad)


def test_sms_goes_to_the_provider_with_the_key(app, query, frozen, sms_provider):
    account_id = make_account(app)
    with app.app_context():
        issue_plan_link(account_id, "sms", STAFF)
        assert deliver_due("test-worker").sent == 1
    [request] = sms_provider.requests
    message = query.one(select(OutboxMessage))
    assert request["key"] == KEY and request["to"] == "+86 138 0000 0001"
    assert request["reference"] == str(message.id)
    # The provider got the working link; the stored row no longer holds its token.
    token = re.search(r"/l/([A-Za-z0-9_-]+)", request["text"]).group(1)
    assert request["text"] == message.body.replace("••••••", token) and token not in message.body
    assert message.secret is None and message.readable_body == message.body
    assert "Reply STOP" in request["text"]
    assert message.status == "sent" and message.provider_id == f"prov-{message.id}"
    link = query.one(select(PlanLink))
    assert link.sent_at is not None and link.delivered_at is None  # SMS waits for a delivery report


def test_failures_retry_with_backoff_then_fail_with_a_reason(app, query, frozen, sms_provider):
    sms_provider.status = 500
    account_id = make_account(app)
    with unit(app):
        issue_plan_link(account_id, "sms", STAFF)
    start = utcnow()
    waits = [timedelta(0), timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=25)]
    elapsed = timedelta(0)
    for attempt, wait in enumerate(waits, start=1):
        elapsed += wait
        if wait:
            frozen.set(start + elapsed - timedelta(seconds=1))
            with app.app_context():
                assert deliver_due("w").claimed == 0  # not before its time
        frozen.set(start + elapsed)
        with app.app_context():
            report = deliver_due("w")
        message = query.one(select(OutboxMessage))
        assert message.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert report.retried == 1 and message.status == "queued" and message.held_reason == "retry"
    assert report.failed == 1 and message.status == "failed"
    assert message.last_error == "sms provider answered HTTP 500"
    assert "138" not in message.last_error and "Li" not in message.last_error
    assert len(sms_provider.requests) == MAX_ATTEMPTS == 4
    failed = query.one(select(CaseEvent).where(CaseEvent.kind == "message_failed"))
    assert failed.data["reason"] == "sms provider answered HTTP 500"
    frozen.set(start + timedelta(days=1))
    with app.app_context():
        assert deliver_due("w").claimed == 0  # failed is final


def test_a_refused_message_fails_at_once(app, query, frozen, sms_provider):
    sms_provider.status = 400
    account_id = make_account(app)
    with app.app_context():
        issue_plan_link(account_id, "sms", STAFF)
        assert deliver_due("w").failed == 1
    message = query.one(select(OutboxMessage))
    assert (message.status, message.attempts, message.last_error) == ("failed", 1, "sms provider answered HTTP 400")


def test_an_unconfigured_live_channel_fails_visibly(app, query, frozen, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_BACKEND", "live")
    account_id = make_account(app)
    with app.app_context():
        issue_plan_link(account_id, "email", STAFF)
        assert deliver_due("w").failed == 1
    assert query.one(select(OutboxMessage.last_error)) == "email channel is not configured"


def test_the_dev_channel_sends_nothing_and_marks_sent(app, client, query, frozen):
    account_id = make_account(app)
    with app.app_context():
        issue_plan_link(account_id, "sms", STAFF)
        assert deliver_due("w").sent == 1
    message = query.one(select(OutboxMessage))
    assert message.status == "sent" and message.provider_id == f"dev-sms-{message.id}"
    page = client.get("/dev/outbox")
    assert page.status_code == 200 and "plan_link" in page.get_data(as_text=True)


def test_the_deliver_command(app, query, frozen):
    account_id = make_account(app)
    with unit(app):
        issue_plan_link(account_id, "sms", STAFF)
    result = app.test_cli_runner().invoke(args=["portal", "deliver", "--once", "--batch", "5"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output and query.one(select(OutboxMessage.status)) == "sent"


# --- two workers, one outbox --------------------------------------------------------


def _fill_outbox(app: Any, count: int) -> None:
    with unit(app):
        now = utcnow()
        db.session.add_all(
            OutboxMessage(
                kind="notice",
                channel="sms",
                recipient=f"+86 139 {i:08d}",
                locale="en",
                body=f"n{i}",
                status="queued",
                collection=False,
                send_after=now,
                created_at=now,
                attempts=0,
            )
            for i in range(count)
        )
        db.session.commit()


def _race(apps: list[Any], batch: int) -> list[int]:
    """Run one worker per app in its own thread until the outbox is empty."""
    claimed = [0] * len(apps)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(apps))

    def work(index: int) -> None:
        try:
            with apps[index].app_context():
                barrier.wait()
                while True:
                    report = deliver_due(f"worker-{index}", batch=batch)
                    claimed[index] += report.claimed
                    if not report.claimed:
                        break
                db.session.remove()
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(apps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    return claimed


def _check_each_sent_once(app: Any, provider: SmsProvider, count: int, claimed: list[int]) -> None:
    per_message = Counter(r["reference"] for r in provider.requests)
    assert len(per_message) == count and set(per_message.values()) == {1}
    assert sum(claimed) == count and all(claimed), claimed  # both took part, nothing claimed twice
    with unit(app):
        statuses = Counter(db.session.execute(select(OutboxMessage.status)).scalars())
        workers = Counter(db.session.execute(select(OutboxMessage.provider_id)).scalars())
    assert statuses == {"sent": count} and len(workers) == count


@pytest.fixture
def delivery_database() -> Iterator[str]:
    """A PostgreSQL database of its own, so dropping its schema disturbs no other test."""
    import sqlalchemy as sa

    from tests.conftest import PG_ADMIN_URL, need

    name = "portal_test_delivery"
    try:
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        url: str | None = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    except Exception:
        url = None
    need(url is not None, "PostgreSQL at 127.0.0.1:5432 (apt-get install postgresql)")
    assert url is not None
    yield url


def _two_workers_send_each_once(url: str, messages: int, batch: int) -> None:
    """Two worker apps on one database drain an outbox of `messages` at once."""
    from tests.conftest import make_app, reset_schema

    provider = SmsProvider()
    config = {"MESSAGE_BACKEND": "live", "SMS_URL": provider.url, "SMS_KEY": KEY}
    apps = [make_app(url, **config) for _ in range(2)]
    try:
        reset_schema(apps[0])
        _fill_outbox(apps[0], messages)
        claimed = _race(apps, batch=batch)
        _check_each_sent_once(apps[0], provider, messages, claimed)
    finally:
        provider.close()
        for app in apps:
            with unit(app):
                db.engine.dispose()


@pytest.mark.postgres
def test_two_workers_on_postgresql_send_each_message_once(delivery_database):
    _two_workers_send_each_once(delivery_database, 1000, batch=25)


def test_two_workers_on_sqlite_send_each_message_once(tmp_path):
    _two_workers_send_each_once(f"sqlite:///{tmp_path / 'race.sqlite3'}", 200, batch=10)
