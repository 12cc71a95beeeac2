"""Signed agreements: produced after acceptance, downloaded by their cardholder only,
verified publicly by reference or upload, retried and verified from the CLI."""

from __future__ import annotations

import hashlib
import io
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from portal.agreements import render
from portal.agreements.models import Agreement
from portal.agreements.reference import check_symbol, format_reference
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.plans.models import Plan
from tests.conftest import csrf_token, make_account
from tests.plan_factories import card_number, make_pending_agreement, make_plan, make_signed_agreement

OTHER_CARD = card_number(2)


def stored(app, agreement_id: int) -> Agreement:
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        _ = agreement.pdf  # load the deferred bytes before the session goes
        db.session.expunge(agreement)
        return agreement


def flip_one_byte(pdf: bytes) -> bytes:
    """Change one character of the document title, inside the signed byte range."""
    at = pdf.index(b"/Title") + 10
    changed = bytearray(pdf)
    changed[at] = ord("X") if changed[at] != ord("X") else ord("Y")
    return bytes(changed)


def post_verify(client, **data):
    token = csrf_token(client.get("/verify").data)
    return client.post("/verify", data={"csrf_token": token, **data}, content_type="multipart/form-data")


def audit_count(app, action: str) -> int:
    with app.app_context():
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        return db.session.execute(query).scalar()


# --- producing ----------------------------------------------------------------


def test_pending_agreement_joins_the_callers_transaction_and_writes_nothing_else(app):
    from portal.agreements.service import create_pending_agreement

    plan_id = make_plan(app, make_account(app), "installment", "en")
    events = audit_count(app, "agreement.signed")
    with app.app_context():
        agreement = create_pending_agreement(db.session.get(Plan, plan_id))
        assert agreement.id is not None and agreement.state == "pending" and agreement.attempts == 0
        db.session.rollback()
        assert db.session.execute(select(func.count()).select_from(Agreement)).scalar() == 0
    assert audit_count(app, "agreement.signed") == events


def test_produced_agreement_is_signed_stored_and_audited(app):
    agreement_id, _reference = make_signed_agreement(app, make_account(app))
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        assert agreement.state == "signed" and agreement.attempts == 1 and agreement.last_error is None
        assert agreement.sha256 == hashlib.sha256(agreement.pdf).hexdigest()
        assert agreement.pdf.startswith(b"%PDF-") and agreement.signed_at is not None
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "agreement.signed")).scalar_one()
        assert event.object_id == str(agreement_id) and event.after["sha256"] == agreement.sha256
        # Producing again changes nothing: the stored bytes are final.
        from portal.agreements.service import produce_agreement

        assert produce_agreement(agreement_id)
        assert db.session.get(Agreement, agreement_id).sha256 == event.after["sha256"]
    assert audit_count(app, "agreement.signed") == 1


def test_a_failed_rendering_leaves_the_plan_and_a_pending_agreement_then_retry_produces_it(app, monkeypatch):
    from portal.agreements.service import produce_agreement

    plan_id = make_plan(app, make_account(app), "relief", "zh_Hans")
    agreement_id = make_pending_agreement(app, plan_id)

    def broken(agreement):
        raise RuntimeError("font exploded for 王小明")

    monkeypatch.setattr(render, "render_pdf", broken)
    with app.app_context():
        assert produce_agreement(agreement_id) is False
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        assert db.session.get(Plan, plan_id) is not None
        assert (agreement.state, agreement.attempts, agreement.pdf) == ("pending", 1, None)
        assert agreement.last_error == "render failed: RuntimeError"  # no personal data
    assert audit_count(app, "agreement.signed") == 0

    monkeypatch.undo()
    result = app.test_cli_runner().invoke(args=["portal", "agreements", "retry"])
    assert result.exit_code == 0, result.output
    assert "Pending agreements: 1. Produced: 1. Failed: 0." in result.output
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        assert (agreement.state, agreement.attempts, agreement.last_error) == ("signed", 2, None)
    assert audit_count(app, "agreement.signed") == 1
    again = app.test_cli_runner().invoke(args=["portal", "agreements", "retry"])
    assert "Pending agreements: 0." in again.output


def test_a_failed_signature_is_counted_too(app, monkeypatch):
    from portal.agreements import signing
    from portal.agreements.service import produce_agreement

    agreement_id = make_pending_agreement(app, make_plan(app, make_account(app), "settlement", "en"))
    monkeypatch.setattr(signing, "sign_pdf", lambda *a, **k: (_ for _ in ()).throw(OSError("no key")))
    with app.app_context():
        assert not produce_agreement(agreement_id)
        assert not produce_agreement(agreement_id)
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        assert (agreement.state, agreement.attempts, agreement.last_error) == ("pending", 2, "sign failed: OSError")
    result = app.test_cli_runner().invoke(args=["portal", "agreements", "retry"])
    assert result.exit_code == 1 and "Failed: 1." in result.output


# --- downloading ---------------------------------------------------------------


def test_the_cardholder_downloads_the_same_signed_bytes_every_time(app, client, auth):
    agreement_id, reference = make_signed_agreement(app, make_account(app))
    auth.sign_in()
    first = client.get(f"/agreements/{reference}.pdf")
    second = client.get(f"/agreements/{reference.lower()}.pdf")
    assert first.status_code == 200 and second.status_code == 200
    assert first.mimetype == "application/pdf"
    assert first.headers["Content-Disposition"] == f'attachment; filename="{reference}.pdf"'
    assert first.headers["Cache-Control"] == "no-store"
    assert first.data == second.data
    with app.app_context():
        assert hashlib.sha256(first.data).hexdigest() == db.session.get(Agreement, agreement_id).sha256


def test_nobody_else_can_download_it(app, client, auth):
    make_account(app)
    other = make_account(app, card=OTHER_CARD, name="Zhang Wei", reference="T-OTHER")
    _agreement_id, reference = make_signed_agreement(app, other)
    assert client.get(f"/agreements/{reference}.pdf").status_code == 404  # anonymous
    auth.sign_in()  # the first cardholder, not the owner
    assert client.get(f"/agreements/{reference}.pdf").status_code == 404
    assert client.get("/agreements/PA-0000-0000-0.pdf").status_code == 404
    assert client.get("/agreements/not-a-reference.pdf").status_code == 404


def test_a_pending_agreement_cannot_be_downloaded_yet(app, client, auth):
    agreement_id = make_pending_agreement(app, make_plan(app, make_account(app), "installment", "en"))
    auth.sign_in()
    assert client.get(f"/agreements/{stored(app, agreement_id).reference}.pdf").status_code == 404


# --- verifying -----------------------------------------------------------------


def test_verify_page_shows_the_form(client):
    response = client.get("/verify")
    assert response.status_code == 200
    assert b'name="reference"' in response.data and b'name="document"' in response.data


def test_verify_by_reference_shows_only_what_is_public(app, client):
    _agreement_id, reference = make_signed_agreement(app, make_account(app, name="Li Na"), "settlement")
    response = post_verify(client, reference=reference.lower().replace("-", " "))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    # No file was compared: it says what the bank knows and asks for the file.
    assert "We signed an agreement with this reference" in text
    assert re.search(r"with this reference on [^.<]*\d{4}\.", text)  # when it was signed
    assert "upload the PDF file" in text and "genuine and unchanged" not in text
    assert reference in text and "Settlement" in text and "L* N*" in text
    assert "Li Na" not in text and "0017" not in text and "CN¥" not in text


def test_a_mistyped_reference_is_caught_by_the_check_symbol(app, client):
    _agreement_id, reference = make_signed_agreement(app, make_account(app))
    symbols = reference.replace("-", "")[2:]
    mistyped = (
        symbols[1] + symbols[0] + symbols[2:]
        if symbols[0] != symbols[1]
        else symbols[:3] + ("A" if symbols[3] != "A" else "B") + symbols[4:]
    )
    response = post_verify(client, reference=mistyped)
    assert response.status_code == 422
    assert "Check the reference" in response.get_data(as_text=True)


def test_an_unknown_reference_says_so(app, client):
    unknown = format_reference("ZZZZZZZZ" + check_symbol("ZZZZZZZZ"))
    response = post_verify(client, reference=unknown)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "We have no agreement with this reference" in text and "Check the reference" not in text


def test_an_empty_form_asks_for_something(client):
    response = post_verify(client, reference="")
    assert response.status_code == 422
    assert "Enter a reference or choose a PDF file" in response.get_data(as_text=True)


def test_uploading_the_genuine_pdf(app, client):
    agreement_id, reference = make_signed_agreement(app, make_account(app), "personalised", "zh_Hant")
    pdf = stored(app, agreement_id).pdf
    response = post_verify(client, document=(io.BytesIO(pdf), "agreement.pdf"))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "genuine and unchanged" in text and reference in text


def test_uploading_the_pdf_with_its_own_reference_is_genuine(app, client):
    agreement_id, reference = make_signed_agreement(app, make_account(app))
    pdf = stored(app, agreement_id).pdf
    response = post_verify(client, reference=reference, document=(io.BytesIO(pdf), "agreement.pdf"))
    assert response.status_code == 200
    assert "genuine and unchanged" in response.get_data(as_text=True)


def test_a_reference_that_is_not_the_uploaded_files_is_a_mismatch(app, client):
    agreement_id, _reference = make_signed_agreement(app, make_account(app))
    _other_id, other = make_signed_agreement(app, make_account(app, card=card_number(7)))
    pdf = stored(app, agreement_id).pdf
    response = post_verify(client, reference=other, document=(io.BytesIO(pdf), "agreement.pdf"))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "This file is not the agreement with that reference" in text
    assert "genuine and unchanged" not in text


def test_uploading_a_pdf_with_one_changed_byte(app, client):
    agreement_id, reference = make_signed_agreement(app, make_account(app))
    pdf = stored(app, agreement_id).pdf
    response = post_verify(client, document=(io.BytesIO(flip_one_byte(pdf)), "agreement.pdf"))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "not genuine, or it was changed" in text and reference not in text


@pytest.mark.parametrize(
    "junk", [b"", b"hello, this is not a PDF", b"%PDF-1.7\n garbage \x00\xff" * 50, b"\x89PNG\r\n\x1a\n" + bytes(200)]
)
def test_uploading_junk_never_fails(app, client, junk):
    response = post_verify(client, document=(io.BytesIO(junk), "junk.pdf"))
    assert response.status_code in {200, 422}
    text = response.get_data(as_text=True)
    assert "not a PDF" in text or "not genuine" in text or "Enter a reference" in text


def test_verify_is_rate_limited(client):
    statuses = [post_verify(client, reference="PA-0000-0000-0").status_code for _ in range(21)]
    assert statuses[-1] == 429 and 429 not in statuses[:20]


# --- the CLI -----------------------------------------------------------------


def test_cli_verify_exit_codes(app, tmp_path):
    agreement_id, reference = make_signed_agreement(app, make_account(app))
    pdf = stored(app, agreement_id).pdf
    good, bad, junk = tmp_path / "good.pdf", tmp_path / "bad.pdf", tmp_path / "junk.pdf"
    good.write_bytes(pdf)
    bad.write_bytes(flip_one_byte(pdf))
    junk.write_bytes(b"not a pdf")
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["portal", "agreements", "verify", str(good)])
    assert ok.exit_code == 0 and "GENUINE" in ok.output and reference in ok.output
    changed = runner.invoke(args=["portal", "agreements", "verify", str(bad)])
    assert changed.exit_code == 1 and "NOT GENUINE" in changed.output and "changed" in changed.output
    assert runner.invoke(args=["portal", "agreements", "verify", str(junk)]).exit_code == 1


def test_keys_command_shows_the_certificate_never_the_key(app):
    result = app.test_cli_runner().invoke(args=["portal", "keys"])
    assert result.exit_code == 0, result.output
    assert "Subject:" in result.output and "CN=Example Bank" in result.output
    assert "SHA-256:" in result.output and "Valid until:" in result.output and "Path:" in result.output
    assert "PRIVATE KEY" not in result.output and "BEGIN" not in result.output


# --- production key and timestamps ---------------------------------------------


def _self_signed(common_name: str, *, tsa: bool = False):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), True)
    )
    if tsa:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    return key, builder.sign(key, hashes.SHA256())


def test_production_signs_with_the_pkcs12_key(app, tmp_path, monkeypatch):
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    from portal.agreements.signing import bank_key

    key, cert = _self_signed("Example Bank Production")
    p12 = tmp_path / "bank.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(b"bank", key, cert, None, BestAvailableEncryption(b"pw")))
    monkeypatch.setitem(app.config, "SIGNING_P12", str(p12))
    monkeypatch.setitem(app.config, "SIGNING_P12_PASSWORD", "pw")
    agreement_id, _reference = make_signed_agreement(app, make_account(app))
    with app.app_context():
        assert bank_key().source == "pkcs12"
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(stored(app, agreement_id).pdf)
    result = app.test_cli_runner().invoke(args=["portal", "agreements", "verify", str(signed)])
    assert result.exit_code == 0, result.output
    keys = app.test_cli_runner().invoke(args=["portal", "keys"])
    assert "CN=Example Bank Production" in keys.output and str(p12) in keys.output


class _TimestampServer(BaseHTTPRequestHandler):
    stamper = None

    def do_POST(self) -> None:
        from asn1crypto import tsp

        request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
        body = self.stamper.request_tsa_response(request).dump()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def timestamp_server():
    """pyHanko's test TSA (DummyTimeStamper) served over HTTP on 127.0.0.1 (RFC 3161)."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign.timestamps import DummyTimeStamper

    key, cert = _self_signed("Test TSA", tsa=True)
    tsa_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    tsa_key = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    handler = type("Handler", (_TimestampServer,), {"stamper": DummyTimeStamper(tsa_cert=tsa_cert, tsa_key=tsa_key)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/tsa", tsa_cert
    server.shutdown()
    server.server_close()


def test_a_configured_tsa_adds_an_rfc3161_timestamp(app, monkeypatch, timestamp_server, tmp_path):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from portal.agreements.signing import bank_key, run_outside_event_loop

    url, tsa_cert = timestamp_server
    monkeypatch.setitem(app.config, "TSA_URL", url)
    agreement_id, _reference = make_signed_agreement(app, make_account(app))
    pdf = stored(app, agreement_id).pdf
    with app.app_context():
        bank_cert = bank_key().cert_asn1
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    status = run_outside_event_loop(
        lambda: validate_pdf_signature(
            signature,
            ValidationContext(trust_roots=[bank_cert]),
            ts_validation_context=ValidationContext(trust_roots=[tsa_cert]),
        )
    )
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact and status.timestamp_validity.valid and status.timestamp_validity.trusted
    assert abs(status.timestamp_validity.timestamp - datetime.now(UTC)) < timedelta(minutes=5)
    # The public check still accepts it (it trusts the bank's certificate, not the TSA's).
    (tmp_path / "stamped.pdf").write_bytes(pdf)
    result = app.test_cli_runner().invoke(args=["portal", "agreements", "verify", str(tmp_path / "stamped.pdf")])
    assert result.exit_code == 0, result.output


def test_an_unreachable_tsa_leaves_the_agreement_pending(app, monkeypatch):
    from portal.agreements.service import produce_agreement

    monkeypatch.setitem(app.config, "TSA_URL", "http://127.0.0.1:9/tsa")
    agreement_id = make_pending_agreement(app, make_plan(app, make_account(app), "installment", "en"))
    with app.app_context():
        assert produce_agreement(agreement_id) is False
    agreement = stored(app, agreement_id)
    assert agreement.state == "pending" and agreement.last_error.startswith("sign failed")


def test_an_upload_over_the_size_limit_gets_the_translated_413(client):
    token = csrf_token(client.get("/verify").data)
    # The multipart body is built by hand: the test client would spool a file this big
    # to a temporary file that it never closes once the server refuses it.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + token.encode()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="document"; filename="big.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n" + bytes(2 * 1024 * 1024) + b"\r\n--b--\r\n"
    )
    response = client.post("/verify", data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 413
    assert "That file is too large" in response.get_data(as_text=True)


def test_the_development_key_is_made_once_and_kept_private(app, tmp_path, monkeypatch):
    import stat

    from portal.agreements.signing import DEV_CERT_NAME, DEV_KEY_NAME, bank_key

    monkeypatch.setitem(app.config, "SIGNING_DEV_DIR", str(tmp_path))
    monkeypatch.setitem(app.config, "BANK_NAME", "Harbour Bank")
    with app.app_context():
        key = bank_key()
        assert "CN=Harbour Bank" in key.subject and key.source == "development"
        assert key.certificate.public_key().key_size == 3072
    assert stat.S_IMODE((tmp_path / DEV_KEY_NAME).stat().st_mode) == 0o600
    assert (tmp_path / DEV_CERT_NAME).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    first = (tmp_path / DEV_KEY_NAME).read_bytes()
    monkeypatch.setitem(app.config, "BANK_NAME", "Example Bank")  # a new process would load, not remake, it
    with app.app_context():
        bank_key()
    assert (tmp_path / DEV_KEY_NAME).read_bytes() == first


def test_after_a_key_rotation_earlier_agreements_stay_genuine_once_their_certificate_is_listed(
    app, client, tmp_path, monkeypatch
):
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, Encoding, pkcs12

    old_key, old_cert = _self_signed("Example Bank 2026")
    new_key, new_cert = _self_signed("Example Bank 2027")
    for name, key, cert in (("old.p12", old_key, old_cert), ("new.p12", new_key, new_cert)):
        (tmp_path / name).write_bytes(
            pkcs12.serialize_key_and_certificates(b"bank", key, cert, None, BestAvailableEncryption(b"pw"))
        )
    monkeypatch.setitem(app.config, "SIGNING_P12_PASSWORD", "pw")
    monkeypatch.setitem(app.config, "SIGNING_P12", str(tmp_path / "old.p12"))
    agreement_id, reference = make_signed_agreement(app, make_account(app))
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(stored(app, agreement_id).pdf)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["portal", "agreements", "verify", str(signed)]).exit_code == 0

    # The bank rotates its key: without the old certificate the old agreement fails...
    monkeypatch.setitem(app.config, "SIGNING_P12", str(tmp_path / "new.p12"))
    rejected = runner.invoke(args=["portal", "agreements", "verify", str(signed)])
    assert rejected.exit_code == 1 and "certificate" in rejected.output
    assert "not genuine" in post_verify(client, reference=reference).get_data(as_text=True)

    # ...and with it listed in PORTAL_SIGNING_EARLIER_CERTS it is genuine again, on the
    # page and on the command line, while new agreements are signed with the new key.
    bundle = tmp_path / "earlier.pem"
    bundle.write_bytes(old_cert.public_bytes(Encoding.PEM))
    monkeypatch.setitem(app.config, "SIGNING_EARLIER_CERTS", str(bundle))
    assert runner.invoke(args=["portal", "agreements", "verify", str(signed)]).exit_code == 0
    page = post_verify(client, reference=reference).get_data(as_text=True)
    assert "We signed an agreement with this reference" in page
    newer_id, _ = make_signed_agreement(app, make_account(app, card=card_number(3)))
    newer = tmp_path / "newer.pdf"
    newer.write_bytes(stored(app, newer_id).pdf)
    assert runner.invoke(args=["portal", "agreements", "verify", str(newer)]).exit_code == 0
    keys = runner.invoke(args=["portal", "keys"])
    assert "CN=Example Bank 2027" in keys.output and "(PORTAL_SIGNING_EARLIER_CERTS): 1" in keys.output
    assert "CN=Example Bank 2026" in keys.output


def test_a_missing_or_broken_earlier_certificates_file_stops_the_portal_at_start_up(tmp_path):
    from portal.config import ConfigError, load_config

    broken = tmp_path / "earlier.pem"
    broken.write_text("not a certificate")
    for path in (tmp_path / "missing.pem", broken):
        with pytest.raises(ConfigError, match="PORTAL_SIGNING_EARLIER_CERTS"):
            load_config(tmp_path, {"PORTAL_SIGNING_EARLIER_CERTS": str(path)})
