"""The API's calls are signed the Standard Webhooks way: a 5-minute window, replays refused,
and a refused call writes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import clock
from portal.accounts.models import CardAccount
from tests.api_helpers import SECRET, ApiClient, new_secret, snapshot, written
from tests.conftest import make_account

NOTHING = {"api_messages": 0, "api_idempotency_records": 0, "payments": 0, "audit_events": 0}


@pytest.fixture
def api(app, frozen):
    app.config["API_SECRETS"] = (SECRET,)
    make_account(app, reference="DEMO0001")
    yield ApiClient(app)
    app.config["API_SECRETS"] = ()


def principal(query):
    return query.one(select(CardAccount.principal))


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json and response.get_json()["error"]["code"] == code


def test_a_call_signed_with_the_secret_is_accepted_and_its_message_id_spent(app, api, query):
    response = api.put_snapshot("DEMO0001", snapshot())
    assert response.status_code == 200 and response.get_json()["applied"] is True
    assert written(app)["api_messages"] == 1 and principal(query) == 9500


def test_a_signature_made_by_hand_from_the_specification_is_accepted(app, api, query):
    """Independent of the library: base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))."""
    body = json.dumps(snapshot()).encode()
    stamp = str(int(clock.now().timestamp()))
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, b"msg_1." + stamp.encode() + b"." + body, hashlib.sha256).digest()
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": stamp,
        "webhook-signature": "v1a,ignored v1," + base64.b64encode(digest).decode(),
    }
    response = api.client.put("/api/v1/accounts/DEMO0001", data=body, headers=headers, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"secret": new_secret()}, "signature_invalid"),
        ({"headers": {"webhook-signature": "v1,AAAA"}}, "signature_invalid"),
        ({"headers": {"webhook-signature": "v1,not base64!! v2,x ,,, v1"}}, "signature_invalid"),
        ({"headers": {"webhook-signature": ""}}, "signature_missing"),
        ({"headers": {"webhook-timestamp": "17e8"}}, "timestamp_invalid"),
        # Past the year 9999: no datetime exists for them, yet they are whole seconds.
        ({"headers": {"webhook-timestamp": "253402300800"}}, "timestamp_out_of_window"),
        ({"headers": {"webhook-timestamp": "999999999999"}}, "timestamp_out_of_window"),
        ({"headers": {"webhook-id": "x" * 129}}, "webhook_id_invalid"),
        ({"sent_at_shift": -timedelta(minutes=5, seconds=1)}, "timestamp_out_of_window"),
        ({"sent_at_shift": timedelta(minutes=5, seconds=1)}, "timestamp_out_of_window"),
    ],
)
def test_a_call_not_signed_right_is_refused_401_and_writes_nothing(app, api, query, change, code):
    options = dict(change)
    shift = options.pop("sent_at_shift", None)
    if shift is not None:
        options["sent_at"] = clock.now() + shift
    refused(api.put_snapshot("DEMO0001", snapshot(), key="k-1", **options), 401, code)
    assert written(app) == NOTHING and principal(query) == 10000


def test_a_body_changed_after_signing_is_refused(app, api, query):
    signed = json.dumps(snapshot()).encode()
    from portal.integrations.core_banking.signatures import sign

    headers = sign(SECRET, "msg_2", clock.now(), signed)
    tampered = signed.replace(b"9500.00", b"1.00")
    response = api.client.put(
        "/api/v1/accounts/DEMO0001", data=tampered, headers=headers, content_type="application/json"
    )
    refused(response, 401, "signature_invalid")
    assert principal(query) == 10000


def test_a_timestamp_just_inside_the_window_is_accepted_both_ways(api):
    for shift in (timedelta(minutes=-5), timedelta(minutes=5)):
        assert api.put_snapshot("DEMO0001", snapshot(), sent_at=clock.now() + shift).status_code == 200


def test_a_replayed_message_is_refused_409_and_changes_nothing(app, api, query):
    assert api.put_snapshot("DEMO0001", snapshot(), webhook_id="msg-42").status_code == 200
    before = written(app)
    newer = snapshot(as_of="2026-11-28T12:01:00+08:00", principal="1.00", minimum_due="1.00")
    refused(api.put_snapshot("DEMO0001", newer, webhook_id="msg-42"), 409, "replayed")
    assert written(app) == before and principal(query) == 9500


def test_a_refused_call_does_not_spend_its_message_id(api):
    refused(api.put_snapshot("DEMO0001", snapshot(principal=1), webhook_id="msg-7"), 422, "invalid_field")
    assert api.put_snapshot("DEMO0001", snapshot(), webhook_id="msg-7").status_code == 200


def test_spent_message_ids_are_forgotten_after_twice_the_window(app, api, frozen):
    assert api.put_snapshot("DEMO0001", snapshot(), webhook_id="msg-old").status_code == 200
    frozen.set(clock.now() + timedelta(minutes=11))
    assert api.put_snapshot("DEMO0001", snapshot(), webhook_id="msg-new").status_code == 200
    assert written(app)["api_messages"] == 1  # msg-old pruned by the call
    assert api.put_snapshot("DEMO0001", snapshot(), webhook_id="msg-old").status_code == 200


def test_any_of_several_configured_secrets_is_accepted_while_one_is_rotated(app, api):
    newer = new_secret()
    app.config["API_SECRETS"] = (SECRET, newer)
    assert api.put_snapshot("DEMO0001", snapshot(), secret=newer).status_code == 200
    assert api.put_snapshot("DEMO0001", snapshot(), secret=SECRET).status_code == 200


def test_without_a_configured_secret_the_api_answers_503(app, api):
    app.config["API_SECRETS"] = ()
    refused(api.put_snapshot("DEMO0001", snapshot()), 503, "api_not_configured")
    assert written(app) == NOTHING


def test_no_csrf_token_is_needed_though_csrf_protection_is_on(app, api):
    assert app.config["WTF_CSRF_ENABLED"] is True
    assert "csrf_token" not in api.client.get("/api/v1/openapi.json").get_data(as_text=True)
    assert api.put_snapshot("DEMO0001", snapshot()).status_code == 200


def test_errors_are_json_never_html(app, api):
    refused(api.client.get("/api/v1/nothing-here"), 404, "not_found")
    response = api.client.get("/api/v1/payments")
    refused(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    refused(api.call("PUT", "/api/v1/accounts/DEMO0001", body=b"{not json"), 400, "invalid_json")
    refused(api.call("PUT", "/api/v1/accounts/DEMO0001", body=b"[1, 2]"), 400, "invalid_json")
    refused(api.put_snapshot("DEMO0001", snapshot(principal="1\x00")), 400, "control_character")
    response = api.client.put("/api/v1/accounts/DEMO0001", data="x", content_type="text/plain")
    refused(response, 415, "unsupported_media_type")
    refused(api.call("PUT", "/api/v1/accounts/DEMO0001", body=b"{}" + b" " * 70_000), 413, "body_too_large")


def test_calls_over_the_rate_limit_get_a_json_429(app, api):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    try:
        statuses = [api.put_snapshot("DEMO0001", snapshot()).status_code for _ in range(3)]
        response = api.put_snapshot("DEMO0001", snapshot())
    finally:
        app.config["API_RATE_LIMIT"] = "1200 per minute"
    assert statuses == [200, 200, 429]
    refused(response, 429, "rate_limited")
    assert "Retry-After" in response.headers
