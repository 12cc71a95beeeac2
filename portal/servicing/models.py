"""One row per day the servicing run acted as, so staff and operators can see what ran."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, Integer
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime
from portal.extensions import Model


class ServicingRun(Model):
    """The run for ``day``. A second run of the same day adds to the same row: ``runs``
    counts them, ``counts`` holds the totals (a re-run of a finished day adds zeros; a
    re-run after a crash adds what the first run had not reached), ``finished_at`` is NULL
    while a run is under way or if it stopped part-way."""

    __tablename__ = "servicing_runs"
    __table_args__ = (CheckConstraint("runs >= 1", name="runs_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    runs: Mapped[int] = mapped_column(Integer, default=1)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
