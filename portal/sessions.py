"""Idle timeout: a cardholder session ends after 15 minutes without a request, a staff
session after 30 (``STAFF_IDLE_TIMEOUT``); staff are sent back to the staff sign-in."""

from __future__ import annotations

from flask import Flask, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from portal.db_types import utcnow


def init_app(app: Flask) -> None:
    timeout = app.config["CARDHOLDER_IDLE_TIMEOUT"]
    staff_timeout = app.config["STAFF_IDLE_TIMEOUT"]

    @app.before_request
    def enforce_idle_timeout() -> Response | None:
        if request.endpoint == "static":
            return None
        now = utcnow().timestamp()
        last_seen = session.get("last_seen")
        staff = getattr(current_user, "kind", None) == "staff"
        limit = (staff_timeout if staff else timeout).total_seconds()
        if current_user.is_authenticated and last_seen is not None and now - last_seen > limit:
            locale = session.get("locale")
            if staff:
                from portal.audit.service import Actor
                from portal.staff.service import record_sign_out

                record_sign_out(Actor("staff", str(current_user.id), request.remote_addr), reason="idle")
            logout_user()
            session.clear()
            if locale:
                session["locale"] = locale
            if staff:
                flash(_("You were signed out after %(minutes)s minutes without activity.",
                        minutes=int(limit // 60)), "info")
                return redirect(url_for("staff.sign_in"))
            flash(_("You were signed out after 15 minutes without activity, to keep your account safe."), "info")
            return redirect(url_for("auth.sign_in"))
        if current_user.is_authenticated:
            session["last_seen"] = now
        return None
