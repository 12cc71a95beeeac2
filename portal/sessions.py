"""Idle timeout: a cardholder session ends after 15 minutes without a request."""

from __future__ import annotations

from flask import Flask, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from portal.db_types import utcnow


def init_app(app: Flask) -> None:
    timeout = app.config["CARDHOLDER_IDLE_TIMEOUT"]

    @app.before_request
    def enforce_idle_timeout() -> Response | None:
        if request.endpoint == "static":
            return None
        now = utcnow().timestamp()
        last_seen = session.get("last_seen")
        if current_user.is_authenticated and last_seen is not None and now - last_seen > timeout.total_seconds():
            locale = session.get("locale")
            logout_user()
            session.clear()
            if locale:
                session["locale"] = locale
            flash(_("You were signed out after 15 minutes without activity, to keep your account safe."), "info")
            return redirect(url_for("auth.sign_in"))
        if current_user.is_authenticated:
            session["last_seen"] = now
        return None
