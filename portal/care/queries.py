"""Reading for care staff: work queues by tier, account search, and the case file.

Tiers come from the active offer policy (their DPD ranges, balance bands and names),
never from code.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext
from sqlalchemy import (
    Integer,
    Row,
    Select,
    SQLColumnExpression,
    Text,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from portal.accounts import sql as account_sql
from portal.accounts.lookup_keys import email_key
from portal.accounts.models import CardAccount, Cardholder
from portal.accounts.service import newest_first, shown_payments
from portal.audit.actors import ActorType, actor_key
from portal.audit.names import actor_names
from portal.auth import load_account
from portal.care.case_details import DueDates, case_reason, due_dates, link_hold
from portal.care.models import CaseState
from portal.care.one_read import Lists, lists_statement, ranked, read_lists
from portal.cases.models import CaseEvent, Promise, PromiseState
from portal.db_types import UTCDateTime, one_of, utcnow
from portal.domain.budget import Budget
from portal.domain.policy import OfferPolicy, Tier
from portal.extensions import db
from portal.links.models import PlanLink
from portal.links.status import LinkView, MessageView
from portal.notifications.models import OutboxMessage
from portal.payments.models import Payment, counts_as_repayment
from portal.plans.models import Plan, PlanInstallment, PlanState
from portal.plans.progress import (
    JUDGED_STATES,
    SHOWN_STATES,
    PlanProgress,
    ShownInstallment,
    ShownPlan,
    plan_progress,
)
from portal.plans.requests import paused_by, personalised_limits
from portal.policies.cache import load_policy
from portal.policies.models import PolicyVersion
from portal.policies.service import NoActivePolicy, active_version
from portal.replica import report_session
from portal.security import birth_date_hash, card_hash, luhn_valid
from portal.staff.models import StaffUser

PAGE_SIZE = 25
PLAN_BROKEN = "plan_broken"  # a queue filter beside the flags: the latest plan broke
SORTS = ("dpd", "amount")


@dataclass
class Tiers:
    """The active policy of each currency (each currency has its own), read for its tiers.

    Its names and ranges are worked out once (the queue asks for them in the view, for its
    statements and for every tab): ``by_currency`` is complete when it is made
    (:func:`policy_tiers`) and not changed after."""

    by_currency: dict[str, OfferPolicy] = field(default_factory=dict)
    _names: list[str] | None = field(default=None, init=False, repr=False, compare=False)
    _ranges: dict[str, list[tuple[str, Tier]]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def names(self) -> list[str]:
        """Tier names in DPD order (then balance band), across currencies."""
        if self._names is None:
            first: dict[str, tuple[int, Decimal]] = {}
            for policy in self.by_currency.values():
                for tier in policy.tiers:
                    here = (tier.min_dpd, tier.balance_from)
                    first[tier.name] = min(first.get(tier.name, here), here)
            self._names = sorted(first, key=lambda name: (first[name], name))
        return list(self._names)

    def ranges(self, name: str) -> list[tuple[str, Tier]]:
        """The tiers by this name, with the currency whose policy holds each."""
        found = self._ranges.get(name)
        if found is None:
            found = [(c, t) for c, policy in self.by_currency.items() for t in policy.tiers if t.name == name]
            self._ranges[name] = found
        return list(found)

    def span(self, name: str) -> tuple[int, int | None] | None:
        """The DPD range of a tier when every currency agrees on it, else None."""
        spans = {(t.min_dpd, t.max_dpd) for _, t in self.ranges(name)}
        return next(iter(spans)) if len(spans) == 1 else None

    def band(self, name: str) -> tuple[Decimal, Decimal | None] | None:
        """The balance band of a tier when it has one and every currency agrees, else None."""
        bands = {(t.balance_from, t.balance_below) for _, t in self.ranges(name)}
        found = next(iter(bands)) if len(bands) == 1 else None
        return found if found is not None and found != (Decimal(0), None) else None

    def name_for(self, account: CardAccount | Row[Any]) -> str | None:
        """The account's tier under its own currency's policy (``OfferPolicy.tier_for``)."""
        policy = self.by_currency.get(account.currency)
        tier = policy.tier_for(account.days_past_due, account.balance) if policy is not None else None
        return tier.name if tier is not None else None

    def __bool__(self) -> bool:
        return bool(self.by_currency)


def policy_tiers(on_file: list[str] | None = None) -> Tiers:
    """The tiers of each currency's active policy (currencies without one are left out),
    for the currencies ``on_file`` (default: those of the accounts on file)."""
    by_currency = {}
    for currency in currencies() if on_file is None else on_file:
        try:
            by_currency[currency] = load_policy(active_version(currency))
        except NoActivePolicy:
            continue
    return Tiers(by_currency)


def _currencies_statement() -> Select[Any]:
    """The distinct currencies by skipping along ``ix_card_accounts_currency`` (a
    recursive "next currency after this one"): a handful of index probes, where DISTINCT
    would read every account on every queue page."""
    first = select(func.min(CardAccount.currency).label("currency")).cte("on_file", recursive=True)
    after = select(func.min(CardAccount.currency)).where(CardAccount.currency > first.c.currency).scalar_subquery()
    found = first.union_all(select(after).where(first.c.currency.is_not(None)))
    return select(found.c.currency).where(found.c.currency.is_not(None)).order_by(found.c.currency)


_CURRENCIES = _currencies_statement()


def report_connection() -> Connection:
    """The connection of the report session (``portal.replica``), for statements that read
    columns: without the ORM's per-statement work, about half the CPU of ``execute`` on
    the session. Without a replica it is the request's own session, which is flushed
    first, as ``execute`` would have (the session's connection does not)."""
    reads = report_session()
    reads.flush()  # nothing to write: no statement (and none allowed on the replica)
    return reads.connection()


def currencies() -> list[str]:
    """The currencies of the accounts on file."""
    return list(report_connection().execute(_CURRENCIES).scalars())


_TIER_SQL: dict[tuple[tuple[Any, ...], ...], ColumnElement[bool]] = {}


def _in_tier(ranges: list[tuple[str, Tier]]) -> ColumnElement[bool]:
    """Accounts in the tier by this name under their own currency's policy.

    Built once per set of ranges and kept (a SQL expression can be reused by any number of
    statements): the queue asks for every tier on every page."""
    key = _ranges_key(ranges)
    found = _TIER_SQL.get(key)
    if found is None:
        parts = [and_(CardAccount.currency == currency, account_sql.in_tier(tier)) for currency, tier in ranges]
        found = or_(*parts) if parts else false()
        if len(_TIER_SQL) < 256:  # policies have a handful of tiers; never grow without bound
            _TIER_SQL[key] = found
    return found


def tier_condition(tiers: Tiers, name: str) -> ColumnElement[bool]:
    """Accounts in the tier ``name`` under their own currency's policy."""
    return _in_tier(tiers.ranges(name))


@dataclass(frozen=True)
class QueueFilter:
    tier: str | None = None
    currency: str | None = None
    min_balance: Decimal | None = None
    max_balance: Decimal | None = None
    flag: str | None = None
    sort: str = "dpd"
    page: int = 1
    state: str | None = None  # one of STATES
    owner: str | None = None  # one of OWNERS
    outcome: str | None = None  # the last contact's outcome
    next_action: str | None = None  # one of NEXT_ACTIONS
    me: int | None = None  # the member of staff asking (for owner "mine")


# The queue's per-row states and their filters (labels: portal.care.workbench_labels).
STATES = ("on_plan", "plan_broken", "promise_pending", "request_pending", "disputed", "opted_out")
OWNERS = ("mine", "unowned", "owned")
NEXT_ACTIONS = ("due", "later", "none")
OPTED_OUT_FLAGS = ("optout_sms", "optout_email", "do_not_contact")


# What a queue row shows of an account, read as columns (not ORM objects) with its
# balance (``account_sql.balance``, the SQL twin of ``CardAccount.balance``) and its
# holder's ``full_name``: the row answers what the page and ``Tiers.name_for`` ask.
QUEUE_ACCOUNT_COLUMNS = ("id", "reference", "currency", "days_past_due", "overdue_amount", "flags")


@dataclass(frozen=True)
class QueueRow:
    """One row of the queue: the account and what the workbench knows of its case."""

    account: Row[Any]  # QUEUE_ACCOUNT_COLUMNS, balance, full_name
    states: tuple[str, ...]
    last_contact_at: datetime | None
    last_outcome: str | None
    owner: str | None  # the owner's name, while they own it
    next_action_at: datetime | None


@dataclass
class QueuePage:
    rows: list[Row[Any]]  # QueueRow.account of each row
    total: int
    page: int
    pages: int
    tier: str | None
    counts: dict[str, int] = field(default_factory=dict)
    plan_broken: set[int] = field(default_factory=set)  # ids of the rows marked "plan broken"
    details: list[QueueRow] = field(default_factory=list)


def latest_plan_state(account: Any = CardAccount) -> Any:
    """The state of the account's latest plan that is open or ended by its payments
    (completed or broken), as a correlated scalar subquery: the queue marks an account
    "plan broken" when this is ``broken``, so a newer open plan clears the mark, and a
    request declined or cancelled after the break does not."""
    return (
        select(Plan.state)
        .where(Plan.account_id == account.id, one_of(Plan.state, SHOWN_STATES))
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
        conditions.append(plan_broken())
    elif filters.flag == "none":
        conditions.append(account_sql.has_no_flags(dialect))
    elif filters.flag:
        conditions.append(account_sql.has_any_flag([filters.flag], dialect))
    if filters.state:
        conditions.append(_state_condition(filters.state, dialect))
    if filters.owner or filters.outcome or filters.next_action:
        conditions.append(_case_condition(filters))
    return conditions


def _promise_open() -> Any:
    return exists().where(Promise.account_id == CardAccount.id, Promise.state == PromiseState.OPEN)


def _request_pending() -> Any:
    return exists().where(Plan.account_id == CardAccount.id, Plan.state == PlanState.PENDING_APPROVAL)


def plan_broken(account: Any = CardAccount) -> ColumnElement[bool]:
    """``latest_plan_state() == broken`` as a semi-join: a broken plan with no newer plan
    in a shown state. The same accounts, without a subquery per account of the queue."""
    newer = aliased(Plan)
    return exists().where(
        Plan.account_id == account.id,
        Plan.state == PlanState.BROKEN,
        ~exists().where(newer.account_id == Plan.account_id, newer.id > Plan.id, one_of(newer.state, SHOWN_STATES)),
    )


def _state_condition(state: str, dialect: str) -> ColumnElement[bool]:
    if state == "on_plan":
        # An account has one open plan at most, so an active plan is its latest shown one.
        return exists().where(Plan.account_id == CardAccount.id, Plan.state == PlanState.ACTIVE)
    if state == "plan_broken":
        return plan_broken()
    if state == "promise_pending":
        return _promise_open()
    if state == "request_pending":
        return _request_pending()
    if state == "disputed":
        return account_sql.has_any_flag(["dispute"], dialect)
    return account_sql.has_any_flag(OPTED_OUT_FLAGS, dialect)


def _case_condition(filters: QueueFilter) -> ColumnElement[bool]:
    """The filters on the case's workbench row (owner, last outcome, next action); the
    time and the asking member of staff are bind parameters (``now``, ``me``)."""
    now = bindparam("now", type_=UTCDateTime())
    owned = or_(CaseState.owned_until.is_(None), CaseState.owned_until > now) & CaseState.owner_id.is_not(None)
    parts: list[ColumnElement[bool]] = []
    if filters.owner == "mine":
        parts.append(owned & (CaseState.owner_id == bindparam("me", type_=Integer)))
    elif filters.owner == "owned":
        parts.append(owned)
    if filters.outcome:
        parts.append(CaseState.last_outcome == bindparam("outcome"))
    if filters.next_action == "due":
        parts.append(CaseState.next_action_at <= now)
    elif filters.next_action == "later":
        parts.append(CaseState.next_action_at > now)
    if filters.owner == "unowned" or filters.next_action == "none":
        # Accounts without a workbench row count as unowned, with nothing scheduled.
        negated: list[ColumnElement[bool]] = [owned] if filters.owner == "unowned" else []
        if filters.next_action == "none":
            negated.append(CaseState.next_action_at.is_not(None))
        found = exists().where(CaseState.account_id == CardAccount.id, or_(*negated))
        rest = exists().where(CaseState.account_id == CardAccount.id, *parts) if parts else None
        return and_(~found, rest) if rest is not None else ~found
    return exists().where(CaseState.account_id == CardAccount.id, *parts)


def row_states(
    account: CardAccount | Row[Any], plan_state: str | None, promise_open: bool, request_pending: bool
) -> tuple[str, ...]:
    """The states the queue shows for a row, the most telling first."""
    flags = set(account.flags or ())
    found = []
    if "dispute" in flags:
        found.append("disputed")
    if plan_state == PlanState.ACTIVE:
        found.append("on_plan")
    elif plan_state == PlanState.BROKEN:
        found.append("plan_broken")
    if request_pending:
        found.append("request_pending")
    if promise_open:
        found.append("promise_pending")
    if flags & set(OPTED_OUT_FLAGS):
        found.append("opted_out")
    return tuple(found)


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
        filters.state,
        filters.owner,
        filters.outcome is not None,
        filters.next_action,
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
    # Each sort reads one index backwards (ix_card_accounts_queue_dpd / _amount), so a page
    # far down skips index entries rather than sorting every matching account.
    if filters.sort == "amount":
        order = (CardAccount.overdue_amount.desc(), CardAccount.days_past_due.desc(), CardAccount.id.desc())
    else:
        order = (CardAccount.days_past_due.desc(), CardAccount.overdue_amount.desc(), CardAccount.id.desc())
    # The page's ids first, along the index of the sort (the offset skips index entries,
    # not joined rows), then those 25 rows with their holders and what their case holds.
    page_ids = (
        select(CardAccount.id)
        .where(*shared, *([] if in_page is None else [in_page]))
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset(bindparam("offset", type_=Integer))
        .subquery()
    )
    now = bindparam("now", type_=UTCDateTime())
    owned = CaseState.owner_id.is_not(None) & or_(CaseState.owned_until.is_(None), CaseState.owned_until > now)
    rows = (
        select(
            *(getattr(CardAccount, name) for name in QUEUE_ACCOUNT_COLUMNS),
            account_sql.balance().label("balance"),
            Cardholder.full_name,
            latest_plan_state().label("plan_state"),
            _promise_open().label("promise_open"),
            _request_pending().label("request_pending"),
            CaseState.last_contact_at,
            CaseState.last_outcome,
            case((owned, StaffUser.display_name)).label("owner"),
            CaseState.next_action_at,
        )
        .join(page_ids, page_ids.c.id == CardAccount.id)
        .join(Cardholder)
        .outerjoin(CaseState, CaseState.account_id == CardAccount.id)
        .outerjoin(StaffUser, StaffUser.id == CaseState.owner_id)
        .order_by(*order)
    )
    if len(_QUEUE_SQL) < 256:  # a handful of tiers and filters; never grow without bound
        _QUEUE_SQL[key] = (counting, rows)
    return counting, rows


def _ranges_key(ranges: list[tuple[str, Tier]]) -> tuple[tuple[Any, ...], ...]:
    return tuple(
        (currency, tier.min_dpd, tier.max_dpd, tier.balance_from, tier.balance_below) for currency, tier in ranges
    )


def work_queue(filters: QueueFilter, tiers: Tiers) -> QueuePage:
    """One page of overdue accounts, most days past due first (or largest overdue amount),
    and the count per tier: read on the replica when there is one (``portal.replica``); a
    queue a moment behind is still the right list to work from, and the case file a
    counsellor opens from it reads the primary."""
    # Two statements: the count of the page's tier and of every tab in one pass over the
    # matching accounts, then the page's rows with their holders. Both read columns, on
    # the report session's connection (without the ORM's per-statement work).
    reads = report_connection()
    names = tiers.names()
    tier = filters.tier if filters.tier in names else None
    counting, query = _queue_statements(filters, tiers, tier, reads.dialect.name)
    values: dict[str, Any] = {
        "currency": filters.currency,
        "min_balance": filters.min_balance,
        "max_balance": filters.max_balance,
        "outcome": filters.outcome,
        "me": filters.me,
        "now": utcnow(),
    }
    total, *tier_counts = reads.execute(counting, values).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    found = reads.execute(query, {**values, "offset": (page - 1) * PAGE_SIZE}).all()
    broken = {row.id for row in found if row.plan_state == PlanState.BROKEN}
    details = [
        QueueRow(
            row,
            row_states(row, row.plan_state, bool(row.promise_open), bool(row.request_pending)),
            row.last_contact_at,
            row.last_outcome,
            row.owner,
            row.next_action_at,
        )
        for row in found
    ]
    counts = dict(zip(names, tier_counts, strict=True))
    return QueuePage(list(found), total, page, pages, tier, counts, broken, details)


# --- search ---------------------------------------------------------------------


class SearchNeedsDobError(ValueError):
    """Last four digits alone identify too many people: a date of birth is needed."""


def _digits(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text or "") if ch.isdigit())


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Between the digits of a card or phone number people type spaces, dashes, dots,
# brackets and a leading plus; nothing else makes a query a number.
_NUMBER_SEPARATORS = " -.()+\u00a0\u3000"


def _is_number(text: str) -> bool:
    return bool(text) and all(ch.isdigit() or ch in _NUMBER_SEPARATORS for ch in text)


def search_kind(text: str) -> str:
    """How a query will be read: empty, card (a full card number: 13–19 digits passing the
    Luhn check), last4 (four digits: a card's or a phone's last four), phone (5 or more
    digits: the end of a phone number), email (has an @), or name_or_reference."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    digits = _digits(text)
    if not text:
        return "empty"
    if "@" in text:
        return "email"
    if _is_number(text):
        if 13 <= len(digits) <= 19 and luhn_valid(digits) and not set(text) & set("+()"):
            return "card"
        if len(digits) == 4:
            return "last4"
        if len(digits) >= 5:
            return "phone"
    return "name_or_reference"


def _birth_date_hash(born: date) -> str:
    return birth_date_hash(born, current_app.config["CARD_HASH_KEY"])


def _phone_ends_with(digits: str) -> ColumnElement[bool]:
    """The holder's phone ends in ``digits`` (4 or more): the indexed last four narrow the
    rows, then the stored number's digits are compared on those few."""
    stored: Any = Cardholder.phone
    for separator in (" ", "-", "+", "(", ")", "."):
        stored = func.replace(stored, separator, "")
    return and_(Cardholder.phone_last4 == digits[-4:], stored.like(f"%{_like_escape(digits)}", escape="\\"))


def search_accounts(text: str, date_of_birth: date | None, limit: int = 50) -> tuple[str, list[CardAccount]]:
    """Find accounts by a full card number (its keyed hash), e-mail address, the last 4 or
    more digits of a phone number, name or account reference. Four digits alone are a
    phone number's end; with a date of birth, also a card's last four digits. Every kind
    is an indexed look-up except the name, which is a pattern over names."""
    text = unicodedata.normalize("NFKC", text or "").strip()[:100]
    kind = search_kind(text)
    if kind == "empty":
        return kind, []
    digits = _digits(text)
    wanted: list[ColumnElement[bool]] = []
    if kind == "card":
        wanted.append(CardAccount.card_hash == card_hash(digits, current_app.config["CARD_HASH_KEY"]))
        if len(digits) <= 15:  # as long as a phone number can be (E.164): it may be one that passes Luhn
            wanted.append(_phone_ends_with(digits))
    elif kind == "email":
        wanted.append(Cardholder.email_key == email_key(text))
    elif kind in ("last4", "phone"):
        wanted.append(_phone_ends_with(digits))
        if kind == "last4" and date_of_birth is not None:
            wanted.append(CardAccount.card_last4 == digits)
    else:
        if len(text) < 2:
            return kind, []
        pattern = f"%{_like_escape(text.casefold())}%"
        wanted.append(func.lower(Cardholder.full_name).like(pattern, escape="\\"))
        wanted.append(func.lower(CardAccount.reference) == text.casefold())
    found: dict[int, CardAccount] = {}
    # One statement per way of matching, so each uses its own index (an OR across the
    # two tables would read them all).
    for condition in wanted:
        # With its holder (the results show the name): not one more statement per account.
        query = select(CardAccount).join(Cardholder).where(condition).options(contains_eager(CardAccount.cardholder))
        if date_of_birth is not None:
            query = query.where(Cardholder.date_of_birth_hash == _birth_date_hash(date_of_birth))
        query = query.order_by(CardAccount.days_past_due.desc(), CardAccount.id).limit(limit)
        for account in db.session.execute(query).scalars():
            found.setdefault(account.id, account)
    if kind == "last4" and not found and date_of_birth is None:
        raise SearchNeedsDobError
    results = sorted(found.values(), key=lambda a: (-a.days_past_due, a.id))[:limit]
    return kind, results


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


@dataclass(frozen=True)
class CasePlan(ShownPlan):
    """A plan as the case file shows it: plain values from one query, not ORM rows (a
    60-month plan is 61 objects to build), with its policy version's currency and number
    for its label."""

    currency: str
    total_repaid: Decimal
    created_at: datetime
    ended_at: datetime | None
    decided_by: str | None
    decision_note: str | None
    version_currency: str | None
    version_number: int | None

    @property
    def policy_label(self) -> str:
        """The policy version it was made under, e.g. "CNY policy version 3"."""
        if self.version_number is None:
            return ""
        return gettext(
            "%(currency)s policy version %(number)s", currency=self.version_currency, number=self.version_number
        )


@dataclass
class CaseFile:
    account: CardAccount
    holder: Cardholder
    tier: str | None
    reason: str | None
    timeline: list[Entry]
    plans: list[CasePlan]
    promises: list[Any]  # amount, currency, pay_by, state
    links: list[LinkView]
    # Actor keys of the timeline and of the plans' deciders → what staff read (names and roles).
    names: dict[str, str]
    progress: dict[int, PlanProgress] = field(default_factory=dict)  # plan id → judged today
    payments: list[Any] = field(default_factory=list)  # the latest, reversed ones included (PAYMENT_COLUMNS)
    plan_broken: bool = False  # the account's latest plan broke, and no newer one is open
    dues: DueDates | None = None  # the missed and the next due date (case_details.due_dates)
    link_hold: str | None = None  # why a plan link is not the next step (case_details.link_hold)
    reason_from: str | None = None  # the kind of event the reason came from
    policy: OfferPolicy | None = None  # the active policy of the account's currency (None: none)

    @property
    def links_by_id(self) -> dict[int, LinkView]:
        """The listed links by id: the timeline names a link by its channel and day."""
        return {link.id: link for link in self.links}

    @property
    def plans_by_id(self) -> dict[int, CasePlan]:
        return {plan.id: plan for plan in self.plans}


# The case file's lists (events, payments, plans, promises, links), read in one statement
# built once (portal.care.one_read): each list's own SELECT under one UNION ALL, the
# account id a parameter. Columns, not ORM objects, on the session's connection (its
# transaction, without the ORM's per-statement work); a statement each cost the page
# more than the rows they read.
CASE_EVENTS = 500  # the newest case events on the timeline
TIMELINE_PAYMENTS = 200  # the newest payments that count, on the timeline
LISTED_PAYMENTS = 10  # the newest payments shown (reversed ones too), in their own panel
LINKS = 50


@cache
def _case_lists() -> Lists:
    account_id = bindparam("account_id", type_=Integer)
    events = CaseEvent.__table__.c
    promises = Promise.__table__.c
    # One list for both lists of payments: every payment shown (reversed ones too),
    # ranked newest first, and among those that count as repayments; a row is kept when
    # it is among the newest shown for the panel, or the newest that count for the timeline.
    counts = counts_as_repayment().label("counts")
    payments = (
        select(
            *(getattr(Payment, name) for name in PAYMENT_COLUMNS),
            counts,
            func.row_number().over(order_by=newest_first(Payment)).label("newest"),
            func.row_number().over(partition_by=counts_as_repayment(), order_by=newest_first(Payment)).label("rank"),
        )
        .where(Payment.account_id == account_id, shown_payments(Payment))
        .subquery()
    )
    return lists_statement(
        {
            "events": ranked(
                select(events.kind, events.data, events.actor_type, events.actor_id, events.created_at).where(
                    events.account_id == account_id
                ),
                events.created_at.desc(),
                events.id.desc(),
            ).limit(CASE_EVENTS),
            "payments": ranked(
                select(*(payments.c[name] for name in PAYMENT_COLUMNS), payments.c.counts).where(
                    or_(
                        payments.c.newest <= LISTED_PAYMENTS,
                        and_(payments.c.counts, payments.c.rank <= TIMELINE_PAYMENTS),
                    )
                ),
                payments.c.newest,
            ),
            # With the policy version each plan was made under (for its label) and the plan's
            # installments, one row each; the terms travel as text, read once per plan.
            "plans": ranked(
                select(
                    Plan.id,
                    Plan.state,
                    Plan.plan_type,
                    cast(Plan.terms, Text).label("terms"),
                    Plan.currency,
                    Plan.total_repaid,
                    Plan.created_at,
                    Plan.ended_at,
                    Plan.decided_by,
                    Plan.decision_note,
                    PolicyVersion.currency.label("version_currency"),
                    PolicyVersion.number.label("version_number"),
                    PlanInstallment.number,
                    PlanInstallment.due_date,
                    PlanInstallment.total,
                    PlanInstallment.paid,
                )
                .outerjoin(PolicyVersion, PolicyVersion.id == Plan.policy_version_id)
                .outerjoin(PlanInstallment, PlanInstallment.plan_id == Plan.id)
                .where(Plan.account_id == account_id),
                Plan.id.desc(),
                PlanInstallment.number,
            ),
            "promises": ranked(
                select(promises.amount, promises.currency, promises.pay_by, promises.state).where(
                    promises.account_id == account_id
                ),
                promises.id.desc(),
            ),
            # With each link's message: until sent, its status is the message's (held, blocked…).
            "links": ranked(
                select(
                    *(getattr(PlanLink, name) for name in _LINK_COLUMNS),
                    *(getattr(OutboxMessage, name).label(f"message_{name}") for name in _MESSAGE_COLUMNS),
                    OutboxMessage.id.label("message_id"),
                )
                .outerjoin(OutboxMessage, OutboxMessage.id == PlanLink.outbox_message_id)
                .where(PlanLink.account_id == account_id),
                PlanLink.id.desc(),
            ).limit(LINKS),
        }
    )


# The plan links page's links, with their messages (ORM objects: the page acts on them).
_ACCOUNT_LINKS = (
    select(PlanLink)
    .where(PlanLink.account_id == bindparam("account_id", type_=Integer))
    .order_by(PlanLink.id.desc())
    .limit(LINKS)
    .options(joinedload(PlanLink.message))
)
_LINK_COLUMNS = tuple(f.name for f in fields(LinkView) if f.name != "message")
_MESSAGE_COLUMNS = tuple(f.name for f in fields(MessageView))


def _links(rows: list[Any]) -> list[LinkView]:
    """The case file's links, newest first, each with its message's state."""
    links = []
    for row in rows:
        message = None
        if row.message_id is not None:
            message = MessageView(*(getattr(row, f"message_{name}") for name in _MESSAGE_COLUMNS))
        links.append(LinkView(**{name: getattr(row, name) for name in _LINK_COLUMNS}, message=message))
    return links


# What the timeline and the payments panel read of a payment.
PAYMENT_COLUMNS = ("paid_at", "amount", "currency", "method", "status", "match_basis", "booking_date")


def _plans(rows: list[Any]) -> list[CasePlan]:
    """The account's plans, newest first, each with its installments in number order."""
    plans: list[CasePlan] = []
    for plan_id, group in groupby(rows, key=lambda row: row.id):
        lines = list(group)
        first = lines[0]
        installments = tuple(
            ShownInstallment(row.number, row.due_date, row.total, row.paid) for row in lines if row.number is not None
        )
        plans.append(
            CasePlan(
                plan_id,
                first.state,
                first.plan_type,
                json.loads(first.terms),
                installments,
                first.currency,
                first.total_repaid,
                first.created_at,
                first.ended_at,
                first.decided_by,
                first.decision_note,
                first.version_currency,
                first.version_number,
            )
        )
    return plans


def account_links(account_id: int) -> list[Any]:
    return list(db.session.execute(_ACCOUNT_LINKS, {"account_id": account_id}).scalars())


def case_file(account_id: int, account: CardAccount | None = None) -> CaseFile | None:
    """Everything the case page shows of one account (None: no such account); ``account``
    when the caller has loaded it already, with its holder."""
    account = account or load_account(account_id, "cardholder")
    if account is None:
        return None
    tiers = policy_tiers([account.currency])  # its tier is named by its own currency's policy
    db.session.flush()  # what this request changed, before reading past the session
    lists = read_lists(db.session.connection(), _case_lists(), {"account_id": account_id})
    events = lists["events"]
    shown = lists["payments"]
    payments = [p for p in shown if p.counts][:TIMELINE_PAYMENTS]
    plans = _plans(lists["plans"])
    promises = lists["promises"]
    links = _links(lists["links"])

    timeline = [Entry(e.created_at, e.kind, e.data or {}, e.actor_type, e.actor_id) for e in events]
    timeline += [
        Entry(p.paid_at, "payment", {"amount": p.amount, "method": p.method}, ActorType.SYSTEM, None) for p in payments
    ]
    names = actor_names([entry.actor_key for entry in timeline] + [p.decided_by for p in plans])
    timeline.sort(key=lambda entry: entry.at, reverse=True)

    reason, reason_from = case_reason(events)
    tier = tiers.name_for(account)
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
        list(promises),
        links,
        names,
        progress=progress,
        payments=list(shown[:LISTED_PAYMENTS]),
        plan_broken=latest is not None and latest.state == PlanState.BROKEN,
        dues=due_dates(account.due_date, account.days_past_due, account.days_past_due_as_of, today),
        link_hold=link_hold(account.flags, plans),
        reason_from=reason_from,
        policy=tiers.by_currency.get(account.currency),
    )


def _broken_reason(events: Sequence[Any], plan_id: int) -> str | None:
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
