"""Owning the work at the care desk: who owns a case, "next case", call-backs and
follow-ups, promises taken by phone.

Ownership. A case is assigned to a member of care staff by a supervisor, taken by an
agent for themselves, or drawn by "next case", which leases it for
``CARE_LEASE_MINUTES`` (default 30): after that it is unowned again unless the agent took
it. Each is a ``case_assigned`` entry on the case file and a ``case.assigned`` audit event.

"Next case" draws the most urgent unowned case of the queue the agent is working (the
tier tab they are on; every tier from "All overdue"), in this order:

1. a task on the case that is due: a question a cardholder asked for a person (due at
   once), a call-back or follow-up whose time has come; the earliest first. Tasks that
   belong to another member of staff are theirs; cases the agent owns already are in
   their work list ("My work") and not drawn again.
2. a plan that broke (the account's latest plan is broken);
3. a promise to pay that broke (the account's latest promise is broken);
4. everyone else: the highest tier first, then the highest balance.

From 2 on, a case is left out while contact is not allowed or not useful: a flag that
stops contact (do not contact, dispute, deceased, fraud), an active plan (collection
stops while it runs), a task due later (its time is the next action), or a call in the
last ``CARE_REST_HOURS`` (default 4). The draw is race-safe: candidates are read with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, and the claim itself is one conditional
``INSERT … ON CONFLICT DO UPDATE … WHERE`` the case is still unowned, so two agents
pressing at once never get the same case. A cardholder may hold several accounts: a case
whose cardholder another member of staff is working on another account is left out, and
the draw takes the cardholder's row lock (``SKIP LOCKED``) and looks again before the
claim, so two agents never call the same person. A drawn case stays in the agent's work list
until its lease runs out, they release it, or they take it for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Integer, Row, Select, and_, bindparam, case, cast, exists, literal, null, or_, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from portal.accounts import sql as account_sql
from portal.accounts.models import CardAccount, Cardholder
from portal.audit.actions import Action
from portal.audit.actors import ActorType
from portal.audit.service import Actor, record
from portal.care.contact import case_state
from portal.care.models import CallAttempt, CaseState
from portal.care.service import CareError, _account, _require_care_role
from portal.cases.models import CaseEventKind, CaseTask, Promise, PromiseState, TaskKind
from portal.cases.service import add_event, record_promise
from portal.cases.tasks import OpenTask, close_task, open_task
from portal.db_types import UTCDateTime, one_of, utcnow
from portal.domain.policy import OfferPolicy
from portal.domain.promise import check_promise
from portal.extensions import db
from portal.notifications import confirmations
from portal.notifications.rules import NO_CONTACT_FLAGS, in_window
from portal.notifications.service import contact_settings
from portal.offers.adapter import snapshot
from portal.plans.models import Plan, PlanState
from portal.policies.cache import load_policy
from portal.policies.service import NoActivePolicy, active_version
from portal.staff.models import Role, StaffUser

CANDIDATES = 5  # tried per step of the order, one by one, before the next step
MAX_NOTE = 1000


def lease_minutes() -> int:
    """How long "next case" holds a case for the agent who drew it."""
    return int(current_app.config["CARE_LEASE_MINUTES"])


def _staff_id(actor: Actor) -> int:
    if actor.type != ActorType.STAFF or not str(actor.id or "").isdigit():
        raise CareError("not_allowed")
    return int(str(actor.id))


def owned_now(state: CaseState | Row[Any] | None, now: datetime) -> int | None:
    """The owner of a case now: its owner, unless their lease has run out."""
    if state is None or state.owner_id is None:
        return None
    if state.owned_until is not None and state.owned_until <= now:
        return None
    return state.owner_id


def _set_owner(account_id: int, owner: int | None, until: datetime | None, how: str, actor: Actor) -> None:
    state = case_state(account_id, lock=True)
    before = {"owner": state.owner_id, "until": state.owned_until.isoformat() if state.owned_until else None}
    now = utcnow()
    state.owner_id, state.owned_until = owner, until
    state.owned_since = now if owner is not None else None
    state.updated_at = now
    db.session.flush()
    facts = {"owner": owner, "owner_name": _name(owner), "until": until.isoformat() if until else None, "how": how}
    if owner is None:
        add_event(account_id, CaseEventKind.CASE_RELEASED, actor, {"owner": before["owner"]})
        record(actor, Action.Case.RELEASED, ("card_account", account_id), before=before)
    else:
        add_event(account_id, CaseEventKind.CASE_ASSIGNED, actor, facts)
        record(actor, Action.Case.ASSIGNED, ("card_account", account_id), before=before, after=facts)


def _name(staff_id: int | None) -> str | None:
    """The owner's name as the case file keeps it (what it was when they got the case)."""
    user = db.session.get(StaffUser, staff_id) if staff_id is not None else None
    return user.display_name if user is not None else None


def care_staff() -> list[StaffUser]:
    """Active agents and supervisors: whom a case may be assigned to."""
    query = (
        select(StaffUser)
        .where(StaffUser.active.is_(True), one_of(StaffUser.role, (Role.AGENT, Role.SUPERVISOR)))
        .order_by(StaffUser.display_name, StaffUser.id)
    )
    return list(db.session.execute(query).scalars())


def assign_case(account_id: int, staff_id: int, actor: Actor) -> None:
    """A supervisor gives the case to a member of care staff, until released."""
    if _require_care_role(actor) is not Role.SUPERVISOR:
        raise CareError("supervisor_only_assign")
    _account(account_id)
    user = db.session.get(StaffUser, staff_id)
    if user is None or not user.active or user.role not in (Role.AGENT, Role.SUPERVISOR):
        raise CareError("unknown_staff")
    _set_owner(account_id, staff_id, None, "assigned", actor)


def take_case(account_id: int, actor: Actor) -> None:
    """The member of staff takes the case for themselves, until released. A case
    another owns now is theirs: only a supervisor reassigns it."""
    role = _require_care_role(actor)
    me = _staff_id(actor)
    _account(account_id)
    owner = owned_now(case_state(account_id, lock=True), utcnow())
    if owner not in (None, me) and role is not Role.SUPERVISOR:
        raise CareError("owned_by_other")
    _set_owner(account_id, me, None, "taken", actor)


def release_case(account_id: int, actor: Actor) -> bool:
    """Give the case back to the queue (its owner, or a supervisor); False: nobody owned it."""
    role = _require_care_role(actor)
    _account(account_id)
    state = case_state(account_id, lock=True)
    owner = owned_now(state, utcnow())
    if owner is None:
        return False
    if owner != _staff_id(actor) and role is not Role.SUPERVISOR:
        raise CareError("owned_by_other")
    _set_owner(account_id, None, None, "released", actor)
    return True


def hand_back(staff_id: int, actor: Actor) -> int:
    """What a member of staff held goes back to the desk when they leave it (disabled, or
    given a role outside care): each case they own returns to the queue, and their open
    call-backs and follow-ups become anyone's, so "next case" and colleagues' work lists
    find them. Otherwise an assignment without end would keep those cases from everyone
    until a supervisor noticed. Each case gets a ``case_released`` entry and audit event
    (naming the tasks handed on). Returns the number of cases touched."""
    now = utcnow()
    owned = set(
        db.session.execute(
            select(CaseState.account_id).where(
                CaseState.owner_id == staff_id, or_(CaseState.owned_until.is_(None), CaseState.owned_until > now)
            )
        ).scalars()
    )
    tasks: dict[int, list[CaseTask]] = {}
    open_tasks = select(CaseTask).where(CaseTask.owner_id == staff_id, CaseTask.done_at.is_(None))
    for task in db.session.execute(open_tasks).scalars():
        tasks.setdefault(task.account_id, []).append(task)
    for account_id in sorted(owned | set(tasks)):
        handed = tasks.get(account_id, [])
        for task in handed:
            task.owner_id = None
        if account_id in owned:
            state = case_state(account_id, lock=True)
            state.owner_id, state.owned_until, state.owned_since, state.updated_at = None, None, None, now
        db.session.flush()
        facts = {"owner": staff_id, "tasks": [task.id for task in handed], "how": "left_the_desk"}
        add_event(account_id, CaseEventKind.CASE_RELEASED, actor, facts)
        record(actor, Action.Case.RELEASED, ("card_account", account_id), before={"owner": staff_id}, after=facts)
    return len(owned | set(tasks))


# --- next case ---------------------------------------------------------------------------


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(CaseState.owner_id.is_(None), CaseState.owned_until <= now)


def _holder_elsewhere(me: int, now: datetime) -> ColumnElement[bool]:
    """Another account of the same cardholder is owned now by someone other than ``me``."""
    sibling, held = aliased(CardAccount), aliased(CaseState)
    return exists().where(
        sibling.cardholder_id == CardAccount.cardholder_id,
        sibling.id != CardAccount.id,
        held.account_id == sibling.id,
        held.owner_id.is_not(None),
        held.owner_id != me,
        or_(held.owned_until.is_(None), held.owned_until > now),
    )


def _holder_taken(account_id: int, me: int, now: datetime, postgres: bool) -> bool:
    """Whether the account's cardholder is being worked by someone else: their row is
    locked by another agent's draw this moment (PostgreSQL), or another of their accounts
    is owned now. Read after the lock, so a draw that just committed is seen."""
    holder = select(CardAccount.cardholder_id).where(CardAccount.id == account_id).scalar_subquery()
    if postgres:
        lock = select(Cardholder.id).where(Cardholder.id == holder).with_for_update(skip_locked=True)
        if db.session.execute(lock).first() is None:
            return True
    free = select(CardAccount.id).where(CardAccount.id == account_id, ~_holder_elsewhere(me, now))
    return db.session.execute(free).first() is None


def _base(in_queue: ColumnElement[bool] | None) -> Select[Any]:
    query = (
        select(CardAccount.id)
        .outerjoin(CaseState, CaseState.account_id == CardAccount.id)
        .where(CardAccount.days_past_due >= 1)
    )
    return query if in_queue is None else query.where(in_queue)


def _contactable(now: datetime, rest: timedelta, dialect: str) -> list[ColumnElement[bool]]:
    active_plan = exists().where(Plan.account_id == CardAccount.id, Plan.state == PlanState.ACTIVE)
    return [
        _free(now),
        ~account_sql.has_any_flag(NO_CONTACT_FLAGS, dialect),
        ~active_plan,
        or_(CaseState.next_action_at.is_(None), CaseState.next_action_at <= now),
        or_(CaseState.last_contact_at.is_(None), CaseState.last_contact_at <= now - rest),
        ~exists().where(CallAttempt.account_id == CardAccount.id, CallAttempt.called_at > now - rest),
    ]


def _latest_promise_state() -> Any:
    return (
        select(Promise.state)
        .where(Promise.account_id == CardAccount.id)
        .order_by(Promise.id.desc())
        .limit(1)
        .correlate(CardAccount)
        .scalar_subquery()
    )


def _steps(in_queue: ColumnElement[bool] | None, tier_order: ColumnElement[Any], me: int, now: datetime) -> list[Any]:
    """The order's steps (see the module notes), each a statement of candidate ids."""
    from portal.care.queries import plan_broken

    dialect = db.session.get_bind().dialect.name
    rest = timedelta(hours=current_app.config["CARE_REST_HOURS"])
    due = CaseTask.due_at.is_(None) | (CaseTask.due_at <= now)
    tasks = (
        _base(in_queue)
        .join(CaseTask, CaseTask.account_id == CardAccount.id)
        .where(
            CaseTask.done_at.is_(None),
            due,
            or_(CaseTask.owner_id.is_(None), CaseTask.owner_id == me),
            _free(now),  # a case the agent owns already is in their work list, not drawn again
            ~_holder_elsewhere(me, now),
        )
        .order_by(CaseTask.due_at.is_not(None), CaseTask.due_at, CaseTask.id)
    )
    rest_order = (tier_order.desc(), account_sql.balance().desc(), CardAccount.id)
    contactable = [*_contactable(now, rest, dialect), ~_holder_elsewhere(me, now)]
    broken_plan = _base(in_queue).where(plan_broken(), *contactable).order_by(*rest_order)
    broken_promise = (
        _base(in_queue).where(_latest_promise_state() == PromiseState.BROKEN, *contactable).order_by(*rest_order)
    )
    everyone = _base(in_queue).where(*contactable).order_by(*rest_order)
    return [tasks, broken_plan, broken_promise, everyone]


def _claim(account_id: int, me: int, until: datetime, now: datetime) -> bool:
    """Lease the case to ``me`` if it is still unowned: one conditional upsert, so only
    one of two agents racing for it wins."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    values = {"owner_id": me, "owned_until": until, "owned_since": now, "updated_at": now}
    # A case assigned to ``me`` already (no end) stays assigned, not leased.
    kept = case((and_(CaseState.owner_id == me, CaseState.owned_until.is_(None)), null()), else_=until)
    statement = (
        insert(CaseState)
        .values(account_id=account_id, **values)
        .on_conflict_do_update(
            index_elements=[CaseState.account_id],
            set_={**values, "owned_until": kept},
            where=or_(CaseState.owner_id.is_(None), CaseState.owned_until <= now, CaseState.owner_id == me),
        )
        .returning(CaseState.account_id)
    )
    return db.session.execute(statement).first() is not None


def next_case(actor: Actor, in_queue: ColumnElement[bool] | None, tier_order: ColumnElement[Any]) -> int | None:
    """Draw the most urgent unowned case of the queue for ``actor`` and lease it to them;
    its account id, or None when none is waiting. ``in_queue``: the queue's condition
    (None: every overdue account); ``tier_order``: an expression, higher for a higher tier."""
    _require_care_role(actor)
    me = _staff_id(actor)
    now = utcnow()
    until = now + timedelta(minutes=lease_minutes())
    postgres = db.session.get_bind().dialect.name == "postgresql"
    for step in _steps(in_queue, tier_order, me, now):
        tried: list[int] = []
        for _ in range(CANDIDATES):
            # One row at a time: a lock on several would keep the others' agents from them.
            query = step.where(CardAccount.id.not_in(tried)).limit(1) if tried else step.limit(1)
            if postgres:
                query = query.with_for_update(of=CardAccount, skip_locked=True)
            account_id = db.session.execute(query).scalar()
            if account_id is None:
                break
            if not _holder_taken(account_id, me, now, postgres) and _claim(account_id, me, until, now):
                db.session.expire_all()  # the claim wrote past the session's objects
                facts = {"owner": me, "owner_name": _name(me), "until": until.isoformat(), "how": "next_case"}
                add_event(account_id, CaseEventKind.CASE_ASSIGNED, actor, facts)
                record(actor, Action.Case.ASSIGNED, ("card_account", account_id), after=facts)
                return int(account_id)
            tried.append(account_id)  # taken a moment ago by another agent
    return None


def tier_order(tiers: Any) -> ColumnElement[Any]:
    """Higher for a higher tier, under each currency's own policy (``Tiers``); -1 outside."""
    whens = [
        (CardAccount.currency == currency, account_sql.tier_index(policy.tiers, otherwise=-1))
        for currency, policy in tiers.by_currency.items()
    ]
    return case(*whens, else_=literal(-1)) if whens else literal(0)


# --- my work -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkItem:
    """A line of "My work": an open task, or a case the member of staff owns."""

    account_id: int
    reference: str
    holder: str
    task: OpenTask | None
    due_at: datetime | None
    owned_until: datetime | None = None

    def is_due(self, now: datetime) -> bool:
        return self.task is not None and (self.due_at is None or self.due_at <= now)


@cache
def _my_work_statement() -> Select[Any]:
    """The read behind "My work", built once: the open tasks for a member of staff or for
    anyone, what is due first, then the cases they own, newest first (each part limited
    on its own); columns, not ORM objects, as the page only shows them. One statement:
    the two parts are limited subqueries under a UNION ALL, each row saying its part."""
    tasks, states = CaseTask.__table__, CaseState.__table__
    accounts, holders = CardAccount.__table__, Cardholder.__table__
    staff_id, limit = bindparam("staff_id", type_=Integer), bindparam("limit", type_=Integer)
    task, state, account, holder = tasks.c, states.c, accounts.c, holders.c

    def none(type_: Any) -> Any:  # a typed NULL, so that both parts' columns agree
        return cast(null(), type_)

    open_tasks = (
        select(
            literal(0).label("part"),
            task.account_id,
            account.reference,
            holder.full_name,
            task.id.label("task_id"),
            task.kind,
            task.note,
            task.due_at,
            none(UTCDateTime()).label("owned_until"),
            none(UTCDateTime()).label("owned_since"),
        )
        .select_from(
            tasks.join(accounts, account.id == task.account_id).join(holders, holder.id == account.cardholder_id)
        )
        .where(task.done_at.is_(None), or_(task.owner_id == staff_id, task.owner_id.is_(None)))
        .order_by(task.due_at.is_not(None), task.due_at, task.id)
        .limit(limit)
        .subquery()
    )
    now = bindparam("now", type_=UTCDateTime())
    owned = (
        select(
            literal(1).label("part"),
            state.account_id,
            account.reference,
            holder.full_name,
            none(Integer()).label("task_id"),
            none(task.kind.type).label("kind"),
            none(task.note.type).label("note"),
            none(UTCDateTime()).label("due_at"),
            state.owned_until,
            state.owned_since,
        )
        .select_from(
            states.join(accounts, account.id == state.account_id).join(holders, holder.id == account.cardholder_id)
        )
        .where(state.owner_id == staff_id, or_(state.owned_until.is_(None), state.owned_until > now))
        .order_by(state.owned_since.desc())
        .limit(limit)
        .subquery()
    )
    both = union_all(select(open_tasks), select(owned)).subquery()
    return select(both).order_by(
        both.c.part, both.c.due_at.is_not(None), both.c.due_at, both.c.task_id, both.c.owned_since.desc()
    )


def my_work(staff_id: int, now: datetime, limit: int = 50) -> list[WorkItem]:
    """Open tasks for this member of staff or for anyone (questions waiting for a person),
    and the cases they own; what is due first, then the rest by due time."""
    values = {"staff_id": staff_id, "limit": limit, "now": now}
    items: list[WorkItem] = []
    with_task: set[int] = set()
    for r in db.session.connection().execute(_my_work_statement(), values):
        if r.task_id is not None:
            task = OpenTask(r.task_id, r.kind, r.note, r.due_at)
            items.append(WorkItem(r.account_id, r.reference, r.full_name, task, r.due_at))
            with_task.add(r.account_id)
        elif r.account_id not in with_task:  # a case owned, after every task
            items.append(WorkItem(r.account_id, r.reference, r.full_name, None, None, r.owned_until))
    return items


# --- call-backs and follow-ups ---------------------------------------------------------------


def schedule_task(
    account_id: int, kind: TaskKind, day: date, at: time, note: str, actor: Actor, owner_id: int | None = None
) -> CaseTask:
    """A call-back or follow-up at ``day`` ``at`` in the cardholder's time zone, for
    ``owner_id`` (default: the one who schedules it). A call-back must fall inside the
    contact hours there and be in the future (``callback_outside_hours``, ``in_the_past``)."""
    _require_care_role(actor)
    if kind not in (TaskKind.CALLBACK, TaskKind.FOLLOW_UP):
        raise CareError("unknown_task")
    account = _account(account_id)
    if len(note.strip()) > MAX_NOTE:
        raise CareError("task_note_too_long")
    due = datetime.combine(day, at, tzinfo=ZoneInfo(account.time_zone))
    if due <= utcnow():
        raise CareError("in_the_past")
    if kind is TaskKind.CALLBACK and not in_window(due, account.time_zone, contact_settings()):
        raise CareError("callback_outside_hours")
    return open_task(account_id, kind, actor, due_at=due, owner_id=owner_id or _staff_id(actor), note=note)


def finish_task(account_id: int, task_id: int, actor: Actor) -> bool:
    """Mark the case's task done; False when it was done already."""
    _require_care_role(actor)
    task = db.session.get(CaseTask, task_id)
    if task is None or task.account_id != account_id:
        raise CareError("no_task")
    return close_task(task, actor)


# --- a promise taken by phone ------------------------------------------------------------------


def take_phone_promise(account_id: int, amount: Decimal, pay_by: date, actor: Actor) -> Promise:
    """Record a promise to pay the cardholder made on the phone, within the same limits
    as their own (``portal.domain.promise.check_promise`` under the active policy), and
    send them its confirmation. Raises ``CareError("promise_refused", code)`` with the
    first problem's code."""
    _require_care_role(actor)
    account = _account(account_id)
    try:
        policy = load_policy(active_version(account.currency))
    except NoActivePolicy as error:
        raise CareError("promise_refused", "blocked") from error
    today = utcnow().astimezone(ZoneInfo(account.time_zone)).date()
    problems = check_promise(snapshot(account), policy, amount, pay_by, today)
    if problems:
        raise CareError("promise_refused", problems[0])
    made = record_promise(account_id, amount, account.currency, pay_by, actor)
    confirmations.promise_recorded(account, made.amount, made.pay_by, actor)
    return made


def promise_limits(account: CardAccount) -> tuple[Decimal, date] | None:
    """The least a promise may cover and the latest date it may name, today."""
    try:
        policy = load_policy(active_version(account.currency))
    except NoActivePolicy:
        return None
    return promise_limits_under(account, policy)


def promise_limits_under(account: CardAccount, policy: OfferPolicy | None) -> tuple[Decimal, date] | None:
    """``promise_limits`` under ``policy``, the active policy of the account's currency
    when the caller has loaded it already (None: there is none)."""
    from portal.domain.promise import latest_promise_date, minimum_promise

    if policy is None:
        return None
    today = utcnow().astimezone(ZoneInfo(account.time_zone)).date()
    minimum = minimum_promise(account.overdue_amount, policy.promise_min_share, account.currency)
    return minimum, latest_promise_date(today, policy.promise_max_days)
