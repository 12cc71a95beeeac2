"""``/api/v1``: the core banking system's balance snapshots and payments, and the API's description."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app

from portal.api import calls, errors
from portal.extensions import csrf, limiter
from portal.integrations.core_banking import payments, snapshots
from portal.integrations.core_banking.errors import ApiRefusal

OPENAPI = Path(__file__).with_name("openapi.json")

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no browser form, no cookie: each call is authenticated by its signature
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"])(bp)
bp.register_error_handler(ApiRefusal, errors.refusal)


@cache
def _openapi() -> bytes:
    return OPENAPI.read_bytes()


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API (no signature needed: it holds no data)."""
    return calls.json_response(200, _openapi().decode("utf-8"))


@bp.put("/accounts/<reference>")
def put_account(reference: str) -> Response:
    """A balance snapshot of one account; an older one than the account holds is not applied."""
    return calls.signed_call(
        lambda data, actor, now: snapshots.apply_snapshot(reference, data, actor, now),
        snapshots.FIELDS,
        key_required=False,
    )


@bp.post("/payments")
def post_payment() -> Response:
    """One payment the core system booked, posted like a statement entry."""
    return calls.signed_call(payments.receive_payment, payments.FIELDS, key_required=True)
