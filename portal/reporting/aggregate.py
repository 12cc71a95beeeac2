"""Folding the portal's events into the report tables, once a day, by the servicing run.

``refresh(day)`` is the run's last step. It first stamps what only a daily look can see
(a plan's first payment and third installment kept, an account falling past due or back to
current, the month's tiers), then replaces the ``report_daily`` rows and the comments of
``day`` and of the day before: the run may act early in its day, so the day before is
folded again once it is over. Re-running a day replaces its rows with the same figures
(the stamps already made keep their day).

Days are the portal's reporting days: midnight to midnight in ``BABEL_DEFAULT_TIMEZONE``
(Asia/Shanghai by default), the zone the run's verdicts are dated in.

Where each figure comes from (the README's "Results" section says the same for staff):

- link sent, delivered, opened, identity verified, offers viewed: the link's own stamps
  (``plan_links.<step>_at``, set once each from the outbox and the cardholder's visits);
  a self-started sign-in (``signin.succeeded`` with no link verified that day) counts as
  "identity verified" on the ``self`` channel;
- accepted: a plan accepted (``plans.accepted_at``) or a request sent (a plan created
  waiting for approval); first payment and kept to cycle 3: ``report_plan_milestones``;
  completed and broken: ``plans.ended_at`` with that state;
- promises made, kept, broken; opt-outs; complaints (a dispute raised); ratings: the case
  file's events; hardship requests: requests for a personalised plan;
- recovered: payments that count as repayments (``counts_as_repayment``) booked that day;
- book: accounts past due when the run acted, and their balance.

Dimensions: plans carry their own tier, policy version, language and channel (a link's
channel for a plan accepted through one, whose sender is the agent); link and account
events use the account's tier and the cardholder's language when the run folds them, and
the plan's policy version if the link led to one, else the currency's active version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Integer, and_, case, cast, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from portal.accounts.models import CardAccount, Cardholder
from portal.accounts.sql import balance, tier_index
from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.bulk import bulk_insert
from portal.cases.models import CaseEvent, CaseEventKind
from portal.domain.policy import Tier
from portal.domain.scrub import one_line_comment
from portal.extensions import db
from portal.links.models import PlanLink
from portal.locks import transaction_lock
from portal.payments.models import Payment, counts_as_repayment
from portal.plans.models import Plan, PlanInstallment, PlanState
from portal.policies.service import NoActivePolicy, active_version
from portal.reporting.models import (
    Metric,
    ReportAccountMonth,
    ReportComment,
    ReportDaily,
    ReportPastDue,
    ReportPlanMilestone,
    ReportRoll,
)
from portal.unit_of_work import unit_of_work

CURRENT = "current"  # the tier name of an account not past due
MAX_REBUILD_DAYS = 3 * 366
NO_TIER = ""
Key = tuple[str, str, str, int, str, str, str]  # metric, tier, channel, version, agent, language, currency


def reporting_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The first instant of ``day`` and of the next, in the reporting time zone."""
    zone = reporting_zone()
    return datetime.combine(day, time.min, zone), datetime.combine(day + timedelta(days=1), time.min, zone)


FOLD_LOCK = "reporting.fold"  # one fold at a time: two runs of a day, or a run and a rebuild


def refresh(day: date) -> None:
    """Stamp ``day``'s milestones and spells, then replace the rows of ``day`` and the day before.

    Each transaction first takes the fold lock, so a second run of the day started at the
    same time waits, then finds the stamps made and replaces the same rows with the same
    figures (its inserts never meet the first run's uncommitted rows)."""
    with unit_of_work():
        transaction_lock(FOLD_LOCK)
        book = _Book.load()
        stamp_milestones(day)
        stamp_past_due(day, book)
        snapshot_month(day, book)
    for each in (day - timedelta(days=1), day):
        with unit_of_work():
            transaction_lock(FOLD_LOCK)
            fold_day(each, book, with_book=each == day)


def rebuild(first: date, last: date) -> int:
    """Fold every day from ``first`` to ``last`` again (after an upgrade, or for a new
    metric); the stamps are not redone. Returns the number of days."""
    days = 0
    book = None
    day = first
    while day <= last:
        with unit_of_work():
            transaction_lock(FOLD_LOCK)
            book = book or _Book.load()
            fold_day(day, book, with_book=False)
        day += timedelta(days=1)
        days += 1
    return days


# --- what the book looks like now: tiers and active versions per currency ---------------------


class _Book:
    def __init__(self, tiers: dict[str, tuple[Tier, ...]], versions: dict[str, int]) -> None:
        self.tiers = tiers
        self.versions = versions

    @classmethod
    def load(cls) -> _Book:
        tiers: dict[str, tuple[Tier, ...]] = {}
        versions: dict[str, int] = {}
        for currency in db.session.execute(select(CardAccount.currency).distinct()).scalars():
            try:
                active = active_version(currency)
            except NoActivePolicy:
                continue
            tiers[currency], versions[currency] = active.policy.tiers, active.id
        return cls(tiers, versions)

    def tier_position(self, account: Any = CardAccount) -> ColumnElement[int]:
        """The account's tier as (currency-specific) position; -1 for none (current)."""
        if not self.tiers:
            return literal(-1, Integer())
        return case(
            *[(account.currency == c, tier_index(t, account, otherwise=-1)) for c, t in self.tiers.items()],
            else_=literal(-1, Integer()),
        )

    def tier_name(self, currency: str, position: int | str | None) -> str:
        if isinstance(position, str):
            return position
        tiers = self.tiers.get(currency, ())
        if position is None or position < 0 or position >= len(tiers):
            return CURRENT
        return tiers[position].name

    def version(self, currency: str, version_id: int | None) -> int:
        return version_id or self.versions.get(currency, 0)


# --- stamps ------------------------------------------------------------------------------------


def stamp_milestones(day: date) -> None:
    """Give every accepted plan a milestone row; stamp ``day`` on the first payment and
    on the first three installments (all, for a shorter plan) paid in full, when first seen."""
    milestone = ReportPlanMilestone
    known = select(milestone.plan_id).where(milestone.plan_id == Plan.id)
    db.session.execute(
        insert(milestone).from_select(
            ["plan_id"], select(Plan.id).where(Plan.accepted_at.is_not(None), ~exists(known))
        ),
        execution_options={"synchronize_session": False},
    )
    paid_any = exists(select(1).where(PlanInstallment.plan_id == milestone.plan_id, PlanInstallment.paid > 0))
    db.session.execute(
        update(milestone).where(milestone.first_payment_on.is_(None), paid_any).values(first_payment_on=day),
        execution_options={"synchronize_session": False},
    )
    unpaid = exists(
        select(1).where(
            PlanInstallment.plan_id == milestone.plan_id,
            PlanInstallment.number <= 3,
            PlanInstallment.paid < PlanInstallment.total,
        )
    )
    db.session.execute(
        update(milestone).where(milestone.kept_cycle_3_on.is_(None), paid_any, ~unpaid).values(kept_cycle_3_on=day),
        execution_options={"synchronize_session": False},
    )


def stamp_past_due(day: date, book: _Book) -> None:
    """Open a spell for each account past due without one; close (cure) the open spell of
    each account now current."""
    spell = ReportPastDue
    open_spell = select(1).where(spell.account_id == CardAccount.id, spell.cured_on.is_(None))
    rows = db.session.execute(
        select(CardAccount.id, CardAccount.currency, book.tier_position()).where(
            CardAccount.days_past_due > 0, ~exists(open_spell)
        )
    ).all()
    bulk_insert(
        spell.__table__,  # type: ignore[arg-type]
        [
            {"account_id": a, "currency": c, "tier": book.tier_name(c, t), "started_on": day, "cured_on": None}
            for a, c, t in rows
        ],
    )
    current = select(CardAccount.id).where(CardAccount.days_past_due == 0)
    db.session.execute(
        update(spell).where(spell.cured_on.is_(None), spell.account_id.in_(current)).values(cured_on=day),
        execution_options={"synchronize_session": False},
    )


def month_of(day: date) -> date:
    return day.replace(day=1)


def previous_month(month: date) -> date:
    return month_of(month - timedelta(days=1))


def snapshot_month(day: date, book: _Book) -> None:
    """At the first run of a month (or again on its first day), keep every account's tier
    and balance, and count the moves since last month's snapshot."""
    month = month_of(day)
    taken = db.session.execute(
        select(func.count()).select_from(ReportAccountMonth).where(ReportAccountMonth.month == month)
    ).scalar_one()
    if taken and day != month:
        return
    db.session.execute(delete(ReportAccountMonth).where(ReportAccountMonth.month == month))
    rows = db.session.execute(
        select(CardAccount.id, CardAccount.currency, book.tier_position(), balance(CardAccount))
    ).all()
    bulk_insert(
        ReportAccountMonth.__table__,  # type: ignore[arg-type]
        [
            {"month": month, "account_id": a, "currency": c, "tier": book.tier_name(c, t), "balance": b}
            for a, c, t, b in rows
        ],
    )
    count_rolls(month)


def count_rolls(month: date) -> None:
    before, now = aliased(ReportAccountMonth), aliased(ReportAccountMonth)
    db.session.execute(delete(ReportRoll).where(ReportRoll.month == month))
    moves = db.session.execute(
        select(now.currency, before.tier, now.tier, func.count(), func.sum(now.balance))
        .join(before, and_(before.account_id == now.account_id, before.month == previous_month(month)))
        .where(now.month == month)
        .group_by(now.currency, before.tier, now.tier)
    ).all()
    bulk_insert(
        ReportRoll.__table__,  # type: ignore[arg-type]
        [
            {"month": month, "currency": c, "from_tier": f, "to_tier": t, "accounts": n, "balance": b or Decimal(0)}
            for c, f, t, n, b in moves
        ],
    )


# --- one day's rows ------------------------------------------------------------------------------


def fold_day(day: date, book: _Book, *, with_book: bool) -> None:
    """Replace ``report_daily`` rows and comments of ``day`` (the ``book`` rows only when
    ``with_book``: the book is what the accounts look like now, true only of the run day)."""
    start, end = day_bounds(day)
    totals: dict[Key, list[Any]] = defaultdict(lambda: [0, Decimal(0)])

    def add(metric: Metric, rows: Iterable[Sequence[Any]]) -> None:
        for currency, tier, channel, version, agent, language, count, amount in rows:
            key = (
                metric.value,
                book.tier_name(currency, tier),
                _channel(channel),
                book.version(currency, version),
                agent or "",
                language or "",
                currency or "",
            )
            totals[key][0] += int(count)
            totals[key][1] += Decimal(amount or 0)

    for metric, column in _LINK_STEPS:
        add(metric, _link_rows(book, column, start, end))
    add(Metric.VERIFIED, _self_signin_rows(book, start, end))
    add(Metric.ACCEPTED, _plan_rows(or_(_within(Plan.accepted_at, start, end), _requested(start, end))))
    milestone = ReportPlanMilestone
    for metric, stamp in (
        (Metric.FIRST_PAYMENT, milestone.first_payment_on),
        (Metric.KEPT_CYCLE_3, milestone.kept_cycle_3_on),
    ):
        add(metric, _plan_rows(stamp == day, join_milestones=True))
    for metric, state in ((Metric.COMPLETED, PlanState.COMPLETED), (Metric.BROKEN, PlanState.BROKEN)):
        add(metric, _plan_rows(and_(Plan.state == state, _within(Plan.ended_at, start, end))))
    add(Metric.HARDSHIP_REQUEST, _plan_rows(and_(_requested(start, end), Plan.plan_type == "personalised")))
    for metric, kind in (
        (Metric.PROMISE_MADE, CaseEventKind.PROMISE),
        (Metric.PROMISE_KEPT, CaseEventKind.PROMISE_KEPT),
        (Metric.PROMISE_BROKEN, CaseEventKind.PROMISE_BROKEN),
        (Metric.OPT_OUT, CaseEventKind.OPTED_OUT),
    ):
        add(metric, _case_rows(book, kind, start, end))
    add(Metric.COMPLAINT, _complaint_rows(book, start, end))
    add(Metric.RECOVERED, _payment_rows(book, day))
    ratings = _ratings(start, end)
    add(
        Metric.RATING,
        (
            (r["currency"], r["tier"], r["channel"], r["version"], r["agent"], r["language"], 1, r["rating"])
            for r in ratings
        ),
    )
    if with_book:
        add(Metric.BOOK, _book_rows(book))

    keep_book = ReportDaily.metric != Metric.BOOK.value if not with_book else literal(True)
    db.session.execute(delete(ReportDaily).where(ReportDaily.day == day, keep_book))
    db.session.execute(delete(ReportComment).where(ReportComment.day == day))
    bulk_insert(
        ReportDaily.__table__,  # type: ignore[arg-type]
        [
            {
                "day": day,
                "metric": m,
                "tier": t,
                "channel": ch,
                "policy_version_id": v,
                "agent": a,
                "language": lang,
                "currency": cur,
                "count": n,
                "amount": amount,
            }
            for (m, t, ch, v, a, lang, cur), (n, amount) in totals.items()
        ],
    )
    bulk_insert(
        ReportComment.__table__,  # type: ignore[arg-type]
        [
            {
                "day": day,
                "step": Metric.ACCEPTED.value,
                "rating": r["rating"],
                "comment": r["comment"],
                "tier": book.tier_name(r["currency"], r["tier"]),
                "channel": _channel(r["channel"]),
                "policy_version_id": book.version(r["currency"], r["version"]),
                "language": r["language"] or "",
            }
            for r in ratings
            if r["comment"]
        ],
    )


_LINK_STEPS = (
    (Metric.LINK_SENT, PlanLink.sent_at),
    (Metric.DELIVERED, PlanLink.delivered_at),
    (Metric.OPENED, PlanLink.opened_at),
    (Metric.VERIFIED, PlanLink.verified_at),
    (Metric.OFFERS_VIEWED, PlanLink.offer_viewed_at),
)


def _channel(value: str | None) -> str:
    """Stored channel names as the pages show them: a self-service plan is self-started."""
    if not value:
        return ""
    return "self" if value == "self_service" else value


def _within(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _requested(start: datetime, end: datetime) -> ColumnElement[bool]:
    """A request sent that day: a plan made waiting for approval (it keeps ``hardship``)."""
    return and_(
        Plan.hardship.is_not(None),
        Plan.accepted_at.is_(None) | (Plan.accepted_at >= end),
        _within(Plan.created_at, start, end),
    )


DIMENSIONS = ("currency", "tier", "channel", "version", "agent", "language")


def _grouped(inner: Any, *, distinct_accounts: bool = False) -> list[Any]:
    """Count (and sum ``amount`` of) the rows of ``inner`` per dimension. The dimensions are
    computed in ``inner`` and grouped outside it: PostgreSQL does not see two copies of an
    expression with bound values (the tier CASE) as the same GROUP BY key."""
    sub = inner.subquery()
    keys = [sub.c[name] for name in DIMENSIONS]
    count = func.count(func.distinct(sub.c.account_id)) if distinct_accounts else func.count()
    query = select(*keys, count, func.coalesce(func.sum(sub.c.amount), 0)).group_by(*keys)
    return list(db.session.execute(query).all())


def _account_dims(book: _Book, channel: str = "") -> list[Any]:
    return [
        CardAccount.id.label("account_id"),
        CardAccount.currency.label("currency"),
        book.tier_position().label("tier"),
        literal(channel).label("channel"),
        literal(0).label("version"),
        literal("").label("agent"),
        Cardholder.locale.label("language"),
    ]


def _link_rows(book: _Book, column: Any, start: datetime, end: datetime) -> list[Any]:
    inner = (
        select(
            CardAccount.id.label("account_id"),
            CardAccount.currency.label("currency"),
            book.tier_position().label("tier"),
            PlanLink.channel.label("channel"),
            func.coalesce(Plan.policy_version_id, 0).label("version"),
            PlanLink.created_by.label("agent"),
            Cardholder.locale.label("language"),
            literal(0).label("amount"),
        )
        .select_from(PlanLink)
        .join(CardAccount, CardAccount.id == PlanLink.account_id)
        .join(Cardholder, Cardholder.id == CardAccount.cardholder_id)
        .outerjoin(Plan, Plan.id == PlanLink.plan_id)
        .where(_within(column, start, end))
    )
    return _grouped(inner)


def _self_signin_rows(book: _Book, start: datetime, end: datetime) -> list[Any]:
    """Sign-ins on the portal not through a link that day (one per account): the
    self-started journey's "identity verified"."""
    account_id = cast(AuditEvent.object_id, Integer)
    by_link = select(1).where(PlanLink.account_id == CardAccount.id, _within(PlanLink.verified_at, start, end))
    inner = (
        select(*_account_dims(book, "self"), literal(0).label("amount"))
        .select_from(AuditEvent)
        .join(CardAccount, CardAccount.id == account_id)
        .join(Cardholder, Cardholder.id == CardAccount.cardholder_id)
        .where(
            AuditEvent.action == Action.SignIn.SUCCEEDED.value,
            AuditEvent.object_type == "card_account",
            _within(AuditEvent.occurred_at, start, end),
            ~exists(by_link),
        )
    )
    return _grouped(inner, distinct_accounts=True)


def _case_rows(book: _Book, kind: CaseEventKind, start: datetime, end: datetime) -> list[Any]:
    inner = (
        select(*_account_dims(book), literal(0).label("amount"))
        .select_from(CaseEvent)
        .join(CardAccount, CardAccount.id == CaseEvent.account_id)
        .join(Cardholder, Cardholder.id == CardAccount.cardholder_id)
        .where(CaseEvent.kind == kind.value, _within(CaseEvent.created_at, start, end))
    )
    return _grouped(inner)


def _complaint_rows(book: _Book, start: datetime, end: datetime) -> list[Any]:
    """A dispute raised on the account (the flag care staff set when a cardholder contests
    the debt or complains): the closest record of a complaint the portal keeps. The flag is
    inside the event's JSON, read here (a few rows a day) rather than in two SQL dialects."""
    rows = db.session.execute(
        select(CaseEvent.data, CardAccount.currency, book.tier_position(), Cardholder.locale)
        .join(CardAccount, CardAccount.id == CaseEvent.account_id)
        .join(Cardholder, Cardholder.id == CardAccount.cardholder_id)
        .where(CaseEvent.kind == CaseEventKind.FLAG_SET.value, _within(CaseEvent.created_at, start, end))
    ).all()
    return [(c, t, "", 0, "", lang, 1, 0) for data, c, t, lang in rows if (data or {}).get("flag") == "dispute"]


def _payment_rows(book: _Book, day: date) -> list[Any]:
    inner = (
        select(*_account_dims(book), Payment.amount.label("amount"))
        .select_from(Payment)
        .join(CardAccount, CardAccount.id == Payment.account_id)
        .join(Cardholder, Cardholder.id == CardAccount.cardholder_id)
        .where(counts_as_repayment(), Payment.booking_date == day)
    )
    return _grouped(inner)


def _book_rows(book: _Book) -> list[Any]:
    inner = (
        select(*_account_dims(book), balance(CardAccount).label("amount"))
        .select_from(CardAccount)
        .join(Cardholder, Cardholder.id == CardAccount.cardholder_id)
        .where(CardAccount.days_past_due > 0)
    )
    return _grouped(inner)


def _plan_dims(link: Any) -> list[Any]:
    return [
        Plan.account_id.label("account_id"),
        Plan.currency.label("currency"),
        Plan.tier.label("tier"),
        func.coalesce(link.channel, Plan.channel).label("channel"),
        Plan.policy_version_id.label("version"),
        func.coalesce(link.created_by, "").label("agent"),
        Plan.locale.label("language"),
    ]


def _plan_rows(where: ColumnElement[bool], *, join_milestones: bool = False) -> list[Any]:
    link = aliased(PlanLink)
    inner = select(*_plan_dims(link), literal(0).label("amount")).select_from(Plan)
    if join_milestones:
        inner = inner.join(ReportPlanMilestone, ReportPlanMilestone.plan_id == Plan.id)
    return _grouped(inner.outerjoin(link, link.plan_id == Plan.id).where(where))


def _ratings(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Ratings given that day, with their plan's dimensions and the comment made one line
    without card or phone numbers."""
    rows = db.session.execute(
        select(CaseEvent.data, CardAccount.currency)
        .join(CardAccount, CardAccount.id == CaseEvent.account_id)
        .where(CaseEvent.kind == CaseEventKind.RATING.value, _within(CaseEvent.created_at, start, end))
    ).all()
    plan_ids = {int(d["plan"]) for d, _c in rows if isinstance((d or {}).get("plan"), int)}
    plans: dict[int, Any] = {}
    if plan_ids:
        link = aliased(PlanLink)
        found = db.session.execute(
            select(
                Plan.id,
                Plan.tier,
                func.coalesce(link.channel, Plan.channel),
                Plan.policy_version_id,
                func.coalesce(link.created_by, ""),
                Plan.locale,
            )
            .outerjoin(link, link.plan_id == Plan.id)
            .where(Plan.id.in_(plan_ids))
        ).all()
        plans = {row[0]: row[1:] for row in found}
    ratings = []
    for data, currency in rows:
        rating = (data or {}).get("rating")
        if not isinstance(rating, int) or not 1 <= rating <= 5:
            continue
        plan_id = (data or {}).get("plan")
        tier, channel, version, agent, language = (
            plans.get(plan_id, ("", "", 0, "", "")) if plan_id else ("", "", 0, "", "")
        )
        ratings.append(
            {
                "currency": currency,
                "tier": tier or NO_TIER,
                "channel": channel,
                "version": version,
                "agent": agent,
                "language": language,
                "rating": rating,
                "comment": one_line_comment(str((data or {}).get("comment") or "")),
            }
        )
    return ratings
