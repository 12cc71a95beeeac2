"""Reading for care staff: work queues by tier, account search, and the case file.

Tiers come from the active offer policy (their DPD ranges and names), never from code.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Integer, Select, SQLColumnExpression, and_, bindparam, false, func, or_, select
from sqlalchemy.orm import aliased, contains_eager, defer, joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from portal.accounts import sql as account_sql
from portal.accounts.models import CardAccount, Cardholder
from portal.accounts.service import newest_first, shown_payments
from portal.audit.actors import ActorType, actor_key
from portal.audit.names import actor_names
from portal.auth import load_account
from portal.cases.models import CaseEvent, CaseEventKind, Promise
from portal.db_types import utcnow
from portal.domain.budget import Budget
from portal.domain.policy import OfferPolicy, Tier
from portal.extensions import db
from portal.links.models import PlanLink
from portal.payments.models import Payment, counts_as_repayment
from portal.plans.models import Plan, PlanState
from portal.plans.progress import JUDGED_STATES, SHOWN_STATES, PlanProgress, plan_progress
from portal.plans.requests import paused_by, personalised_limits
from portal.policies.cache import load_policy
from portal.policies.models import PolicyVersion
from portal.policies.service import NoActivePolicy, active_version
from portal.replica import report_session
from portal.security import birth_date_hash

PAGE_SIZE = 25
PLAN_BROKEN = "plan_broken"  # a queue filter beside the flags: the latest plan broke
SORTS = ("dpd", "amount")


@dataclass
class Tiers:
    """The active policy of each currency (each currency has its own), read for its tiers."""

    by_currency: dict[str, OfferPolicy] = field(default_factory=dict)

    def names(self) -> list[str]:
        """Tier names in DPD order, across currencies."""
        first: dict[str, int] = {}
        for policy in self.by_currency.values():
            for tier in policy.tiers:
                first[tier.name] = min(first.get(tier.name, tier.min_dpd), tier.min_dpd)
        return sorted(first, key=lambda name: (first[name], name))

    def ranges(self, name: str) -> list[tuple[str, Tier]]:
        """The tiers by this name, with the currency whose policy holds each."""
        return [(c, t) for c, policy in self.by_currency.items() for t in policy.tiers if t.name == name]

    def span(self, name: str) -> tuple[int, int | None] | None:
        """The DPD range of a tier when every currency agrees on it, else None."""
        spans = {(t.min_dpd, t.max_dpd) for _, t in self.ranges(name)}
        return next(iter(spans)) if len(spans) == 1 else None

    def name_for(self, currency: str, dpd: int) -> str | None:
        policy = self.by_currency.get(currency)
        tier = policy.tier_for(dpd) if policy is not None else None
        return tier.name if tier is not None else None

    def __bool__(self) -> bool:
        return bool(self.by_currency)


def policy_tiers(on_file: list[str] | None = None) -> Tiers:
    """The tiers of each currency's active policy (currencies without one are left out),
    for the currencies ``on_file`` (default: those of the accounts on file)."""
    tiers = Tiers()
    for currency in currencies() if on_file is None else on_file:
        try:
            tiers.by_currency[currency] = load_policy(active_version(currency))
        except NoActivePolicy:
            continue
    return tiers


_CURRENCIES = select(CardAccount.currency).distinct().order_by(CardAccount.currency)


def currencies() -> list[str]:
    """The currencies of the accounts on file."""
    return list(report_session().execute(_CURRENCIES).scalars())


_TIER_SQL: dict[tuple[tuple[str, int, int | None], ...], ColumnElement[bool]] = {}


def _in_tier(ranges: list[tuple[str, Tier]]) -> ColumnElement[bool]:
    """Accounts in the tier by this name under their own currency's policy.

    Built once per set of ranges and kept (a SQL expression can be reused by any number of
    statements): the queue asks for every tier on every page."""
    key = tuple((currency, tier.min_dpd, tier.max_dpd) for currency, tier in ranges)
    found = _TIER_SQL.get(key)
    if found is None:
        parts = [and_(CardAccount.currency == currency, account_sql.in_tier(tier)) for currency, tier in ranges]
        found = or_(*parts) if parts else false()
        if len(_TIER_SQL) < 256:  # policies have a handful of tiers; never grow without bound
            _TIER_SQL[key] = found
    return found


@dataclass(frozen=True)
class QueueFilter:
    tier: str | None = None
    currency: str | None = None
    min_balance: Decimal | None = None
    max_balance: Decimal | None = None
    flag: str | None = None
    sort: str = "dpd"
    page: int = 1


@dataclass
class QueuePage:
    rows: list[CardAccount]
    total: int
    page: int
    pages: int
    tier: str | None
    counts: dict[str, int] = field(default_factory=dict)
    plan_broken: set[int] = field(default_factory=set)  # ids of the rows marked "plan broken"


def latest_plan_state(account: Any = CardAccount) -> Any:
    """The state of the account's latest plan that is open or ended by its payments
    (completed or broken), as a correlated scalar subquery: the queue marks an account
    "plan broken" when this is ``broken``, so a newer open plan clears the mark, and a
    request declined or cancelled after the break does not."""
    return (
        select(Plan.state)
        .where(Plan.account_id == account.id, Plan.state.in_(SHOWN_STATES))
        .order_by(Plan.id.desc())
        .limit(1)
        .correlate(account)
        .scalar_subquery()
    )


def _conditions(filters: QueueFilter, dialect: str) -> list[ColumnElement[bool]]:
    """The filters' conditions (not the tier's), the values as bind parameters
    (``currency``, ``min_balance``, ``max_balance``): a statement built from them serves
    every value."""
    conditions: list[ColumnElement[bool]] = [CardAccount.days_past_due >= 1]
    if filters.currency:
        conditions.append(CardAccount.currency == bindparam("currency"))
    balance = account_sql.balance()
    if filters.min_balance is not None:
        conditions.append(balance >= bindparam("min_balance"))
    if filters.max_balance is not None:
        conditions.append(balance <= bindparam("max_balance"))
    if filters.flag == PLAN_BROKEN:
        conditions.append(latest_plan_state() == PlanState.BROKEN)
    elif filters.flag == "none":
        conditions.append(account_sql.has_no_flags(dialect))
    elif filters.flag:
        conditions.append(account_sql.has_any_flag([filters.flag], dialect))
    return conditions


_QUEUE_SQL: dict[tuple[Any, ...], tuple[Select[Any], Select[Any]]] = {}


def _queue_statements(filters: QueueFilter, tiers: Tiers, tier: str | None, dialect: str) -> tuple[Any, Any]:
    """The queue's two statements for this shape of request (which tier, which filters
    are set, the sort, the tiers' ranges), built once and kept: building them, with a
    filtered count per tab, cost more than running them. Values are bind parameters."""
    names = tiers.names()
    key = (
        dialect,
        tier,
        tuple((name, _ranges_key(tiers.ranges(name))) for name in names),
        filters.currency is not None,
        filters.min_balance is not None,
        filters.max_balance is not None,
        filters.flag,
        filters.sort,
    )
    found = _QUEUE_SQL.get(key)
    if found is not None:
        return found
    # The tabs count each tier under the same filters (currency, balance, flag) as the page.
    shared = _conditions(filters, dialect)
    in_page = _in_tier(tiers.ranges(tier)) if tier else None
    counting = (
        select(
            func.count() if in_page is None else func.count().filter(in_page),
            *(func.count().filter(_in_tier(tiers.ranges(name))) for name in names),
        )
        .select_from(CardAccount)
        .where(*shared)
    )
    order: tuple[SQLColumnExpression[Any], ...]
    if filters.sort == "amount":
        order = (CardAccount.overdue_amount.desc(), CardAccount.days_past_due.desc(), CardAccount.id)
    else:
        order = (CardAccount.days_past_due.desc(), CardAccount.overdue_amount.desc(), CardAccount.id)
    rows = (
        select(CardAccount, latest_plan_state().label("plan_state"))
        .join(Cardholder)
        .options(contains_eager(CardAccount.cardholder))
        .where(*shared, *([] if in_page is None else [in_page]))
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset(bindparam("offset", type_=Integer))
    )
    if len(_QUEUE_SQL) < 256:  # a handful of tiers and filters; never grow without bound
        _QUEUE_SQL[key] = (counting, rows)
    return counting, rows


def _ranges_key(ranges: list[tuple[str, Tier]]) -> tuple[tuple[str, int, int | None], ...]:
    return tuple((currency, tier.min_dpd, tier.max_dpd) for currency, tier in ranges)


def work_queue(filters: QueueFilter, tiers: Tiers) -> QueuePage:
    """One page of overdue accounts, most days past due first (or largest overdue amount),
    and the count per tier: read on the replica when there is one (``portal.replica``); a
    queue a moment behind is still the right list to work from, and the case file a
    counsellor opens from it reads the primary."""
    # Two statements: the count of the page's tier and of every tab in one pass over the
    # matching accounts, then the page's rows with their holders.
    reads = report_session()
    names = tiers.names()
    tier = filters.tier if filters.tier in names else None
    counting, query = _queue_statements(filters, tiers, tier, reads.get_bind().dialect.name)
    values: dict[str, Any] = {
        "currency": filters.currency,
        "min_balance": filters.min_balance,
        "max_balance": filters.max_balance,
    }
    total, *tier_counts = reads.execute(counting, values).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    found = reads.execute(query, {**values, "offset": (page - 1) * PAGE_SIZE}).all()
    rows = [account for account, _state in found]
    broken = {account.id for account, state in found if state == PlanState.BROKEN}
    return QueuePage(rows, total, page, pages, tier, dict(zip(names, tier_counts, strict=True)), broken)


# --- search ---------------------------------------------------------------------


class SearchNeedsDobError(ValueError):
    """Last four digits alone identify too many people: a date of birth is needed."""


def _digits(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text or "") if ch.isdigit())


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_kind(text: str) -> str:
    """How a query will be read: last4, phone, reference or name (or empty)."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    digits = _digits(text)
    if not text:
        return "empty"
    if len(digits) == 4 and len(text.replace(" ", "")) == 4:
        return "last4"
    if len(digits) >= 6 and len(digits) >= len(text.replace(" ", "").replace("+", "").replace("-", "")) - 1:
        return "phone"
    return "name_or_reference"


def _birth_date_hash(born: date) -> str:
    return birth_date_hash(born, current_app.config["CARD_HASH_KEY"])


def search_accounts(text: str, date_of_birth: date | None, limit: int = 50) -> tuple[str, list[CardAccount]]:
    """Find accounts by name, phone, account reference, or last four digits WITH date of birth."""
    text = unicodedata.normalize("NFKC", text or "").strip()[:100]
    kind = search_kind(text)
    query = select(CardAccount).join(Cardholder)
    if kind == "empty":
        return kind, []
    if kind == "last4":
        if date_of_birth is None:
            raise SearchNeedsDobError
        query = query.where(
            CardAccount.card_last4 == _digits(text), Cardholder.date_of_birth_hash == _birth_date_hash(date_of_birth)
        )
    elif kind == "phone":
        stored = func.replace(
            func.replace(func.replace(func.replace(Cardholder.phone, " ", ""), "-", ""), "+", ""), "(", ""
        )
        query = query.where(stored.like(f"%{_digits(text)}%"))
    else:
        if len(text) < 2:
            return kind, []
        pattern = f"%{_like_escape(text.casefold())}%"
        query = query.where(
            or_(
                func.lower(Cardholder.full_name).like(pattern, escape="\\"),
                func.lower(CardAccount.reference) == text.casefold(),
            )
        )
        if date_of_birth is not None:
            query = query.where(Cardholder.date_of_birth_hash == _birth_date_hash(date_of_birth))
    query = query.order_by(CardAccount.days_past_due.desc(), CardAccount.id).limit(limit)
    return kind, list(db.session.execute(query).scalars())


# --- the case file ----------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One line of the timeline: a case event or a payment."""

    at: datetime
    kind: str
    data: dict[str, Any]
    actor_type: str
    actor_id: str | None

    @property
    def actor_key(self) -> str:
        return actor_key(self.actor_type, self.actor_id)


@dataclass
class CaseFile:
    account: CardAccount
    holder: Cardholder
    tier: str | None
    reason: str | None
    timeline: list[Entry]
    plans: list[Plan]
    promises: list[Promise]
    links: list[Any]
    # Actor keys of the timeline and of the plans' deciders → what staff read (names and roles).
    names: dict[str, str]
    progress: dict[int, PlanProgress] = field(default_factory=dict)  # plan id → judged today
    payments: list[Payment] = field(default_factory=list)  # the latest, reversed ones included
    plan_broken: bool = False  # the account's latest plan broke, and no newer one is open
    # The plans' policy versions, held while the page renders: the session keeps only weak
    # references, and each plan's label reads its version from there (plan_policy_label).
    versions: list[PolicyVersion] = field(default_factory=list)


# The case file's statements, built once (building a statement and its options costs
# more than SQLAlchemy's compiled cache then saves); the account id is a parameter.
CASE_EVENTS = 500  # the newest case events on the timeline
TIMELINE_PAYMENTS = 200  # the newest payments that count, on the timeline
LISTED_PAYMENTS = 10  # the newest payments shown (reversed ones too), in their own panel
LINKS = 50


@cache
def _case_statements() -> dict[str, Any]:
    account_id = bindparam("account_id", type_=Integer)
    # One statement for both lists of payments: every payment shown (reversed ones too),
    # ranked newest first, and among those that count as repayments; a row is kept when
    # it is among the newest shown for the panel, or the newest that count for the timeline.
    counts = counts_as_repayment().label("counts")
    ranked = (
        select(
            Payment,
            counts,
            func.row_number().over(order_by=newest_first(Payment)).label("newest"),
            func.row_number().over(partition_by=counts_as_repayment(), order_by=newest_first(Payment)).label("rank"),
        )
        .where(Payment.account_id == account_id, shown_payments(Payment))
        .subquery()
    )
    payment = aliased(Payment, ranked)
    return {
        "events": select(CaseEvent)
        .where(CaseEvent.account_id == account_id)
        .order_by(CaseEvent.created_at.desc(), CaseEvent.id.desc())
        .limit(CASE_EVENTS),
        "payments": select(payment, ranked.c.counts)
        .where(or_(ranked.c.newest <= LISTED_PAYMENTS, and_(ranked.c.counts, ranked.c.rank <= TIMELINE_PAYMENTS)))
        .order_by(ranked.c.newest),
        # With the policy version each plan was made under (its label on the page reads
        # it from the session), but not that version's document.
        "plans": select(Plan, PolicyVersion)
        .outerjoin(PolicyVersion, PolicyVersion.id == Plan.policy_version_id)
        .where(Plan.account_id == account_id)
        .order_by(Plan.id.desc())
        .options(joinedload(Plan.installments), defer(PolicyVersion.document)),
        "promises": select(Promise).where(Promise.account_id == account_id).order_by(Promise.id.desc()),
        # With each link's message: until sent, its status is the message's (held, blocked…).
        "links": select(PlanLink)
        .where(PlanLink.account_id == account_id)
        .order_by(PlanLink.id.desc())
        .limit(LINKS)
        .options(joinedload(PlanLink.message)),
    }


def _read(name: str, account_id: int) -> list[Any]:
    return list(db.session.execute(_case_statements()[name], {"account_id": account_id}).scalars())


def account_links(account_id: int) -> list[Any]:
    return _read("links", account_id)


def case_file(account_id: int, account: CardAccount | None = None) -> CaseFile | None:
    """Everything the case page shows of one account (None: no such account); ``account``
    when the caller has loaded it already, with its holder."""
    account = account or load_account(account_id, "cardholder")
    if account is None:
        return None
    tiers = policy_tiers([account.currency])  # its tier is named by its own currency's policy
    events = _read("events", account_id)
    shown = db.session.execute(_case_statements()["payments"], {"account_id": account_id}).all()
    payments = [p for p, counts in shown if counts][:TIMELINE_PAYMENTS]
    with_versions = db.session.execute(_case_statements()["plans"], {"account_id": account_id}).unique().all()
    plans = [plan for plan, _version in with_versions]
    promises = _read("promises", account_id)
    links = _read("links", account_id)

    timeline = [Entry(e.created_at, e.kind, e.data or {}, e.actor_type, e.actor_id) for e in events]
    timeline += [
        Entry(p.paid_at, "payment", {"amount": p.amount, "method": p.method}, ActorType.SYSTEM, None) for p in payments
    ]
    names = actor_names([entry.actor_key for entry in timeline] + [p.decided_by for p in plans])
    timeline.sort(key=lambda entry: entry.at, reverse=True)

    reason = next((e.data.get("reason") for e in events if e.kind == CaseEventKind.REASON and e.data), None)
    tier = tiers.name_for(account.currency, account.days_past_due)
    today = utcnow().astimezone(ZoneInfo(account.time_zone)).date()
    progress = {
        plan.id: plan_progress(plan, today, broken_reason=_broken_reason(events, plan.id))
        for plan in plans
        if plan.state in JUDGED_STATES
    }
    latest = next((plan for plan in plans if plan.state in SHOWN_STATES), None)
    return CaseFile(
        account,
        account.cardholder,
        tier,
        reason,
        timeline,
        plans,
        promises,
        links,
        names,
        progress=progress,
        payments=[p for p, _counts in shown[:LISTED_PAYMENTS]],
        plan_broken=latest is not None and latest.state == PlanState.BROKEN,
        versions=[version for _plan, version in with_versions if version is not None],
    )


def _broken_reason(events: list[CaseEvent], plan_id: int) -> str | None:
    """The reason the daily run wrote when it broke the plan (case event ``plan_broken``)."""
    for event in events:
        if event.kind == "plan_broken" and (event.data or {}).get("plan_id") == plan_id:
            return (event.data or {}).get("reason")
    return None


def pending_approvals() -> list[Approval]:
    """Every request waiting for approval, oldest first, in a fixed number of queries:
    the plans with their installments, then their accounts (with cardholders) and policy
    versions, which :func:`approval_view` then finds in the session."""
    query = (
        select(Plan)
        .where(Plan.state == PlanState.PENDING_APPROVAL)
        .order_by(Plan.created_at, Plan.id)
        .options(selectinload(Plan.installments))
    )
    plans = list(db.session.execute(query).scalars())
    if not plans:
        return []
    # Held here while the views are built: the session's identity map keeps no object
    # nobody references.
    accounts = db.session.execute(
        select(CardAccount)
        .where(CardAccount.id.in_({plan.account_id for plan in plans}))
        .options(joinedload(CardAccount.cardholder))
    ).scalars()
    versions = db.session.execute(
        select(PolicyVersion).where(PolicyVersion.id.in_({plan.policy_version_id for plan in plans}))
    ).scalars()
    loaded = (list(accounts), list(versions))
    views = [approval_view(plan) for plan in plans]
    del loaded
    return views


@dataclass(frozen=True)
class Approval:
    """A personalised-plan request as a supervisor weighs it."""

    plan: Plan
    account: CardAccount
    reason: str | None
    figures: list[tuple[str, Decimal]]
    income: Decimal | None
    costs: Decimal | None
    disposable: Decimal | None
    monthly: Decimal | None
    months: int
    first_due: date | None = None
    paused: bool = False  # a dispute (or another blocking flag) pauses approval
    max_tenor: int = 0
    max_pause: int = 0


def approval_view(plan: Plan) -> Approval:
    hardship = plan.hardship or {}
    raw = hardship.get("budget") or {}
    figures: list[tuple[str, Decimal]] = []
    for name, value in raw.items() if isinstance(raw, dict) else ():
        try:
            figures.append((str(name), Decimal(str(value))))
        except ArithmeticError:
            continue
    try:
        budget = Budget(**dict(figures)) if figures else None
    except (TypeError, ValueError):
        budget = None
    totals = [i.total for i in plan.installments]
    account = db.session.get(CardAccount, plan.account_id)
    assert account is not None
    limits = personalised_limits(plan) if plan.plan_type == "personalised" else None
    return Approval(
        plan=plan,
        account=account,
        reason=hardship.get("reason"),
        figures=[f for f in figures if f[1]],
        income=budget.income if budget else None,
        costs=budget.costs if budget else None,
        disposable=budget.disposable if budget else None,
        monthly=max(totals) if totals else None,
        months=len(totals),
        first_due=plan.installments[0].due_date if plan.installments else None,
        paused=paused_by(account) is not None,
        max_tenor=limits.max_tenor if limits else 0,
        max_pause=limits.max_pause_months if limits else 0,
    )
