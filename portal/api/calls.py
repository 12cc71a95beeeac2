"""One signed, idempotent call: the steps every ``/api/v1`` write takes, in order.

1. The API is configured (``PORTAL_API_SECRET``), else 503; the body is JSON, at most
   :data:`MAX_BODY` bytes.
2. The Standard Webhooks signature holds, within 5 minutes of now, else 401.
3. The body is an object of known fields, else 400/422.
4. The message id is spent (a replay: 409) and the ``Idempotency-Key`` claimed (an answer
   given before: given again; the key with another request: 409).
5. The use case runs and its answer is stored under the key.

Everything is written in the request's one transaction: any refusal rolls all of it back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from flask import Response, current_app, request

from portal.audit.actors import Actor, ActorType
from portal.db_types import utcnow
from portal.integrations.core_banking import guard
from portal.integrations.core_banking.body import load_object
from portal.integrations.core_banking.errors import ApiRefusal
from portal.integrations.core_banking.signatures import SignatureRefused, verify

MAX_BODY = 64 * 1024
REPLAYED_HEADER = "Idempotent-Replayed"

UseCase = Callable[[dict[str, Any], Actor, datetime], tuple[int, dict[str, Any]]]


def core_system() -> Actor:
    """The actor of every API call: the core banking system (``system:core``), from its address."""
    return Actor(ActorType.SYSTEM, "core", request.remote_addr)


def json_response(status: int, text: str) -> Response:
    return Response(text, status=status, mimetype="application/json")


def signed_call(use_case: UseCase, fields: Collection[str], *, key_required: bool) -> Response:
    """Run ``use_case`` on the request's JSON body once its signature and keys allow it."""
    secrets = current_app.config["API_SECRETS"]
    if not secrets:
        raise ApiRefusal(
            503, "api_not_configured", "The API is switched off: PORTAL_API_SECRET is not set on the portal."
        )
    if request.mimetype != "application/json":
        raise ApiRefusal(415, "unsupported_media_type", "Send the body as application/json.")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY:
        raise ApiRefusal(413, "body_too_large", f"The body must be at most {MAX_BODY} bytes.")
    now = utcnow()
    try:
        message = verify(secrets, {k.lower(): v for k, v in request.headers.items()}, raw, now)
    except SignatureRefused as refused:
        raise ApiRefusal(401, refused.code, refused.message) from None
    key = request.headers.get("Idempotency-Key")
    if key is None and key_required:
        raise ApiRefusal(400, "idempotency_key_missing", "The Idempotency-Key header is required here.")
    data = load_object(raw, fields)
    guard.accept_message(message.webhook_id, now)
    record = None
    if key is not None:
        claimed = guard.begin(guard.check_key(key), request.method, request.path, raw, now)
        if isinstance(claimed, guard.Answer):
            response = json_response(claimed.status, claimed.body)
            response.headers[REPLAYED_HEADER] = "true"
            return response
        record = claimed
    status, answer = use_case(data, core_system(), now)
    text = json.dumps(answer, ensure_ascii=False, sort_keys=True)
    if record is not None:
        guard.finish(record, status, text)
    return json_response(status, text)
