"""SMS through an HTTP provider: POST JSON ``{to, text, reference}`` with our key in a header.

Any 2xx answer means accepted; the provider's message id, if its JSON answer has one
(``id`` or ``message_id``), is kept to match delivery reports. 5xx, 429 and network
errors are retried; other 4xx answers mean the provider will never take this message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from portal.integrations.channels import ChannelError, Envelope, Sent

KEY_HEADER = "X-SMS-Key"


class HttpSmsChannel:
    name = "sms"

    def __init__(self, url: str, key: str, timeout: float = 10.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("the SMS provider URL must be http(s)")
        self.url, self.key, self.timeout = url, key, timeout

    def send(self, envelope: Envelope) -> Sent:
        payload = json.dumps(
            {"to": envelope.to, "text": envelope.body, "reference": envelope.reference}, ensure_ascii=False
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url,
            data=payload,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", KEY_HEADER: self.key},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status, raw = response.status, response.read(65536)
        except urllib.error.HTTPError as error:
            error.close()  # it holds the connection open
            transient = error.code >= 500 or error.code == 429
            raise ChannelError(f"sms provider answered HTTP {error.code}", transient=transient) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise ChannelError(f"sms provider unreachable ({type(error).__name__})") from None
        if not 200 <= status < 300:
            raise ChannelError(f"sms provider answered HTTP {status}")
        return Sent(provider_id=_provider_id(raw))


def _provider_id(raw: bytes) -> str | None:
    try:
        data = json.loads(raw or b"null")
    except ValueError:
        return None
    if isinstance(data, dict):
        found = data.get("id") or data.get("message_id")
        return str(found)[:128] if found is not None else None
    return None
