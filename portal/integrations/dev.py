"""The development channel: nothing leaves the machine; messages show on /dev/outbox."""

from __future__ import annotations

from portal.integrations.channels import Envelope, Sent


class DevChannel:
    # Sending writes nowhere: the outbox page is the recipient's inbox, so a code or
    # link token stays readable there until it expires (portal.notifications.secrets).
    outbox_is_inbox = True

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, envelope: Envelope) -> Sent:
        return Sent(provider_id=f"dev-{self.name}-{envelope.reference}", delivered=True)
