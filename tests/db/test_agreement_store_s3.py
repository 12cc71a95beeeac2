"""Agreement PDFs in an S3-compatible object store, against a real local S3 server.

moto's standalone server (``python -m moto.server``, from PyPI ``moto[server]``) runs as a
subprocess and the portal talks to it over HTTP through boto3, as it would to AWS S3 or
MinIO. The test reads the bucket with its own boto3 client, not through the portal.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select

from portal.agreements.models import Agreement
from portal.extensions import db
from portal.integrations import storage
from tests.conftest import CardholderAuth, csrf_token, make_account, make_app, need
from tests.plan_factories import make_pending_agreement, make_plan

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

KEYS = {"S3_ACCESS_KEY_ID": "portal-test", "S3_SECRET_ACCESS_KEY": "portal-test-secret", "S3_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """A moto S3 server on a free local port, for this module; stopped afterwards."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        need(False, "moto's S3 server (pip install 'moto[server]', pinned in requirements-dev.txt)")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(endpoint + "/moto-api/", timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto's S3 server did not start")
                time.sleep(0.2)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def bucket(s3_server: str) -> Iterator[tuple[Any, str]]:
    """A fresh bucket, and a boto3 client of the test's own to look into it."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id=KEYS["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=KEYS["S3_SECRET_ACCESS_KEY"],
    )
    name = f"agreements-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    yield client, name
    client.close()


@contextmanager
def s3_app(database_url: str, endpoint: str, bucket_name: str) -> Iterator[Any]:
    """The portal configured to keep agreements in the bucket (the test's database)."""
    made = make_app(
        database_url,
        AGREEMENT_STORE="s3",
        S3_BUCKET=bucket_name,
        S3_ENDPOINT_URL=endpoint,
        S3_PREFIX="signed/",
        **KEYS,
    )
    try:
        yield made
    finally:
        with made.app_context():
            db.engine.dispose()


def objects(client: Any, bucket_name: str) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket_name).get("Contents", [])]


def accept_an_offer(portal: Any) -> tuple[str, Any]:
    """Sign in and accept the first offer through the pages; returns the agreement's
    reference and the signed-in cardholder's client."""
    from portal.audit.service import SYSTEM
    from portal.policies.service import ensure_default_policy

    with portal.app_context():
        ensure_default_policy(SYSTEM)
        db.session.commit()
    make_account(portal, dpd=35)
    client = portal.test_client()
    CardholderAuth(client).sign_in()
    offers = client.get("/plan/offers").get_data(as_text=True)
    fingerprint = offers.split("/plan/offers/")[1][:64]
    page = client.get(f"/plan/offers/{fingerprint}/accept")
    accepted = client.post(
        f"/plan/offers/{fingerprint}/accept",
        data={"csrf_token": csrf_token(page.data), "full_name": "Li Na", "consent": "y"},
    )
    assert accepted.status_code == 302 and "/done" in accepted.headers["Location"]
    with portal.app_context():
        return db.session.execute(select(Agreement.reference)).scalar_one(), client


def row(portal: Any, reference: str) -> Agreement:
    with portal.app_context():
        agreement = db.session.execute(select(Agreement).where(Agreement.reference == reference)).scalar_one()
        _ = agreement.pdf
        db.session.expunge(agreement)
        return agreement


def post_verify(client: Any, reference: str) -> Any:
    token = csrf_token(client.get("/verify").data)
    return client.post("/verify", data={"csrf_token": token, "reference": reference})


def test_an_accepted_offer_puts_its_signed_pdf_in_the_bucket_and_the_download_returns_it(
    app, database_url, s3_server, bucket
):
    client, name = bucket
    with s3_app(database_url, s3_server, name) as portal:
        reference, cardholder = accept_an_offer(portal)
        agreement = row(portal, reference)
        assert agreement.state == "signed" and agreement.pdf is None  # the bytes are not in the row
        assert objects(client, name) == [agreement.pdf_key]

        # Read back with boto3 directly: the signed PDF, typed, its SHA-256 the row's.
        key = agreement.pdf_key
        assert key.startswith("signed/") and key.endswith(".pdf")
        random_part = key.removeprefix("signed/").removesuffix(".pdf")
        assert reference not in key and len(random_part) == 32 and random_part.isalnum()  # 160 random bits
        head = client.head_object(Bucket=name, Key=key)
        assert head["ContentType"] == "application/pdf"
        in_bucket = client.get_object(Bucket=name, Key=key)["Body"].read()
        assert in_bucket.startswith(b"%PDF-")
        assert hashlib.sha256(in_bucket).hexdigest() == agreement.sha256 == head["Metadata"]["sha256"]

        # The cardholder's download returns exactly those bytes; /verify vouches for them.
        download = cardholder.get(f"/agreements/{reference}.pdf")
        assert download.status_code == 200 and download.mimetype == "application/pdf"
        assert download.data == in_bucket
        verdict = post_verify(cardholder, reference)
        assert verdict.status_code == 200 and "not genuine" not in verdict.get_data(as_text=True).lower()

        # The CLI checks a downloaded file against the row's SHA-256, wherever it is kept.
        path = portal.instance_path + f"/{reference}.pdf"
        with open(path, "wb") as handle:
            handle.write(download.data)
        result = portal.test_cli_runner().invoke(args=["portal", "agreements", "verify", path])
        assert result.exit_code == 0 and "GENUINE" in result.output


def test_an_object_changed_in_the_bucket_is_refused(app, database_url, s3_server, bucket):
    client, name = bucket
    with s3_app(database_url, s3_server, name) as portal:
        reference, cardholder = accept_an_offer(portal)
        key = row(portal, reference).pdf_key
        original = client.get_object(Bucket=name, Key=key)["Body"].read()
        at = original.index(b"/Title") + 10
        tampered = original[:at] + (b"X" if original[at : at + 1] != b"X" else b"Y") + original[at + 1 :]
        client.put_object(Bucket=name, Key=key, Body=tampered, ContentType="application/pdf")

        download = cardholder.get(f"/agreements/{reference}.pdf")
        assert download.status_code == 500 and b"%PDF-" not in download.data  # never served
        verdict = post_verify(cardholder, reference)
        assert verdict.status_code == 200 and "not genuine" in verdict.get_data(as_text=True).lower()

        client.delete_object(Bucket=name, Key=key)  # gone: no verdict at all, "try again"
        assert cardholder.get(f"/agreements/{reference}.pdf").status_code == 503
        assert post_verify(cardholder, reference).status_code == 503


def test_an_upload_no_row_names_is_deleted(app, database_url, s3_server, bucket, monkeypatch):
    """A failed unit (here: the audit write) and a lost race leave no object behind."""
    from portal.agreements import service

    client, name = bucket
    with s3_app(database_url, s3_server, name) as portal:
        agreement_id = make_pending_agreement(portal, make_plan(portal, make_account(portal), "installment", "en"))

        def audit_fails(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("audit down")

        monkeypatch.setattr(service, "record", audit_fails)
        with portal.app_context():
            assert service.produce_agreement(agreement_id) is False
        assert objects(client, name) == []
        monkeypatch.undo()

        real_put = storage.S3Store.put

        def another_worker_stores_first(self: Any, data: bytes, sha256: str) -> Any:
            stored = real_put(self, data, sha256)
            assert objects(client, name) == [stored.key]
            db.session.execute(
                Agreement.__table__.update()
                .where(Agreement.id == agreement_id)
                .values(state="signed", pdf=b"%PDF-first", sha256="0" * 64, signed_at=db.func.now())
            )
            return stored

        monkeypatch.setattr(storage.S3Store, "put", another_worker_stores_first)
        with portal.app_context():
            assert service.produce_agreement(agreement_id) is True
        assert objects(client, name) == []  # the loser's copy is removed
        assert row(portal, row_reference(portal, agreement_id)).pdf == b"%PDF-first"


def row_reference(portal: Any, agreement_id: int) -> str:
    with portal.app_context():
        return db.session.get(Agreement, agreement_id).reference


def test_the_database_stays_the_default(app):
    from tests.plan_factories import make_signed_agreement

    agreement_id, _reference = make_signed_agreement(app, make_account(app))
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        assert agreement.pdf_key is None and agreement.pdf.startswith(b"%PDF-")
        assert app.extensions["agreement_stores"].writer().name == "database"
