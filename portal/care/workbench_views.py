"""The care workbench's pages and actions under /care: "next case", owning a case,
call-backs and follow-ups, promises taken by phone, and the case file's workbench panel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from sqlalchemy import Integer, Row, Select, and_, bindparam, select
from werkzeug.wrappers import Response

from portal.accounts.models import CardAccount
from portal.care import contact, labels, queries, workbench
from portal.care.forms import NoteForm
from portal.care.models import CaseState
from portal.care.note_templates import find as find_template
from portal.care.service import CareError
from portal.care.workbench_forms import NextCaseForm, OwnerForm, PhonePromiseForm, TaskDoneForm, TaskForm
from portal.care.workbench_labels import work_label
from portal.cases.models import CaseTask, TaskKind
from portal.cases.tasks import OpenTask
from portal.db_types import utcnow
from portal.extensions import db
from portal.i18n import local_date, money
from portal.plans.models import PlanState
from portal.staff.access import staff_actor, staff_required
from portal.staff.models import Role, StaffUser

bp = Blueprint("workbench", __name__, url_prefix="/care")
CARE = (Role.AGENT, Role.SUPERVISOR)


@bp.record_once
def _register_template_helpers(state: Any) -> None:
    state.app.jinja_env.globals["work_label"] = work_label


def workbench_error(code: str, detail: str | None = None, account: CardAccount | None = None) -> str:
    if code == "call_refused":
        return _(
            "Do not call now: %(reason)s. The call was not recorded.",
            reason=labels.care_label("block_reason", detail or ""),
        )
    if code == "callback_outside_hours" and account is not None:
        settings = contact.contact_settings()
        return _(
            "Choose a time inside contact hours: %(start)s to %(end)s in the cardholder's time zone (%(zone)s).",
            start=settings.start.strftime("%H:%M"),
            end=settings.end.strftime("%H:%M"),
            zone=account.time_zone,
        )
    if code == "promise_refused":
        return promise_error(detail or "", account)
    messages = {
        "in_the_past": _("Choose a time later than now."),
        "owned_by_other": _("Another member of staff owns this case. A supervisor can reassign it."),
        "supervisor_only_assign": _("Only a supervisor can assign a case to someone else."),
        "unknown_staff": _("Choose a member of care staff."),
        "no_task": _("We could not find that task."),
        "task_note_too_long": _("Keep it under 1000 characters."),
        "not_allowed": _("Your role cannot do this."),
    }
    return messages.get(code, _("That did not work. Please try again."))


def promise_error(code: str, account: CardAccount | None) -> str:
    limits = workbench.promise_limits(account) if account is not None else None
    if code == "below_minimum" and limits and account is not None:
        return _("The amount must be at least %(amount)s.", amount=money(limits[0], account.currency))
    if code == "date_too_far" and limits:
        return _("Choose a date no later than %(date)s.", date=local_date(limits[1], "medium"))
    messages = {
        "date_in_past": _("Choose today or a later date."),
        "above_balance": _("That is more than the cardholder owes in total."),
        "too_many_decimals": _("Enter the amount with no more than two decimal places."),
        "amount_not_positive": _("Enter the amount promised."),
        "active_plan": _("This account has an active plan: its payments are what is due."),
        "nothing_overdue": _("Nothing is overdue on this account."),
        "blocked": _("A promise cannot be taken on this account now (a flag or no active policy)."),
    }
    return messages.get(code, _("A promise cannot be taken on this account now."))


# --- the case file's panel ------------------------------------------------------------------


@dataclass
class Panel:
    """What the case file's workbench panel shows."""

    state: Row[Any] | None  # the case's row: owned_until, last_contact_at, last_outcome
    owner_name: str | None
    owner_id: int | None
    tasks: list[OpenTask]
    call: contact.CallStatus
    staff: list[StaffUser]
    promise_limits: tuple[Decimal, Any] | None
    now: datetime
    me: int | None


@cache
def _panel_statement() -> Select[Any]:
    """The case's owner and last contact with its open tasks, the most pressing first (as
    ``cases.tasks.open_tasks`` orders them): one row a task, or one without any. Read from
    the account, so that a case with no workbench row yet still answers. Built once."""
    accounts, states, staff, tasks = CardAccount.__table__, CaseState.__table__, StaffUser.__table__, CaseTask.__table__
    account, state, owner, task = accounts.c, states.c, staff.c, tasks.c
    return (
        select(
            state.account_id.label("has_state"),
            state.owner_id,
            state.owned_until,
            state.last_contact_at,
            state.last_outcome,
            owner.display_name.label("owner_name"),
            task.id.label("task_id"),
            task.kind,
            task.note,
            task.due_at,
        )
        .select_from(accounts)
        .outerjoin(states, state.account_id == account.id)
        .outerjoin(staff, owner.id == state.owner_id)
        .outerjoin(tasks, and_(task.account_id == account.id, task.done_at.is_(None)))
        .where(account.id == bindparam("account_id", type_=Integer))
        .order_by(task.due_at.is_(None), task.due_at, task.id)
    )


def panel(case: queries.CaseFile, staff: Any) -> Panel:
    """The panel of ``case`` for ``staff``, the signed-in member of staff (or None)."""
    account = case.account
    now = utcnow()
    db.session.flush()  # what this request changed, before reading past the session
    rows = db.session.connection().execute(_panel_statement(), {"account_id": account.id}).all()
    first = rows[0] if rows else None
    state = first if first is not None and first.has_state is not None else None
    owner = workbench.owned_now(state, now)
    tasks = [OpenTask(r.task_id, r.kind, r.note, r.due_at) for r in rows if r.task_id is not None]
    requested = contact.asked_for(tasks, now, account.time_zone)
    active = any(p.state == PlanState.ACTIVE for p in case.plans)
    is_supervisor = staff is not None and staff.role is Role.SUPERVISOR
    return Panel(
        state=state,
        owner_name=state.owner_name if state is not None and owner is not None else None,
        owner_id=owner,
        tasks=tasks,
        call=contact.panel_call_status(account, active, requested, now),
        staff=workbench.care_staff() if is_supervisor else [],
        promise_limits=workbench.promise_limits_under(account, case.policy),
        now=now,
        me=staff.id if staff is not None else None,
    )


def note_form_for(template_code: str | None, call_allowed: bool = True) -> NoteForm:
    """The note form, pre-filled from a note template when one is chosen. Its "How" is a
    phone call by default only while the rules allow a call: outside the cardholder's
    contact hours (or over a cap, or with collection stopped) it starts at "No contact
    (note only)", so that writing a note after 21:00 is not refused as a call nobody made."""
    form = NoteForm(formdata=None)
    if not call_allowed:
        form.channel.data = "none"
    template = find_template(template_code)
    if template is not None:
        form.outcome.data, form.channel.data, form.text.data = template.outcome, template.channel, str(template.text)
    return form


def _back(account_id: int, anchor: str = "work") -> Response:
    return redirect(url_for("care.account", account_id=account_id) + f"#{anchor}")


def _render(account_id: int, status: int, **forms: Any) -> tuple[str, int]:
    from portal.care.views import _render_case

    return _render_case(account_id, status, **forms)


def _account_or_404(account_id: int) -> CardAccount:
    account = db.session.get(CardAccount, account_id)
    if account is None:
        abort(404)
    return account


# --- next case and ownership ---------------------------------------------------------------


@bp.route("/next", methods=["POST"])
@staff_required(*CARE)
def next_case() -> Response:
    form = NextCaseForm()
    if not form.validate_on_submit():
        abort(400)
    tiers = queries.policy_tiers()
    tier = (form.tier.data or "").strip()
    in_queue = queries.tier_condition(tiers, tier) if tier in tiers.names() else None
    account_id = workbench.next_case(staff_actor(), in_queue, workbench.tier_order(tiers))
    if account_id is None:
        flash(_("No case is waiting in this queue right now."), "info")
        return redirect(url_for("care.queue", tier=tier or "all"))
    flash(_("This case is yours for the next %(minutes)d minutes.", minutes=workbench.lease_minutes()), "info")
    return _back(account_id)


@bp.route("/accounts/<int:account_id>/owner", methods=["POST"])
@staff_required(*CARE)
def owner(account_id: int) -> Response | tuple[str, int]:
    _account_or_404(account_id)
    form = OwnerForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if form.action.data == "take":
            workbench.take_case(account_id, staff_actor())
            flash(_("The case is yours until you release it."), "info")
        elif form.action.data == "release":
            workbench.release_case(account_id, staff_actor())
            flash(_("The case is back in the queue."), "info")
        else:
            workbench.assign_case(account_id, form.staff.data or 0, staff_actor())
            flash(_("Case assigned."), "info")
    except CareError as error:
        db.session.rollback()
        flash(workbench_error(error.code), "error")
        return _render(account_id, 403 if error.code in ("owned_by_other", "supervisor_only_assign") else 422)
    return _back(account_id)


# --- tasks ---------------------------------------------------------------------------------


@bp.route("/accounts/<int:account_id>/tasks", methods=["POST"])
@staff_required(*CARE)
def schedule(account_id: int) -> Response | tuple[str, int]:
    account = _account_or_404(account_id)
    form = TaskForm()
    if form.validate_on_submit():
        try:
            task = workbench.schedule_task(
                account_id, TaskKind(form.kind.data), form.day.data, form.at.data, form.note.data or "", staff_actor()
            )
        except CareError as error:
            db.session.rollback()
            target = form.at if error.code in ("callback_outside_hours", "in_the_past") else form.note
            target.errors = [*target.errors, workbench_error(error.code, account=account)]
        else:
            what = _("Call-back") if task.kind == TaskKind.CALLBACK else _("Follow-up")
            flash(_("%(what)s set. It appears in your work list when it is due.", what=what), "info")
            return _back(account_id)
    return _render(account_id, 422, task_form=form)


@bp.route("/accounts/<int:account_id>/tasks/<int:task_id>/done", methods=["POST"])
@staff_required(*CARE)
def task_done(account_id: int, task_id: int) -> Response:
    _account_or_404(account_id)
    if not TaskDoneForm().validate_on_submit():
        abort(400)
    try:
        done = workbench.finish_task(account_id, task_id, staff_actor())
    except CareError:
        abort(404)
    flash(_("Marked done.") if done else _("It was done already."), "info")
    return _back(account_id)


# --- a promise taken by phone ----------------------------------------------------------------


@bp.route("/accounts/<int:account_id>/promise", methods=["POST"])
@staff_required(*CARE)
def phone_promise(account_id: int) -> Response | tuple[str, int]:
    account = _account_or_404(account_id)
    form = PhonePromiseForm()
    form.amount.currency = account.currency
    if form.validate_on_submit():
        assert form.amount.amount is not None, "AmountField.pre_validate parsed it: the form validated"
        try:
            made = workbench.take_phone_promise(account_id, form.amount.amount, form.pay_by.data, staff_actor())
        except CareError as error:
            db.session.rollback()
            target = form.pay_by if error.detail in ("date_in_past", "date_too_far") else form.amount
            target.errors = [*target.errors, workbench_error(error.code, error.detail, account)]
        else:
            flash(
                _(
                    "Promise recorded: %(amount)s by %(date)s. The cardholder gets a confirmation.",
                    amount=money(made.amount, made.currency),
                    date=local_date(made.pay_by, "medium"),
                ),
                "info",
            )
            return _back(account_id)
    return _render(account_id, 422, promise_form=form)
