"""Policy administration under /admin/policies: versions, editor, approval, diff, impact.

Policy admins draft, submit and decide; auditors read everything (list, versions, diff,
impact) and change nothing. Who may do which step is decided by the workflow service,
not by what the page shows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal.audit.names import actor_names
from portal.db_types import utcnow
from portal.extensions import db
from portal.inputs import InputError, parse_int
from portal.offers.expectations import expectations
from portal.offers.impact import compare, preview
from portal.offers.tier_moves import tier_moves
from portal.policies import workflow
from portal.policies.cache import load_policy
from portal.policies.diff import ABSENT
from portal.policies.diff import diff as document_diff
from portal.policies.forms import (
    ActionForm,
    ApproveForm,
    NewDraftForm,
    RejectForm,
    SubmitForm,
    document_data,
    editor_form,
    new_tier_data,
    read_policy,
    show_problems,
)
from portal.policies.messages import SECTIONS, STATES, error_message, field_info, show_value
from portal.policies.models import PolicyState, PolicyVersion, current_document
from portal.staff.access import current_staff, staff_actor, staff_required
from portal.staff.models import Role

bp = Blueprint("policies", __name__, url_prefix="/admin/policies")

READERS = (Role.POLICY_ADMIN, Role.AUDITOR)
MAX_TIERS = 20
_STATUS = {
    "not_found": 404,
    "not_author": 403,
    "own_draft": 403,
    "not_draft": 409,
    "not_pending": 409,
    "changed_since_review": 409,
    "experiment_running": 409,
    "currency_mismatch": 400,
    "unknown_currency": 400,
    "comment_required": 400,
    "effective_in_past": 400,
    "invalid": 422,
}


@bp.errorhandler(workflow.PolicyError)
def refused(error: workflow.PolicyError) -> tuple[str, int]:
    """A refused step: nothing was written; say why, with the matching status."""
    db.session.rollback()
    number = (request.view_args or {}).get("number")
    review_url = url_for(".review", number=number) if error.code == "changed_since_review" and number else None
    return render_template(
        "admin/policies/refused.html", message=error_message(error.code), review_url=review_url
    ), _STATUS.get(error.code, 400)


def _names(versions: list[PolicyVersion]) -> dict[str, str]:
    """Actor keys (``staff:12``) → names and roles, for authors, submitters and approvers."""
    return actor_names(k for v in versions for k in (v.author, v.submitted_by, v.approver))


def _me() -> str:
    return staff_actor().key


def _is_admin() -> bool:
    staff = current_staff()
    return bool(staff and staff.role == Role.POLICY_ADMIN)


# Globals rather than context, so that imported macros see them too.
_helpers: dict[str, Callable[..., Any]] = {
    "policy_state_label": lambda state: STATES.get(state, state),
    "plan_type_label": SECTIONS.get,
    "policy_field_info": field_info,
    "policy_value": show_value,
}
for _name, _helper in _helpers.items():
    bp.add_app_template_global(_helper, _name)
bp.record_once(lambda state: state.app.jinja_env.globals.update(absent=ABSENT))


# --- list and one version -------------------------------------------------------------


@bp.route("/")
@staff_required(*READERS)
def index() -> str:
    workflow.activate_due_versions(utcnow())  # show states as every reader of the policy sees them
    versions = list(db.session.execute(select(PolicyVersion).order_by(PolicyVersion.number.desc())).scalars())
    currencies = sorted({v.currency for v in versions if v.state == PolicyState.ACTIVE}) or ["CNY"]
    return render_template(
        "admin/policies/index.html",
        versions=versions,
        names=_names(versions),
        currencies=currencies,
        new_form=NewDraftForm(),
        can_write=_is_admin(),
    )


@bp.route("/new", methods=["POST"])
@staff_required(Role.POLICY_ADMIN)
def new_draft() -> Response:
    form = NewDraftForm()
    if not form.validate_on_submit():
        abort(400)
    version = workflow.create_draft(staff_actor(), form.currency.data.upper())
    flash(_("Draft version %(number)s created from the active version.", number=version.number), "info")
    return redirect(url_for(".edit", number=version.number))


@bp.route("/<int:number>")
@staff_required(*READERS)
def show(number: int) -> str:
    workflow.activate_due_versions(utcnow())
    version = workflow.get_version(number)
    base = db.session.get(PolicyVersion, version.based_on_id) if version.based_on_id else None
    active = workflow.active_or_none(version.currency)
    return render_template(
        "admin/policies/show.html",
        version=version,
        base=base,
        active=active,
        names=_names([version]),
        rows=document_diff(current_document(version), current_document(version)),
        me=_me(),
        can_write=_is_admin(),
        submit_form=SubmitForm(),
        action_form=ActionForm(),
    )


# --- editing --------------------------------------------------------------------------


@bp.route("/<int:number>/edit", methods=["GET", "POST"])
@staff_required(Role.POLICY_ADMIN)
def edit(number: int) -> Any:
    version = workflow.get_version(number)
    if version.state != PolicyState.DRAFT:
        raise workflow.PolicyError("not_draft")
    if version.author != _me():
        raise workflow.PolicyError("not_author")
    if request.method == "GET":
        document = current_document(version)
        form = editor_form(len(document["tiers"]), version.currency, data=document_data(document))
        return render_template("admin/policies/edit.html", version=version, form=form)
    try:
        count = parse_int(request.form.get("tier_count", ""), 0, MAX_TIERS)
    except InputError:
        abort(400)
    adding = request.form.get("action") == "add_tier" and count < MAX_TIERS
    form = editor_form(
        count + adding, version.currency, formdata=request.form, data=new_tier_data(count) if adding else None
    )
    if not form.validate():  # CSRF only: the limits are checked by the service
        abort(400)
    if adding:
        return render_template("admin/policies/edit.html", version=version, form=form, added=True)
    policy, kept = read_policy(form, version.currency)
    if policy is not None:
        try:
            workflow.save_draft(number, policy, staff_actor())
        except workflow.InvalidPolicyError as invalid:
            db.session.rollback()
            show_problems(form, invalid.problems, kept, [t.name for t in policy.tiers])
        else:
            flash(_("Draft saved."), "info")
            return redirect(url_for(".show", number=number))
    return render_template("admin/policies/edit.html", version=version, form=form), 422


# --- workflow steps -------------------------------------------------------------------


@bp.route("/<int:number>/submit", methods=["POST"])
@staff_required(Role.POLICY_ADMIN)
def submit(number: int) -> Response:
    form = SubmitForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        workflow.submit(number, staff_actor(), form.comment.data)
    except workflow.InvalidPolicyError:
        db.session.rollback()
        flash(error_message("invalid"), "error")
        return redirect(url_for(".edit", number=number))
    flash(_("Sent for approval. Another policy admin must approve it."), "info")
    return redirect(url_for(".show", number=number))


@bp.route("/<int:number>/withdraw", methods=["POST"])
@staff_required(Role.POLICY_ADMIN)
def withdraw(number: int) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    workflow.withdraw(number, staff_actor())
    flash(_("Withdrawn: the version is a draft again."), "info")
    return redirect(url_for(".show", number=number))


@bp.route("/<int:number>/review")
@staff_required(*READERS)
def review(number: int) -> str:
    workflow.activate_due_versions(utcnow())
    return _review(workflow.get_version(number), ApproveForm(), RejectForm())


def _review(version: PolicyVersion, approve_form: ApproveForm, reject_form: RejectForm) -> str:
    # The approval names exactly the content this page shows (also when re-shown after an error).
    approve_form.reviewed.data = workflow.review_digest(version)
    active = workflow.active_or_none(version.currency)
    now = utcnow()
    proposed_policy = load_policy(version)
    current_policy = load_policy(active) if active is not None and active.id != version.id else None
    proposed = preview(proposed_policy, now)
    current = preview(current_policy, now) if current_policy is not None else None
    changes = (
        [row for row in document_diff(current_document(active), current_document(version)) if row.changed]
        if current and active
        else []
    )  # current implies active; mypy needs both
    return render_template(
        "admin/policies/review.html",
        version=version,
        active=active,
        proposed=proposed,
        current=current,
        rows=compare(proposed, current),
        moves=tier_moves(proposed_policy, current_policy) if current_policy is not None else [],
        expected=expectations(
            proposed_policy, proposed, current_policy, current, now.astimezone(ZoneInfo(str(get_timezone()))).date()
        ),
        changes=changes,
        names=_names([version]),
        me=_me(),
        can_write=_is_admin(),
        approve_form=approve_form,
        reject_form=reject_form,
    )


@bp.route("/<int:number>/approve", methods=["POST"])
@staff_required(Role.POLICY_ADMIN)
def approve(number: int) -> Any:
    form = ApproveForm()
    if not form.validate_on_submit():
        return _review(workflow.get_version(number), form, RejectForm()), 400
    effective = None
    if form.effective_on.data:
        effective = datetime.combine(form.effective_on.data, time(0), tzinfo=ZoneInfo(str(get_timezone())))
    try:
        version = workflow.approve(number, staff_actor(), form.reviewed.data, effective, form.comment.data)
    except workflow.PolicyError as error:
        if error.code != "effective_in_past":
            raise
        db.session.rollback()
        form.effective_on.errors = [error_message(error.code)]
        return _review(workflow.get_version(number), form, RejectForm()), 400
    if version.state == PolicyState.SCHEDULED:
        flash(_("Approved. Version %(number)s becomes active on its effective date.", number=number), "info")
    else:
        flash(_("Approved. Version %(number)s is now active.", number=number), "info")
    return redirect(url_for(".show", number=number))


@bp.route("/<int:number>/reject", methods=["POST"])
@staff_required(Role.POLICY_ADMIN)
def reject(number: int) -> Any:
    form = RejectForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        workflow.reject(number, staff_actor(), form.reason.data or "")
    except workflow.PolicyError as error:
        if error.code != "comment_required":
            raise
        db.session.rollback()
        form.reason.errors = [error_message(error.code)]
        return _review(workflow.get_version(number), ApproveForm(formdata=None), form), 400
    flash(_("Rejected. The author can see your reason."), "info")
    return redirect(url_for(".show", number=number))


# --- comparing --------------------------------------------------------------------------


@bp.route("/diff")
@staff_required(*READERS)
def diff() -> str:
    versions = list(db.session.execute(select(PolicyVersion).order_by(PolicyVersion.number.desc())).scalars())
    by_number = {v.number: v for v in versions}
    old = by_number.get(request.args.get("a", type=int) or 0)
    new = by_number.get(request.args.get("b", type=int) or 0)
    only_changes = request.args.get("changes") == "1"
    rows = document_diff(current_document(old), current_document(new)) if old and new else []
    shown = [r for r in rows if r.changed] if only_changes else rows
    return render_template(
        "admin/policies/diff.html",
        versions=versions,
        old=old,
        new=new,
        rows=shown,
        changed=sum(r.changed for r in rows),
        only_changes=only_changes,
    )
