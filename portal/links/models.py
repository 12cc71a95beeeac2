"""Plan links: single-use, expiring links that staff send to one account's cardholder."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import Model

if TYPE_CHECKING:
    from portal.notifications.models import OutboxMessage


class LinkStep(StrEnum):
    """The cardholder's way through a link, in order; each step has a ``<step>_at`` column."""

    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    VERIFIED = "verified"
    OFFER_VIEWED = "offer_viewed"
    ACCEPTED = "accepted"


FUNNEL = tuple(LinkStep)


class LinkStatus(StrEnum):
    """What staff screens show for a link (not stored: derived from its columns)."""

    QUEUED = "queued"
    HELD = "held"  # its message waits: outside contact hours, or a retry after a failure
    BLOCKED = "blocked"  # its message was stopped by a contact rule: it never went
    FAILED = "failed"  # its message could not be sent: the provider's error says why
    REVOKED = "revoked"
    USED = "used"
    EXPIRED = "expired"


class PlanLink(Model):
    """Only the SHA-256 of the token is stored: the token exists in the message alone."""

    __tablename__ = "plan_links"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        CheckConstraint("channel IN ('sms', 'email')", name="channel_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_accounts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    offer_fingerprint: Mapped[str | None] = mapped_column(String(64))  # a pre-selected offer
    created_by: Mapped[str] = mapped_column(String(64))  # actor key: staff:12 (portal.audit.actors)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # an offer was accepted through it
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    # The outbox row carrying the link (not a foreign key: the outbox row points back here).
    outbox_message_id: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offer_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The message that carries it, read-only: what became of it says what became of the
    # link until it is sent (portal.links.status). Staff lists load it with the link.
    message: Mapped[OutboxMessage | None] = relationship(
        "OutboxMessage",
        primaryjoin="foreign(PlanLink.outbox_message_id) == OutboxMessage.id",
        viewonly=True,
        uselist=False,
    )

    def usable(self, now: datetime) -> bool:
        """Not revoked, not used for an acceptance yet, and not expired."""
        return self.revoked_at is None and self.used_at is None and now < self.expires_at

    def status(self, now: datetime) -> LinkStatus | LinkStep:
        """Revoked, used, expired, or the furthest funnel step reached, from the link alone.
        Staff screens use ``portal.links.status.link_state``, which also reads its message."""
        if self.revoked_at:
            return LinkStatus.REVOKED
        if self.used_at:
            return LinkStatus.USED
        if now >= self.expires_at:
            return LinkStatus.EXPIRED
        for step in reversed(FUNNEL):
            if getattr(self, f"{step}_at"):
                return step
        return LinkStatus.QUEUED
