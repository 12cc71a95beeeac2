"""JSON answers for everything that fails under ``/api/``: never an HTML page.

Each error is ``{"error": {"code": ..., "message": ..., "field": ...}}``, with ``field``
only where one JSON field is at fault. Messages are English: they are read by the
engineers of the calling system, not by cardholders.
"""

from __future__ import annotations

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

from portal.integrations.core_banking.errors import ApiRefusal

PREFIX = "/api/"

_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def is_api_request() -> bool:
    return request.path.startswith(PREFIX)


def refusal(error: ApiRefusal) -> Response:
    response = jsonify(error.body())
    response.status_code = error.status
    return response


def http_error(error: HTTPException) -> Response:
    """``error`` (404, 405, 413, 429…) as JSON, keeping its headers (``Allow``, ``Retry-After``)."""
    code = error.code or 500
    if code == 429:
        message = f"Too many calls: the limit is {error.description}. Wait, then try again."
    else:
        message = error.description or error.name
    response = refusal(ApiRefusal(code, _CODES.get(code, "error"), message))
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def control_characters() -> Response:
    return refusal(ApiRefusal(400, "control_character", "A string in the body holds a control character."))


def internal_error() -> Response:
    return refusal(ApiRefusal(500, "internal_error", "Something failed on the portal's side; nothing was changed."))
