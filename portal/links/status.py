"""What became of a plan link, read from the link and the outbox message that carries it.

A link on its own knows only the cardholder's steps (sent, opened, …) and whether it was
revoked, used or expired. Until it is sent, its message says the rest: waiting for
contact hours or a retry (``held``, until when), stopped by a contact rule (``blocked``,
which rule), or given up on (``failed``, the provider's error). A link whose message
was blocked or failed never reached anybody: its token was forgotten with the message,
so it can never be opened, and staff see why instead of "queued".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select

from portal.extensions import db
from portal.links.models import FUNNEL, LinkStatus, LinkStep, PlanLink
from portal.notifications.models import OutboxMessage, OutboxStatus

REVOKED_REASON = "link_revoked"  # what revoking writes on a message still waiting


@dataclass(frozen=True)
class LinkState:
    """``code``: a ``LinkStatus`` or the furthest ``LinkStep``; ``until``: when a held
    message goes; ``reason``: the contact rule (blocked) or why it waits (held);
    ``error``: the provider's last error (failed, or a held retry)."""

    code: str
    until: datetime | None = None
    reason: str | None = None
    error: str | None = None

    @property
    def open(self) -> bool:
        """Still a live link that may reach the cardholder (so staff may revoke it)."""
        return self.code not in (
            LinkStatus.BLOCKED,
            LinkStatus.FAILED,
            LinkStatus.REVOKED,
            LinkStatus.USED,
            LinkStatus.EXPIRED,
        )


def link_state(link: PlanLink | LinkView, message: OutboxMessage | MessageView | None, now: datetime) -> LinkState:
    """The link's state for staff screens, its message's fate included."""
    if link.used_at:
        return LinkState(LinkStatus.USED)
    if link.revoked_at:
        return LinkState(LinkStatus.REVOKED)
    if message is not None and link.sent_at is None:
        if message.status == OutboxStatus.BLOCKED and message.blocked_reason != REVOKED_REASON:
            return LinkState(LinkStatus.BLOCKED, reason=message.blocked_reason)
        if message.status == OutboxStatus.FAILED:
            return LinkState(LinkStatus.FAILED, error=message.last_error)
    if now >= link.expires_at:
        return LinkState(LinkStatus.EXPIRED)
    for step in reversed(FUNNEL):
        if getattr(link, f"{step}_at"):
            return LinkState(LinkStep(step))
    if message is not None and message.status == OutboxStatus.QUEUED and message.send_after > now:
        return LinkState(
            LinkStatus.HELD, until=message.send_after, reason=message.held_reason, error=message.last_error
        )
    return LinkState(LinkStatus.QUEUED)


@dataclass(frozen=True)
class MessageView:
    """What ``link_state`` reads of a link's message, as a row gives it."""

    status: str
    blocked_reason: str | None
    last_error: str | None
    send_after: datetime
    held_reason: str | None


@dataclass(frozen=True)
class LinkView:
    """A plan link as a page lists it, read as a row with its message (not an ORM object:
    the case file lists up to 50 with their messages)."""

    id: int
    channel: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    used_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    opened_at: datetime | None
    verified_at: datetime | None
    offer_viewed_at: datetime | None
    accepted_at: datetime | None
    message: MessageView | None

    def __getitem__(self, name: str) -> Any:
        """``link["sent_at"]``, as templates read a funnel step of an ORM link."""
        return getattr(self, name)


def _message_loaded(link: PlanLink | LinkView) -> bool:
    state = inspect(link, raiseerr=False)
    return state is None or "message" not in state.unloaded  # a LinkView carries its message


def link_messages(links: Iterable[PlanLink | LinkView]) -> dict[int, OutboxMessage | MessageView]:
    """Each link's message (by link id): as loaded with the links, else in one query."""
    links = list(links)
    if all(_message_loaded(link) for link in links):
        return {link.id: link.message for link in links if link.message is not None}
    by_message = {
        link.outbox_message_id: link.id
        for link in links
        if isinstance(link, PlanLink) and link.outbox_message_id is not None
    }
    if not by_message:
        return {}
    found = db.session.execute(select(OutboxMessage).where(OutboxMessage.id.in_(by_message))).scalars()
    return {by_message[message.id]: message for message in found}


def link_states(links: Iterable[PlanLink | LinkView], now: datetime) -> dict[int, LinkState]:
    """Every link's state (by link id), their messages read in one query."""
    links = list(links)
    messages = link_messages(links)
    return {link.id: link_state(link, messages.get(link.id), now) for link in links}
