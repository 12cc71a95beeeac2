"""Outcome rates observed per tier, from the report aggregates, for the impact preview.

Over the ``days`` before ``until`` in one currency: ``accepted`` plans (accepted or
requested) and plans ``kept`` to the third installment, per tier, from ``report_daily``;
``base`` accounts past due in the tier as the first run in the window recorded them.
``take_up`` = accepted ÷ base, ``kept_rate`` = kept ÷ accepted: flows over the same
window, not followed cohorts, so they are estimates that firm up as the window fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from portal.replica import report_session
from portal.reporting.models import Metric, ReportDaily
from portal.reporting.queries import ratio

WINDOW_DAYS = 180


@dataclass(frozen=True)
class Observed:
    tier: str
    base: int  # accounts past due in the tier at the start of the window
    accepted: int
    kept: int
    take_up: Decimal | None
    kept_rate: Decimal | None


def observed_rates(currency: str, until: date, days: int = WINDOW_DAYS) -> dict[str, Observed]:
    since = until - timedelta(days=days - 1)
    session = report_session()
    in_window = (ReportDaily.currency == currency, ReportDaily.day >= since, ReportDaily.day <= until)
    counts: dict[tuple[str, str], int] = {
        (metric, tier): int(n)
        for metric, tier, n in session.execute(
            select(ReportDaily.metric, ReportDaily.tier, func.sum(ReportDaily.count))
            .where(*in_window, ReportDaily.metric.in_([Metric.ACCEPTED.value, Metric.KEPT_CYCLE_3.value]))
            .group_by(ReportDaily.metric, ReportDaily.tier)
        )
    }
    book_day = session.execute(
        select(func.min(ReportDaily.day)).where(*in_window, ReportDaily.metric == Metric.BOOK.value)
    ).scalar()
    base: dict[str, int] = {}
    if book_day is not None:
        base = {
            tier: int(n)
            for tier, n in session.execute(
                select(ReportDaily.tier, func.sum(ReportDaily.count))
                .where(ReportDaily.currency == currency, ReportDaily.day == book_day, ReportDaily.metric == "book")
                .group_by(ReportDaily.tier)
            )
        }
    tiers = {tier for _metric, tier in counts} | set(base)
    found = {}
    for tier in tiers:
        accepted = counts.get((Metric.ACCEPTED.value, tier), 0)
        kept = counts.get((Metric.KEPT_CYCLE_3.value, tier), 0)
        found[tier] = Observed(
            tier, base.get(tier, 0), accepted, kept, ratio(accepted, base.get(tier, 0)), ratio(kept, accepted)
        )
    return found
