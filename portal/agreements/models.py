"""The signed written agreement of a plan: reference, where its signed PDF is, and its digest."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime, sql_values, utcnow
from portal.extensions import Model
from portal.plans.models import Plan


class AgreementState(StrEnum):
    PENDING = "pending"
    SIGNED = "signed"


class Agreement(Model):
    """One per plan. ``pending`` until the PDF is rendered and signed, then ``signed``
    with the SHA-256 (hex) of the exact bytes every download returns, and the bytes
    themselves (``pdf``) or the key of the object that holds them (``pdf_key``, when the
    deployment keeps agreements in an object store: ``portal.integrations.storage``)."""

    __tablename__ = "agreements"
    __table_args__ = (
        CheckConstraint(f"state IN ({sql_values(AgreementState)})", name="state_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        CheckConstraint(
            "state = 'pending' OR ((pdf IS NOT NULL OR pdf_key IS NOT NULL) "
            "AND sha256 IS NOT NULL AND signed_at IS NOT NULL)",
            name="signed_has_document",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), unique=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    state: Mapped[str] = mapped_column(String(8), default=AgreementState.PENDING)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    pdf_key: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    # When the outbox worker may try a pending agreement again (backoff after failures).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    plan: Mapped[Plan] = relationship()
