"""The care workbench's own rows: who owns a case and what it holds for them, and the
phone calls care staff made (the contact caps count them beside the outbox's messages)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import Model


class CaseState(Model):
    """One row per account that has been worked: its owner and, kept current by the
    services that change them, what the queue shows per row (last contact and its
    outcome, the next action's date), so the queue reads one row instead of the history.

    ``owner_id`` with ``owned_until`` None: assigned (by a supervisor, or taken) until
    released; with a time: leased by "next case" until then, after which it is unowned.
    """

    __tablename__ = "case_states"
    __table_args__ = (
        Index("ix_case_states_owner", "owner_id", "owned_until"),
        Index("ix_case_states_next_action", "next_action_at"),
    )

    account_id: Mapped[int] = mapped_column(ForeignKey("card_accounts.id"), primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    owned_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    owned_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_outcome: Mapped[str | None] = mapped_column(String(32))
    last_channel: Mapped[str | None] = mapped_column(String(16))
    # The earliest due time of the case's open tasks (None: no open task).
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CallAttempt(Model):
    """A phone call care staff made to the cardholder, with its outcome. The contact caps
    count these with the collection messages (``portal.care.contact``)."""

    __tablename__ = "call_attempts"
    __table_args__ = (
        Index("ix_call_attempts_account_time", "account_id", "called_at"),
        CheckConstraint("outcome <> ''", name="outcome_present"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("card_accounts.id"))
    outcome: Mapped[str] = mapped_column(String(32))
    answered: Mapped[bool] = mapped_column(Boolean)
    # At the cardholder's request (a call-back they asked for): service rules, no caps.
    requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    called_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    called_by: Mapped[str] = mapped_column(String(64))  # an actor key (portal.audit.actors)
