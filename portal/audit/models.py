"""Audit events: who did what to which object, when and from where, hash-chained.

Chain version 1 (events written before the chain was keyed) holds plain SHA-256 hashes;
version 2 holds HMAC-SHA-256 under ``PORTAL_AUDIT_KEY``, which is not in the database.
Both were chained when written, in id order. Version 3 events are written without a
lock: each carries a keyed MAC of its own content and a random nonce (``content_mac``)
from the start, and
a sealer later gives it its place in the chain (``position``) and its link (``prev_hash``,
``hash``). The chain's order is ``position``, not id: a transaction holding a smaller id
may commit after one with a larger id. An event with no position is pending.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.audit.actors import ActorType
from portal.db_types import UTCDateTime, sql_values
from portal.extensions import Model

CHAIN_PLAIN, CHAIN_KEYED, CHAIN_SEALED = 1, 2, 3


class AuditEvent(Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint("chain_version IN (1, 2, 3)", name="chain_version_known"),
        CheckConstraint(f"actor_type IN ({sql_values(ActorType)})", name="actor_type_known"),
        # A position and a link are given together, by the sealer; only new events wait for one.
        CheckConstraint(
            "(position IS NULL AND prev_hash IS NULL AND hash IS NULL AND chain_version = 3)"
            " OR (position IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL)",
            name="sealed_with_a_link",
        ),
        CheckConstraint(
            "chain_version < 3 OR (content_mac IS NOT NULL AND nonce IS NOT NULL)", name="new_events_carry_a_mac"
        ),
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
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    chain_version: Mapped[int] = mapped_column(Integer, default=CHAIN_SEALED, server_default="1")
    # A random nonce inside the MAC makes every event's MAC unique, even for two identical
    # events: a copied row (a replayed event) collides here, and verify looks for copies too.
    nonce: Mapped[str | None] = mapped_column(String(32))
    content_mac: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Unique, and indexed: the sealer finds pending events (NULL) and the head's successor here.
    position: Mapped[int | None] = mapped_column(Integer, unique=True)


class AuditHead(Model):
    """The newest sealed event, sealed with the audit key: a chain cut short, or rewritten
    and re-hashed without the key, no longer ends where this record says. One row (id 1)."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(Integer)
    event_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
