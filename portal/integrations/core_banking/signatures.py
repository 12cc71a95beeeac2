"""Checking a call's signature the Standard Webhooks way (https://www.standardwebhooks.com/).

The caller sends three headers: ``webhook-id`` (a unique message id), ``webhook-timestamp``
(integer seconds since the epoch) and ``webhook-signature`` (space-separated
``v1,<base64>`` signatures). A ``v1`` signature is the base64 of HMAC-SHA256, keyed by the
bytes a ``whsec_`` secret encodes, over ``{id}.{timestamp}.{body}``. The HMAC is computed
by Svix's ``standardwebhooks`` library; reading the headers is done here, so that a
malformed header is a refusal (never an exception) and the window follows the portal's
clock (``portal.clock``), which tests freeze.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook

WINDOW = timedelta(minutes=5)  # older or further in the future than this: refused
MAX_ID_LENGTH = 128  # api_messages.webhook_id
MAX_SIGNATURES = 10  # a rotation sends two or three; more is not a signature header


class SignatureRefused(Exception):
    """The call is not signed by a holder of a configured secret; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SignedMessage:
    webhook_id: str
    sent_at: datetime


def verify(secrets: Sequence[str], headers: Mapping[str, str], body: bytes, now: datetime) -> SignedMessage:
    """The message id and time of a call whose signature one of ``secrets`` made, sent
    within :data:`WINDOW` of ``now``; :class:`SignatureRefused` otherwise. ``headers``
    are keyed in lower case."""
    webhook_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (webhook_id and stamp and signatures):
        raise SignatureRefused(
            "signature_missing", "The webhook-id, webhook-timestamp and webhook-signature headers are required."
        )
    if len(webhook_id) > MAX_ID_LENGTH or not webhook_id.isascii() or not webhook_id.isprintable():
        raise SignatureRefused(
            "webhook_id_invalid", f"webhook-id must be 1 to {MAX_ID_LENGTH} printable ASCII characters."
        )
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise SignatureRefused("timestamp_invalid", "webhook-timestamp must be whole seconds since 1970-01-01 UTC.")
    # Compared as seconds before any datetime is made: a stamp past the year 9999 (twelve
    # digits allow one) has no datetime, and would otherwise be an exception, not a refusal.
    if abs(int(stamp) - now.timestamp()) > WINDOW.total_seconds():
        raise SignatureRefused(
            "timestamp_out_of_window",
            "webhook-timestamp is more than 5 minutes away from the portal's clock: sign the call again, now.",
        )
    sent_at = datetime.fromtimestamp(int(stamp), UTC)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureRefused("body_not_utf8", "The body must be UTF-8 JSON.") from None
    offered = _offered(signatures)
    for secret in secrets:
        expected = _digest(Webhook(secret).sign(webhook_id, sent_at, text))
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return SignedMessage(webhook_id, sent_at)
    raise SignatureRefused("signature_invalid", "No v1 signature in webhook-signature matches a configured secret.")


def _offered(header: str) -> list[bytes]:
    """The ``v1`` signatures of the header, decoded; anything malformed is skipped."""
    found: list[bytes] = []
    for item in header.split(" ")[:MAX_SIGNATURES]:
        version, _, value = item.partition(",")
        if version != "v1":
            continue  # another scheme (v1a: asymmetric), not ours to check
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def _digest(signature: str) -> bytes:
    return base64.b64decode(signature.partition(",")[2])


def sign(secret: str, webhook_id: str, sent_at: datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers that sign ``body`` sent at ``sent_at``: the
    webhooks out (``integrations.webhook``), the README's example and the tests."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, sent_at, body.decode("utf-8")),
    }
