"""Audit events: who did what to which object, when and from where, hash-chained.

Chain version 1 (events written before the chain was keyed) holds plain SHA-256 hashes;
version 2 holds HMAC-SHA-256 under ``PORTAL_AUDIT_KEY``, which is not in the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.audit.actors import ActorType
from portal.db_types import UTCDateTime, sql_values
from portal.extensions import Model

CHAIN_PLAIN, CHAIN_KEYED = 1, 2


class AuditEvent(Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint("chain_version IN (1, 2)", name="chain_version_known"),
        CheckConstraint(f"actor_type IN ({sql_values(ActorType)})", name="actor_type_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_type: Mapped[str] = mapped_column(String(16))  # ActorType
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    chain_version: Mapped[int] = mapped_column(Integer, default=CHAIN_KEYED, server_default="1")


class AuditHead(Model):
    """The newest event, sealed with the audit key: a chain cut short, or rewritten and
    re-hashed without the key, no longer ends where this record says. One row (id 1)."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(Integer)
    event_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
