"""Versions of the offer policy. The document is the domain ``OfferPolicy`` as JSON
(read it with ``portal.policies.cache.load_policy``).

There is one line of versions per currency (the limits are amounts in that currency).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, sql_values, utcnow
from portal.domain.policy import OfferPolicy
from portal.extensions import Model


class PolicyState(StrEnum):
    """draft → pending (submitted) → active, or scheduled (approved for a later date) →
    active → retired; or rejected. Back from pending to draft when withdrawn. A pending
    version may instead be approved as a challenger in an experiment (portal.experiments):
    challenger → retired when the experiment stops, or → active when it is promoted."""

    DRAFT = "draft"
    PENDING = "pending"
    ACTIVE = "active"
    SCHEDULED = "scheduled"
    RETIRED = "retired"
    REJECTED = "rejected"
    CHALLENGER = "challenger"


class PolicyVersion(Model):
    __tablename__ = "policy_versions"
    __table_args__ = (
        CheckConstraint(f"state IN ({sql_values(PolicyState)})", name="state_known"),
        # At most one active version per currency at any time, enforced by the database.
        Index(
            "uq_policy_versions_one_active",
            "currency",
            unique=True,
            sqlite_where=text(f"state = '{PolicyState.ACTIVE.value}'"),
            postgresql_where=text(f"state = '{PolicyState.ACTIVE.value}'"),
        ),
        # Maker-checker, also at the database: nobody approves their own draft.
        CheckConstraint("approver IS NULL OR approver <> author OR author = 'system'", name="maker_is_not_checker"),
        # The look-up of due scheduled versions (and of the next one, for the cache).
        Index("ix_policy_versions_state_effective", "state", "effective_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    # A policy's amount limits are in one currency (OfferPolicy.currency, copied here for
    # queries); each currency has its own line of versions and its own active one.
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(120))
    approver: Mapped[str | None] = mapped_column(String(120))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    effective_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The approval workflow (portal.policies.workflow). Author, submitter and approver
    # are actor keys such as "staff:12" (see portal.audit.actors).
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("policy_versions.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str | None] = mapped_column(String(120))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # approved or rejected
    decision_comment: Mapped[str | None] = mapped_column(Text)


def current_document(version: PolicyVersion) -> dict[str, Any]:
    """The version's document in today's shape: a field added to the policy since the
    version was stored (the missed-payment rules) appears with the default it has always
    meant, so the editor and the diffs compare like with like."""
    return OfferPolicy.from_dict(version.document).to_dict()
