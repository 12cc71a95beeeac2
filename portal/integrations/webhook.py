"""Webhooks to the core banking system, signed by the Standard Webhooks specification.

The envelope's ``to`` is the endpoint, its ``body`` the event JSON exactly as stored and
its ``reference`` the event's public id (``evt_…``), sent as ``webhook-id`` on every
attempt so the receiver can drop a repeat. ``webhook-timestamp`` is the time of this
attempt and ``webhook-signature`` is ``v1,`` + base64 HMAC-SHA256 of
``id.timestamp.body`` under the shared secret (the ``standardwebhooks`` library signs,
as the receiver's copy of it verifies).

Any 2xx answer means delivered. Anything else (another status, a redirect, a timeout,
a refused connection) is retried by the outbox and then dead-lettered; the reason kept
names only the status or the error type, never the body.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from portal.integrations.channels import ChannelError, Envelope, Sent
from portal.integrations.core_banking.signatures import sign

USER_AGENT = "portal-webhooks/1"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is not a delivery: urllib would resend a POST as a bodiless GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookChannel:
    name = "webhook"

    def __init__(self, secret: str, timeout: float = 10.0) -> None:
        Webhook(secret)  # refuses an empty or undecodable secret now, not at the first send
        self.secret, self.timeout = secret, timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def send(self, envelope: Envelope) -> Sent:
        if not envelope.to.startswith(("https://", "http://")):
            raise ChannelError("webhook endpoint is not an http(s) address", transient=False)
        # The real time, not the portal's clock: the receiver checks it against its own.
        headers = sign(self.secret, envelope.reference, datetime.now(UTC), envelope.body.encode())
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            envelope.to,
            data=envelope.body.encode(),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                response.read(65536)
        except urllib.error.HTTPError as error:
            error.close()  # it holds the connection open
            raise ChannelError(f"core system answered HTTP {error.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise ChannelError(f"core system unreachable ({type(error).__name__})") from None
        if not 200 <= status < 300:
            raise ChannelError(f"core system answered HTTP {status}")
        return Sent(provider_id=None, delivered=True)
