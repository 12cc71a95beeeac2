"""Questions cardholders asked, kept so staff can see which ones our guides do not answer.

A row holds no account, no session and no address: the question (with card, phone and
identity numbers removed), its language, what the answer was and when. Rows older than
``QUESTION_RETENTION_DAYS`` are deleted by ``flask portal answers prune``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.answers.rules import Escalation
from portal.db_types import ExactDecimal, UTCDateTime, sql_values, utcnow
from portal.extensions import Model

ANSWER_LOCALES = ("en", "zh_Hans", "zh_Hant")


class AskedQuestion(Model):
    __tablename__ = "asked_questions"
    __table_args__ = (
        Index("ix_asked_questions_confident_time", "confident", "asked_at"),
        Index("ix_asked_questions_asked_at", "asked_at"),
        CheckConstraint(f"locale IN ({', '.join(repr(x) for x in ANSWER_LOCALES)})", name="locale_known"),
        CheckConstraint(f"escalate IS NULL OR escalate IN ({sql_values(Escalation)})", name="escalate_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    locale: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(Text)  # scrubbed (portal.domain.scrub.scrub_identifiers)
    grouped: Mapped[str] = mapped_column(String(500))  # normalised: how staff see repeats counted together
    topic: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[Decimal] = mapped_column(ExactDecimal(9, 3))
    confident: Mapped[bool] = mapped_column(Boolean)
    escalate: Mapped[str | None] = mapped_column(String(16))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
