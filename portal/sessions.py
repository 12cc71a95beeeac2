"""Signing in and out, and the checks every request makes on the session.

A session lives on the server (``portal.auth.server_sessions``: in the database, or in
the Redis all nodes share when ``PORTAL_REDIS_URL`` is set): the cookie holds a
random token, the language and a few references, never personal figures. A session
ends on sign-out, on lockout or re-enrolment, after ``PERMANENT_SESSION_LIFETIME``
(absolute, 8 hours by default) and after 15 minutes without a request for a cardholder,
30 for staff (``CARDHOLDER_IDLE_TIMEOUT``, ``STAFF_IDLE_TIMEOUT``); staff are sent back
to the staff sign-in.
"""

from __future__ import annotations

import contextlib
import copy
import time
from typing import Any

from flask import Flask, Request, flash, redirect, request, session, url_for
from flask import Response as FlaskResponse
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from portal.audit.service import Actor
from portal.auth import server_sessions
from portal.auth.server_sessions import check_session, end_session, start_session
from portal.db_types import utcnow
from portal.security import SmallPayloadSerializer
from portal.staff.service import record_sign_out
from portal.unit_of_work import keep_on_refusal

VERIFIED_COOKIES = 4096  # verified session cookies kept per worker (a few hundred bytes each)
_IMMUTABLE = (str, int, float, bool, type(None))

SESSION_TOKEN = "sid"  # noqa: S105 - the name of a session key, not a secret


def fresh_session() -> None:
    """Drop everything in the cookie except the language; a server-side session it
    named ends (signing in again must not leave the earlier token working)."""
    end_session(session.get(SESSION_TOKEN), utcnow(), "replaced")
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def begin(identity: Any) -> None:
    """Sign ``identity`` in with a new server-side session (after ``fresh_session``)."""
    login_user(identity)
    session.permanent = True  # the cookie expires with the absolute lifetime too
    session[SESSION_TOKEN] = start_session(identity.get_id(), utcnow())


def end(reason: str = "signed_out") -> None:
    """Sign out: end the session on the server, then forget it in the browser."""
    end_session(session.get(SESSION_TOKEN), utcnow(), reason)
    logout_user()
    fresh_session()


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, with its serializer made once per set of secret keys rather
    than twice a request: making one costs a trial serialisation (itsdangerous asks the
    JSON serializer what it produces), on every request, cookie or none.

    A cookie whose signature was verified is kept, with what it holds and when it was
    signed, so that its next request (the cookie stays the same until the session
    changes: ``SESSION_REFRESH_EACH_REQUEST`` is off) skips the HMAC, base64, zlib and
    tagged-JSON work, two thirds of a signed-in request that does nothing else. The key
    is the serializer (one per set of secret keys) and the whole cookie: the same bytes
    under the same keys hold the same session. Its age is checked again each time, as
    itsdangerous checks it, and each request gets its own copy of the data.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}
        self._verified: dict[tuple[URLSafeTimedSerializer, str], tuple[dict[str, Any], int]] = {}

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (serializer, cookie)
        kept = self._verified.get(key)
        if kept is None:
            try:
                data, signed = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
            except BadSignature:  # expired too, as Flask's own open_session answers
                return self.session_class()
            if not isinstance(data, dict):
                return self.session_class(data)
            if len(self._verified) >= VERIFIED_COOKIES:
                # The oldest out; another thread of a threaded server may be at it too.
                with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                    del self._verified[next(iter(self._verified))]
            kept = self._verified[key] = (data, int(signed.timestamp()))
        data, signed_at = kept
        if not 0 <= int(time.time()) - signed_at <= max_age:  # itsdangerous's age check
            self._verified.pop(key, None)
            return self.session_class()
        return self.session_class(_copy(data))

    def save_session(self, app: Flask, session: SessionMixin, response: FlaskResponse) -> None:
        if self.should_set_cookie(app, session):  # modified, or refreshed on every request
            super().save_session(app, session, response)
            return
        # Nothing to send (Flask's own answer too, after it has read seven cookie
        # settings): only the Vary header for a session that was read.
        if session.accessed:
            vary = response.headers.get("Vary")
            if not vary:
                response.headers["Vary"] = "Cookie"
            elif vary == "Accept-Encoding":  # what compression wrote: the usual case
                response.headers["Vary"] = "Accept-Encoding, Cookie"
            else:
                response.vary.add("Cookie")

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key)  # as Flask orders them
        found = self._serializers.get(keys)
        if found is None:
            if not app.secret_key:
                return None
            # Flask's own serializer (SecureCookieSessionInterface.get_signing_serializer),
            # writing a small session without trying to compress it first.
            found = self._serializers[keys] = SmallPayloadSerializer(
                list(keys),
                salt=self.salt,
                serializer=self.serializer,
                signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
            )
        return found


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    """A request's own copy of a kept session: what it may change in place (the list of
    flashed messages) copied, strings and numbers shared."""
    return {name: value if type(value) in _IMMUTABLE else copy.deepcopy(value) for name, value in data.items()}


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
    server_sessions.init_app(app)  # the database, or the shared Redis when configured
    timeout = app.config["CARDHOLDER_IDLE_TIMEOUT"]
    staff_timeout = app.config["STAFF_IDLE_TIMEOUT"]
    absolute = app.config["PERMANENT_SESSION_LIFETIME"]

    @app.before_request
    def enforce_session() -> Response | None:
        principal = session.get("_user_id")
        if request.endpoint == "static" or not isinstance(principal, str):
            return None
        staff = principal.startswith("s:")
        limit = staff_timeout if staff else timeout
        # A live session is touched at most once per TOUCH_EVERY (30 s): only then is
        # this a write, committed with the request; a plain read commits nothing. In
        # Redis the check and the touch are one round trip and no database query.
        verdict = check_session(session.get(SESSION_TOKEN), principal, utcnow(), limit, absolute)
        if verdict is None:
            return None
        keep_on_refusal()  # the session ended: that stands whatever the page answers
        if staff and verdict in ("idle", "expired"):
            record_sign_out(Actor.staff(principal[2:], request.remote_addr), reason="idle")
        logout_user()
        fresh_session()
        if verdict != "idle":
            return None  # carry on signed out: the page asks for sign-in if it needs it
        if staff:
            flash(
                _(
                    "You were signed out after %(minutes)s minutes without activity.",
                    minutes=int(limit.total_seconds() // 60),
                ),
                "info",
            )
            return redirect(url_for("staff.sign_in"))
        flash(_("You were signed out after 15 minutes without activity, to keep your account safe."), "info")
        return redirect(url_for("auth.sign_in"))
