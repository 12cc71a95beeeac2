"""Staff sign-in, sign-out and enrolment (under /care), and the /admin landing page."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal import sessions
from portal.auth import StaffIdentity
from portal.extensions import limiter
from portal.redirects import safe_next
from portal.staff import totp
from portal.staff.access import can_open, current_staff, home_endpoint, staff_actor, staff_required
from portal.staff.forms import EnrolForm, StaffSignInForm
from portal.staff.models import Role
from portal.staff.navigation import staff_nav
from portal.staff.service import (
    StaffError,
    StaffSignInFailed,
    authenticate,
    complete_enrolment,
    email_digest,
    open_enrolment,
    record_sign_out,
)

bp = Blueprint("staff", __name__)


@bp.app_context_processor
def staff_template_helpers() -> dict[str, object]:
    """``current_staff()``, ``staff_can(endpoint)`` and ``staff_nav()`` for the staff layouts."""
    return {"current_staff": current_staff, "staff_can": can_open, "staff_nav": staff_nav}


def generic_failure() -> str:
    """One message for every failure: it never says which part was wrong."""
    return _(
        "These details did not work. Check your e-mail, password and code, and try again. "
        "After 5 failed tries, sign-in pauses for 15 minutes."
    )


def _email_key() -> str:
    return "staff-email:" + email_digest(request.form.get("email", "")[:254], current_app.config["SECRET_KEY"])


def _email_and_address_key() -> str:
    """One e-mail from one address: a stranger's tries never use up the person's own."""
    return f"{_email_key()}:{request.remote_addr}"


def _token_key() -> str:
    return "enrol:" + (request.view_args or {}).get("token", "")[:100]


@bp.route("/care/sign-in", methods=["GET", "POST"])
@limiter.limit("20 per minute; 100 per hour", methods=["POST"])
@limiter.limit("10 per 15 minutes", key_func=_email_and_address_key, methods=["POST"])
@limiter.limit("60 per 15 minutes", key_func=_email_key, methods=["POST"])
def sign_in() -> Response | str | tuple[str, int]:
    staff = current_staff()
    if staff is not None and request.method == "GET":
        return redirect(url_for(home_endpoint(staff.role)))
    form = StaffSignInForm()
    if form.validate_on_submit():
        try:
            user = authenticate(
                form.email.data,
                form.password.data,
                form.code.data,
                current_app.config["SECRET_KEY"],
                request.remote_addr,
            )
        except StaffSignInFailed:
            form.code.errors.append(generic_failure())
        else:
            sessions.fresh_session()  # nothing from before carries over except the language
            sessions.begin(StaffIdentity(user))
            target = safe_next(request.args.get("next"))
            return redirect(target or url_for(home_endpoint(Role(user.role))))
    status = 422 if form.is_submitted() else 200
    return render_template("staff/sign_in.html", form=form), status


@bp.route("/care/sign-out", methods=["POST"])
def sign_out() -> Response:
    # CSRFProtect has already checked the token: signing out cannot be forged.
    if current_staff() is not None:
        record_sign_out(staff_actor())
    sessions.end()
    flash(_("You have signed out."), "info")
    return redirect(url_for("staff.sign_in"))


@bp.route("/care/enrol/<token>", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", key_func=_token_key, methods=["POST"])
def enrol(token: str) -> Response | str | tuple[str, int]:
    secret_key = current_app.config["SECRET_KEY"]
    enrolment = open_enrolment(token, secret_key)
    if enrolment is None:
        return render_template("staff/enrol_invalid.html"), 404
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            complete_enrolment(token, form.password.data, form.code.data, secret_key, request.remote_addr)
        except StaffError as error:
            if error.code == "link_invalid":
                return render_template("staff/enrol_invalid.html"), 404
            target = form.code if error.code == "code_wrong" else form.password
            target.errors.append(_enrol_message(error.code))
        else:
            sessions.fresh_session()
            flash(_("You are set up. Sign in with your new password and the next code your app shows."), "info")
            return redirect(url_for("staff.sign_in"))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "staff/enrol.html", form=form, enrolment=enrolment, qr=totp.qr_data_uri(enrolment.uri)
    ), status


def _enrol_message(code: str) -> str:
    if code == "password_too_short":
        return _("Choose a password of at least 12 characters.")
    if code == "password_too_long":
        return _("Choose a password of at most 256 characters.")
    if code == "password_is_email":
        return _("Choose a password that is not your e-mail address.")
    return _("That code did not work. Check the key in your app and type the code it shows now.")


@bp.route("/admin/")
@staff_required(Role.POLICY_ADMIN, Role.AUDITOR)
def admin_home() -> str:
    return render_template("admin/home.html")
