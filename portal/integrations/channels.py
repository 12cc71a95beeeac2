"""What every message channel offers the outbox worker.

The types every channel shares; ``portal.integrations.registry`` picks the channels.
A channel gets an :class:`Envelope` (no database rows, no Flask) and either returns a
:class:`Sent` or raises :class:`ChannelError` with a reason that names no person, no
address and no message text, because the reason is stored and shown to staff.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


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
