"""Sign-in challenges (one-time codes) and server-side sessions. Only keyed or plain
hashes of codes and of session and challenge tokens are stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import Model


class OneTimeCode(Model):
    """A pending sign-in: made for every first step, matching or not.

    ``account_id`` is empty when the card and date of birth matched nothing: the code
    page then behaves exactly like a real one but can never succeed, and no message is
    sent. ``challenge_hash`` is the SHA-256 of the random challenge the browser holds.
    """

    __tablename__ = "one_time_codes"
    __table_args__ = (CheckConstraint("attempts >= 0", name="attempts_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("card_accounts.id"), index=True)
    challenge_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Model):
    """A signed-in session, so that it can end on the server (sign-out, lockout,
    re-enrolment, idle or absolute lifetime) whatever a copied cookie says.

    ``principal`` is the Flask-Login id (``c:<account id>`` or ``s:<staff id>``);
    the cookie holds a random token whose SHA-256 is ``token_hash``.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    principal: Mapped[str] = mapped_column(String(24), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(16))
