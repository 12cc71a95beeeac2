"""The development channel: nothing leaves the machine; messages show on /dev/outbox."""

from __future__ import annotations

from portal.integrations.channels import Envelope, Sent


class DevChannel:
    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, envelope: Envelope) -> Sent:
        return Sent(provider_id=f"dev-{self.name}-{envelope.reference}", delivered=True)
