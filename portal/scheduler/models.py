"""What the scheduler remembers of each job: the last due time it completed, and a failure."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime
from portal.extensions import Model


class SchedulerJob(Model):
    """One row per job (``portal.scheduler.jobs``). ``done_slot`` is the due time of the
    latest run that finished: a scheduler runs a job only for a later due time, so two
    schedulers (or one restarted) never run the same due time twice."""

    __tablename__ = "scheduler_jobs"
    __table_args__ = (CheckConstraint("runs >= 0", name="runs_non_negative"),)

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    done_slot: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    runs: Mapped[int] = mapped_column(Integer, default=0)
    last_result: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(String(200))
    # After a failure, the next try waits until then (not every minute).
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
