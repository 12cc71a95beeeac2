"""Calling the core banking API in tests: a signed client, and counts of what it wrote."""

from __future__ import annotations

import base64
import json
import secrets as random
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from portal import clock
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.integrations.core_banking.models import ApiMessage, IdempotencyRecord
from portal.integrations.core_banking.signatures import sign
from portal.payments.models import Payment


def new_secret() -> str:
    return "whsec_" + base64.b64encode(random.token_bytes(32)).decode()


SECRET = new_secret()


class ApiClient:
    """Signs each call with ``secret`` (a fresh webhook-id unless given), at the portal's time."""

    def __init__(self, app: Flask, secret: str = SECRET) -> None:
        self.app = app
        self.client = app.test_client()
        self.secret = secret

    def call(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        body: bytes | None = None,
        key: str | None = None,
        webhook_id: str | None = None,
        sent_at: datetime | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        raw = body if body is not None else json.dumps(payload).encode()
        signed = sign(secret or self.secret, webhook_id or random.token_hex(8), sent_at or clock.now(), raw)
        if key is not None:
            signed["Idempotency-Key"] = key
        signed.update(headers or {})
        return self.client.open(path, method=method, data=raw, headers=signed, content_type="application/json")

    def put_snapshot(self, reference: str, payload: dict[str, Any], **options: Any) -> Any:
        return self.call("PUT", f"/api/v1/accounts/{reference}", payload, **options)

    def post_payment(self, payload: dict[str, Any], key: str | None = None, **options: Any) -> Any:
        return self.call("POST", "/api/v1/payments", payload, key=key or random.token_hex(8), **options)


def written(app: Flask) -> dict[str, int]:
    """How many rows the API's calls can write, table by table."""
    with app.app_context():
        return {
            model.__tablename__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (ApiMessage, IdempotencyRecord, Payment, AuditEvent)
        }


def snapshot(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "as_of": "2026-11-28T12:00:00+08:00",
        "principal": "9500.00",
        "interest": "450.00",
        "fees": "0.00",
        "late_fees": "100.00",
        "overdue_amount": "1500.00",
        "minimum_due": "1600.00",
        "due_date": "2026-12-15",
        "days_past_due": 40,
    }
    values.update(fields)
    return values


def payment(payment_id: str = "CORE-1", **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": payment_id,
        "amount": "245.00",
        "currency": "CNY",
        "direction": "credit",
        "booked_at": "2026-11-28T10:15:00+08:00",
        "remittance": "Card repayment DEMO0001",
    }
    values.update(fields)
    return values
