"""What the report pages show, read from the report tables only (``portal.reporting.models``),
through the report session (a read replica when one is configured).

Every figure is for a range of reporting days (both ends included) and may be split by
one dimension (``Split``). The funnel and the outcomes are sums of daily counts, so a
conversion rate is "how many reached this step in the range" over "how many reached the
step before in the range": close to a cohort's conversion over ranges longer than a
journey takes, and never a scan of the events themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, select

from portal.policies.models import PolicyVersion
from portal.replica import report_session
from portal.reporting.aggregate import CURRENT, month_of
from portal.reporting.models import FUNNEL, Metric, ReportComment, ReportDaily, ReportPastDue, ReportRoll

ALL = ""  # the group of everything, when the figures are not split


class Split(StrEnum):
    NONE = "none"
    TIER = "tier"
    CHANNEL = "channel"
    POLICY_VERSION = "policy_version"
    AGENT = "agent"
    LANGUAGE = "language"
    WEEK = "week"


_COLUMNS = {
    Split.TIER: ReportDaily.tier,
    Split.CHANNEL: ReportDaily.channel,
    Split.POLICY_VERSION: ReportDaily.policy_version_id,
    Split.AGENT: ReportDaily.agent,
    Split.LANGUAGE: ReportDaily.language,
    Split.WEEK: ReportDaily.day,
}


def ratio(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """``part / whole`` as an exact fraction, or None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def week_of(day: date) -> date:
    """The Monday starting ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def sums(start: date, end: date, metrics: Iterable[Metric], split: Split) -> dict[Any, dict[str, tuple[int, Decimal]]]:
    """``{group: {metric: (count, amount)}}`` over the range; one grouped query."""
    column = _COLUMNS.get(split)
    keys = [ReportDaily.metric] + ([column] if column is not None else [])
    query = (
        select(*keys, func.sum(ReportDaily.count), func.sum(ReportDaily.amount))
        .where(ReportDaily.day >= start, ReportDaily.day <= end, ReportDaily.metric.in_([m.value for m in metrics]))
        .group_by(*keys)
    )
    found: dict[Any, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(lambda: [0, Decimal(0)]))
    for row in report_session().execute(query):
        metric, group = row[0], (row[1] if column is not None else ALL)
        if split == Split.WEEK and isinstance(group, date):
            group = week_of(group)
        found[group][metric][0] += int(row[-2] or 0)
        found[group][metric][1] += Decimal(row[-1] or 0)
    return {g: {m: (v[0], v[1]) for m, v in by.items()} for g, by in sorted(found.items(), key=lambda kv: str(kv[0]))}


# --- the funnel -----------------------------------------------------------------------------


@dataclass
class Step:
    metric: Metric
    count: int
    rate: Decimal | None  # of the step before
    overall: Decimal | None  # of the first step with any count
    dropped: int | None  # how many fewer than the step before


@dataclass
class FunnelGroup:
    group: Any
    steps: list[Step] = field(default_factory=list)


def funnel(start: date, end: date, split: Split) -> list[FunnelGroup]:
    groups = []
    for group, by_metric in sums(start, end, FUNNEL, split).items():
        steps: list[Step] = []
        first: int | None = None
        for metric in FUNNEL:
            count = by_metric.get(metric.value, (0, Decimal(0)))[0]
            before = steps[-1].count if steps else None
            if first is None and count:
                first = count
            steps.append(
                Step(
                    metric,
                    count,
                    ratio(count, before) if before else None,
                    ratio(count, first) if first else None,
                    before - count if before is not None else None,
                )
            )
        groups.append(FunnelGroup(group, steps))
    return groups


# --- outcomes -------------------------------------------------------------------------------

PLAN_OUTCOMES = (Metric.ACCEPTED, Metric.KEPT_CYCLE_3, Metric.COMPLETED, Metric.BROKEN)
PROMISES = (Metric.PROMISE_MADE, Metric.PROMISE_KEPT, Metric.PROMISE_BROKEN)
GUARDRAILS = (Metric.OPT_OUT, Metric.COMPLAINT, Metric.HARDSHIP_REQUEST)


@dataclass
class OutcomeGroup:
    group: Any
    counts: dict[str, int]
    kept_rate: Decimal | None  # kept to cycle 3 / accepted
    completed_rate: Decimal | None
    broken_rate: Decimal | None
    promise_kept_rate: Decimal | None  # kept / (kept + broken)
    ratings: int
    average_rating: Decimal | None


def outcomes(start: date, end: date, split: Split) -> list[OutcomeGroup]:
    metrics = (*PLAN_OUTCOMES, *PROMISES, *GUARDRAILS, Metric.RATING)
    groups = []
    for group, by_metric in sums(start, end, metrics, split).items():
        counts = {m.value: by_metric.get(m.value, (0, Decimal(0)))[0] for m in metrics}
        accepted = counts[Metric.ACCEPTED]
        judged = counts[Metric.PROMISE_KEPT] + counts[Metric.PROMISE_BROKEN]
        rating_sum = by_metric.get(Metric.RATING.value, (0, Decimal(0)))[1]
        groups.append(
            OutcomeGroup(
                group,
                counts,
                ratio(counts[Metric.KEPT_CYCLE_3], accepted),
                ratio(counts[Metric.COMPLETED], accepted),
                ratio(counts[Metric.BROKEN], accepted),
                ratio(counts[Metric.PROMISE_KEPT], judged),
                counts[Metric.RATING],
                (rating_sum / counts[Metric.RATING]).quantize(Decimal("0.01")) if counts[Metric.RATING] else None,
            )
        )
    return groups


@dataclass
class Recovery:
    currency: str
    payments: int
    recovered: Decimal
    book_balance: Decimal | None  # past-due balance on the first day of the range with a record
    share: Decimal | None


def recovery(start: date, end: date) -> list[Recovery]:
    """Money recovered per currency (amounts of different currencies never add up), and
    its share of the past-due balance as the first run in (or else before) the range saw it."""
    paid = (
        report_session()
        .execute(
            select(ReportDaily.currency, func.sum(ReportDaily.count), func.sum(ReportDaily.amount))
            .where(ReportDaily.metric == Metric.RECOVERED.value, ReportDaily.day >= start, ReportDaily.day <= end)
            .group_by(ReportDaily.currency)
        )
        .all()
    )
    book_day = (
        report_session()
        .execute(
            select(func.max(ReportDaily.day)).where(ReportDaily.metric == Metric.BOOK.value, ReportDaily.day <= start)
        )
        .scalar()
        or report_session()
        .execute(
            select(func.min(ReportDaily.day)).where(ReportDaily.metric == Metric.BOOK.value, ReportDaily.day <= end)
        )
        .scalar()
    )
    books: dict[str, Decimal] = {}
    if book_day is not None:
        books = {
            c: Decimal(b)
            for c, b in report_session().execute(
                select(ReportDaily.currency, func.sum(ReportDaily.amount))
                .where(ReportDaily.metric == Metric.BOOK.value, ReportDaily.day == book_day)
                .group_by(ReportDaily.currency)
            )
        }
    return [
        Recovery(c, int(n or 0), Decimal(a or 0), books.get(c), ratio(Decimal(a or 0), books.get(c) or 0))
        for c, n, a in sorted(paid)
    ]


@dataclass
class Cure:
    currency: str
    tier: str
    started: int  # fell past due in the range
    cured: int  # of those whose window has passed, current again within it
    rate: Decimal | None  # cured / (started - waiting)
    waiting: int = 0  # fell past due too recently for the window to have passed


def cures(start: date, end: date, within_days: int, as_of: date) -> list[Cure]:
    """Accounts that fell past due in the range, and how many of them were current again
    within ``within_days`` days, per currency and the tier they fell into.

    A spell that began less than ``within_days`` before ``as_of`` (the last day the runs
    have seen) has not had its window yet: it is counted as waiting and left out of the
    rate, which would otherwise fall for every recent range (right-censoring)."""
    spell = ReportPastDue
    cured = and_(spell.cured_on.is_not(None), spell.cured_on <= spell.started_on + within_days)
    if report_session().get_bind().dialect.name == "sqlite":  # dates are ISO text there
        cured = and_(
            spell.cured_on.is_not(None),
            func.julianday(spell.cured_on) - func.julianday(spell.started_on) <= within_days,
        )
    waiting = spell.started_on > as_of - timedelta(days=within_days)
    rows = (
        report_session()
        .execute(
            select(
                spell.currency,
                spell.tier,
                func.count(),
                func.count().filter(and_(cured, ~waiting)),
                func.count().filter(waiting),
            )
            .where(spell.started_on >= start, spell.started_on <= end)
            .group_by(spell.currency, spell.tier)
            .order_by(spell.currency, spell.tier)
        )
        .all()
    )
    return [Cure(c, t, int(n), int(k), ratio(k, n - w), int(w)) for c, t, n, k, w in rows]


@dataclass
class RollMatrix:
    month: date
    currency: str
    tiers: list[str]
    cells: dict[tuple[str, str], tuple[int, Decimal | None]]  # (from, to) → accounts, share of the row


def rolls(start: date, end: date, tier_order: dict[str, list[str]]) -> list[RollMatrix]:
    """The tier-to-tier matrix of each month starting in the range (the first run of a
    month against the first run of the month before)."""
    rows = (
        report_session()
        .execute(
            select(ReportRoll.month, ReportRoll.currency, ReportRoll.from_tier, ReportRoll.to_tier, ReportRoll.accounts)
            .where(ReportRoll.month >= month_of(start), ReportRoll.month <= end)
            .order_by(ReportRoll.month, ReportRoll.currency)
        )
        .all()
    )
    by_key: dict[tuple[date, str], dict[tuple[str, str], int]] = defaultdict(dict)
    for month, currency, before, now, accounts in rows:
        by_key[(month, currency)][(before, now)] = int(accounts)
    matrices = []
    for (month, currency), cells in by_key.items():
        seen = {t for pair in cells for t in pair}
        order = [CURRENT, *tier_order.get(currency, [])]
        tiers = [t for t in order if t in seen] + sorted(seen - set(order))
        totals = {t: sum(n for (f, _), n in cells.items() if f == t) for t in tiers}
        matrices.append(RollMatrix(month, currency, tiers, {k: (n, ratio(n, totals[k[0]])) for k, n in cells.items()}))
    return matrices


def comments(start: date, end: date, limit: int = 50) -> list[ReportComment]:
    """The latest comments in the range, newest first (already without card or phone numbers)."""
    return list(
        report_session()
        .execute(
            select(ReportComment)
            .where(ReportComment.day >= start, ReportComment.day <= end)
            .order_by(ReportComment.day.desc(), ReportComment.id.desc())
            .limit(limit)
        )
        .scalars()
    )


def version_numbers(ids: Iterable[int]) -> dict[int, int]:
    """Policy version ids → the numbers staff know them by."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = report_session().execute(select(PolicyVersion.id, PolicyVersion.number).where(PolicyVersion.id.in_(wanted)))
    return {i: n for i, n in rows}
