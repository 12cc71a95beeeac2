"""What every message channel offers the outbox worker, and how to pick the channels.

A channel gets an :class:`Envelope` (no database rows, no Flask) and either returns a
:class:`Sent` or raises :class:`ChannelError` with a reason that names no person, no
address and no message text, because the reason is stored and shown to staff.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Envelope:
    reference: str  # our outbox id: lets the provider refuse a duplicate
    to: str
    body: str
    subject: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    provider_id: str | None
    delivered: bool = False  # True when acceptance is all the confirmation there will be


class ChannelError(Exception):
    """Sending failed. ``transient`` failures are retried; others fail at once."""

    def __init__(self, reason: str, transient: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason[:300]
        self.transient = transient


class Channel(Protocol):
    name: str

    def send(self, envelope: Envelope) -> Sent: ...


class Unconfigured:
    """A live channel with no settings: every message fails, visibly, without retrying."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, envelope: Envelope) -> Sent:
        raise ChannelError(f"{self.name} channel is not configured", transient=False)


def channels_for(config: Mapping[str, Any]) -> dict[str, Channel]:
    """The channels this deployment uses (``MESSAGE_BACKEND`` dev or live)."""
    from portal.integrations.dev import DevChannel
    from portal.integrations.email import SmtpEmailChannel
    from portal.integrations.sms import HttpSmsChannel

    if config["MESSAGE_BACKEND"] == "dev":
        return {"sms": DevChannel("sms"), "email": DevChannel("email")}
    sms: Channel = (HttpSmsChannel(config["SMS_URL"], config["SMS_KEY"]) if config["SMS_URL"]
                    else Unconfigured("sms"))
    email: Channel = (
        SmtpEmailChannel(host=config["SMTP_HOST"], port=config["SMTP_PORT"], user=config["SMTP_USER"],
                         password=config["SMTP_PASSWORD"], starttls=config["SMTP_STARTTLS"],
                         sender=config["SMTP_FROM"])
        if config["SMTP_HOST"] else Unconfigured("email")
    )
    return {"sms": sms, "email": email}
