"""Staff management in the browser (/admin/staff) for supervisors and staff admins.

List staff; create a member of staff (the enrolment link is shown once, in the answer to
the form, and kept nowhere else); change a role; disable or enable; reset the
authenticator (a new enrolment link). Who may do what is decided by the service
(``portal.staff.management``), the same one the command line uses; the page only hides
the buttons a role could not use.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal.audit.names import ROLES
from portal.extensions import db
from portal.staff.access import current_staff, staff_actor, staff_required
from portal.staff.authority import MANAGERS, manageable_roles
from portal.staff.forms import NewStaffForm, RoleForm
from portal.staff.management import change_role, create_staff, reissue_enrolment, set_active, staff_list
from portal.staff.models import Role, StaffUser
from portal.staff.service import StaffError

bp = Blueprint("staff_admin", __name__, url_prefix="/admin/staff")
MANAGER_ROLES = tuple(MANAGERS)


@dataclass(frozen=True)
class ShownLink:
    """An enrolment link to hand over now: it is shown this once and stored only as a hash."""

    name: str
    email: str
    url: str
    reset: bool


def staff_error_message(code: str) -> str:
    messages = {
        "bad_email": _("Enter a work e-mail address, like name@bank.example."),
        "email_taken": _("A member of staff already has this e-mail address."),
        "unknown_role": _("Choose one of the roles listed."),
        "unknown_staff": _("We could not find this member of staff."),
        "not_allowed": _("Your role cannot make this change. A staff admin can."),
        "own_account": _("You cannot change your own account. Ask another supervisor or a staff admin."),
        "last_admin": _("This is the last active staff admin. Make someone else a staff admin first."),
    }
    return messages.get(code, _("That did not work. Please try again."))


def _role_choices(roles: frozenset[Role]) -> list[SelectChoice]:
    return [SelectChoice(role.value, str(ROLES[role])) for role in Role if role in roles]


def _render(new: NewStaffForm | None = None, shown: ShownLink | None = None, status: int = 200) -> tuple[str, int]:
    me = current_staff()
    allowed = manageable_roles(me.role if me else None)
    choices = _role_choices(allowed)
    if new is None:
        new = NewStaffForm(formdata=None)
        new.role.data = Role.AGENT.value
    new.role.choices = choices
    role_forms = {}
    for member in (members := staff_list()):
        form = RoleForm(formdata=None, prefix=f"s{member.id}")
        form.role.choices, form.role.data = choices, member.role
        role_forms[member.id] = form
    return render_template(
        "admin/staff/index.html",
        members=members,
        new=new,
        role_forms=role_forms,
        manageable={m.id for m in members if Role(m.role) in allowed and m.id != (me.id if me else None)},
        shown=shown,
    ), status


def _member(staff_id: int) -> StaffUser:
    member = db.session.get(StaffUser, staff_id)
    if member is None:
        abort(404)
    return member


def _refused(error: StaffError) -> Response:
    db.session.rollback()
    flash(staff_error_message(error.code), "error")
    return redirect(url_for("staff_admin.index"))


@bp.route("/")
@staff_required(*MANAGER_ROLES)
def index() -> tuple[str, int]:
    return _render()


@bp.route("/new", methods=["POST"])
@staff_required(*MANAGER_ROLES)
def create() -> tuple[str, int]:
    form = NewStaffForm()
    me = current_staff()
    form.role.choices = _role_choices(manageable_roles(me.role if me else None))
    if not form.validate_on_submit():
        return _render(form, status=422)
    secret_key = current_app.config["SECRET_KEY"]
    try:
        user, token = create_staff(form.email.data, form.role.data, form.name.data or "", staff_actor(), secret_key)
    except StaffError as error:
        db.session.rollback()
        target = form.role if error.code in ("not_allowed", "unknown_role") else form.email
        target.errors = [*target.errors, staff_error_message(error.code)]
        return _render(form, status=422)
    url = url_for("staff.enrol", token=token, _external=True)
    return _render(shown=ShownLink(user.display_name, user.email, url, reset=False), status=201)


@bp.route("/<int:staff_id>/role", methods=["POST"])
@staff_required(*MANAGER_ROLES)
def role(staff_id: int) -> Response:
    member = _member(staff_id)
    form = RoleForm(prefix=f"s{staff_id}")
    form.role.choices = _role_choices(frozenset(Role))
    if not form.validate_on_submit():
        flash(staff_error_message("unknown_role"), "error")
        return redirect(url_for("staff_admin.index"))
    try:
        change_role(member.email, form.role.data, staff_actor())
    except StaffError as error:
        return _refused(error)
    flash(_("%(name)s is now: %(role)s.", name=member.display_name, role=ROLES[Role(member.role)]), "info")
    return redirect(url_for("staff_admin.index"))


@bp.route("/<int:staff_id>/disable", methods=["POST"])
@staff_required(*MANAGER_ROLES)
def disable(staff_id: int) -> Response:
    return _set_active(staff_id, False)


@bp.route("/<int:staff_id>/enable", methods=["POST"])
@staff_required(*MANAGER_ROLES)
def enable(staff_id: int) -> Response:
    return _set_active(staff_id, True)


def _set_active(staff_id: int, active: bool) -> Response:
    member = _member(staff_id)
    try:
        set_active(member.email, active, staff_actor())
    except StaffError as error:
        return _refused(error)
    if active:
        flash(_("%(name)s can sign in again.", name=member.display_name), "info")
    else:
        flash(_("%(name)s can no longer sign in. Their open sessions have ended.", name=member.display_name), "info")
    return redirect(url_for("staff_admin.index"))


@bp.route("/<int:staff_id>/reset", methods=["POST"])
@staff_required(*MANAGER_ROLES)
def reset(staff_id: int) -> Response | tuple[str, int]:
    member = _member(staff_id)
    try:
        user, token = reissue_enrolment(member.email, staff_actor(), current_app.config["SECRET_KEY"])
    except StaffError as error:
        return _refused(error)
    url = url_for("staff.enrol", token=token, _external=True)
    return _render(shown=ShownLink(user.display_name, user.email, url, reset=True))
