"""Which channels this deployment sends through: the development outbox, or live SMTP,
an SMS gateway and the core banking system's webhook endpoint, from the configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal.integrations.channels import Channel, ChannelError, Envelope, Sent
from portal.integrations.dev import DevChannel
from portal.integrations.email import SmtpEmailChannel
from portal.integrations.sms import HttpSmsChannel
from portal.integrations.webhook import WebhookChannel


class Unconfigured:
    """A live channel with no settings: every message fails, visibly, without retrying."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, envelope: Envelope) -> Sent:
        raise ChannelError(f"{self.name} channel is not configured", transient=False)


def channels_for(config: Mapping[str, Any]) -> dict[str, Channel]:
    """The channels this deployment uses (``MESSAGE_BACKEND`` dev or live)."""
    if config["MESSAGE_BACKEND"] == "dev":
        # Webhooks too: in development they are "sent" to the outbox page, signed nowhere.
        return {"sms": DevChannel("sms"), "email": DevChannel("email"), "webhook": DevChannel("webhook")}
    sms: Channel = HttpSmsChannel(config["SMS_URL"], config["SMS_KEY"]) if config["SMS_URL"] else Unconfigured("sms")
    email: Channel = (
        SmtpEmailChannel(
            host=config["SMTP_HOST"],
            port=config["SMTP_PORT"],
            user=config["SMTP_USER"],
            password=config["SMTP_PASSWORD"],
            tls=config["SMTP_TLS"],
            ca_file=config.get("SMTP_CA_FILE") or None,
            sender=config["SMTP_FROM"],
        )
        if config["SMTP_HOST"]
        else Unconfigured("email")
    )
    webhook: Channel = (
        WebhookChannel(config["CORE_WEBHOOK_SECRET"]) if config.get("CORE_WEBHOOK_SECRET") else Unconfigured("webhook")
    )
    return {"sms": sms, "email": email, "webhook": webhook}
