"""Cardholder sign-in pages: card and date of birth, then the code."""

from __future__ import annotations

import hashlib

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import sessions
from portal.auth import CardholderIdentity
from portal.auth.forms import CardForm, CodeForm
from portal.auth.service import SignInFailed, SignInSettings, start_sign_in, verify_code
from portal.extensions import limiter
from portal.i18n import LOCALES
from portal.redirects import safe_next
from portal.security import card_hash, normalise_digits

bp = Blueprint("auth", __name__)
PENDING = "pending_signin"  # the session key of the pending sign-in's challenge


def generic_failure() -> str:
    """One message for every failure, so it never reveals which part was wrong."""
    return _(
        "These details did not work. Check them and try again. After 5 wrong codes, sign-in pauses for 15 minutes."
    )


def _settings() -> SignInSettings:
    return SignInSettings(card_key=current_app.config["CARD_HASH_KEY"], bank_name=current_app.config["BANK_NAME"])


def _card_key_for_limit() -> str:
    """Rate-limit key for one card: its keyed hash, never the number itself."""
    digits = normalise_digits(request.form.get("card_number", ""))[:40]
    return "card:" + card_hash(digits, current_app.config["CARD_HASH_KEY"])


def _card_and_address_key_for_limit() -> str:
    """One card from one address: a stranger typing someone's card number runs out of
    tries for themselves, long before the card's own (wider) bucket fills."""
    return f"{_card_key_for_limit()}:{request.remote_addr}"


def _pending_key_for_limit() -> str:
    """Code tries per pending sign-in. Every first step makes its own random challenge,
    matching or not, so no bucket is shared between people (or between outcomes)."""
    challenge = session.get(PENDING)
    if isinstance(challenge, str):
        return "otp:" + hashlib.sha256(challenge.encode()).hexdigest()
    return f"otp-none:{request.remote_addr}"


def _signed_in_home() -> str:
    """Where a signed-in person belongs: staff to the care desk, cardholders to their account."""
    if getattr(current_user, "kind", None) == "staff":
        return url_for("care.queue")
    return url_for("accounts.overview")


@bp.route("/")
def home() -> Response | str:
    if current_user.is_authenticated:
        return redirect(_signed_in_home())
    return redirect(url_for("auth.sign_in"))


@bp.get("/sign-in")
def sign_in_form() -> Response | tuple[str, int]:
    """The empty form, at the address of ``sign_in`` (``url_for("auth.sign_in")``). A view
    of its own: the limits of ``sign_in`` count POSTs only, and Flask-Limiter's wrappers
    cost a GET some 10 µs to learn that."""
    if current_user.is_authenticated:
        return redirect(_signed_in_home())
    # The empty form reads the same for everyone in a language: the page renders its
    # fields once per language (templates/auth/sign_in.html), so the form is made only
    # when they are not kept yet (new_form).
    return render_template("auth/sign_in.html", form=None, new_form=CardForm), 200


@bp.post("/sign-in")
@limiter.limit("30 per hour; 10 per minute", methods=["POST"])
@limiter.limit("10 per hour", key_func=_card_and_address_key_for_limit, methods=["POST"])
@limiter.limit("60 per hour", key_func=_card_key_for_limit, methods=["POST"])
def sign_in() -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(_signed_in_home())
    form = CardForm()
    if form.validate_on_submit():
        challenge = start_sign_in(form.card_number.data, form.date_of_birth.data, _settings(), request.remote_addr)
        session[PENDING] = challenge
        return redirect(url_for("auth.enter_code"))
    return render_template("auth/sign_in.html", form=form), 422


@bp.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit("40 per hour; 10 per minute", methods=["POST"])
@limiter.limit("10 per 15 minutes", key_func=_pending_key_for_limit, methods=["POST"])
def enter_code() -> Response | tuple[str, int]:
    if PENDING not in session:
        return redirect(url_for("auth.sign_in"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            account = verify_code(session.get(PENDING), form.code.data, _settings(), request.remote_addr)
        except SignInFailed:
            form.code.errors.append(generic_failure())
        else:
            link_id = session.get("link_id")
            sessions.fresh_session()  # a fresh session at sign-in: nothing from before carries over
            if link_id:  # except an opened plan link: links.views.link_for_session checks its account
                session["link_id"] = link_id
            sessions.begin(CardholderIdentity(account))
            if link_id:
                return redirect(url_for("journey.from_link"))
            return redirect(url_for("accounts.overview"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/code.html", form=form), status


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> Response:
    # CSRFProtect has already checked the token: signing out cannot be forged.
    sessions.end()
    flash(_("You have signed out. Thank you."), "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/language/<code>")
def set_language(code: str) -> Response:
    if code not in LOCALES:
        abort(404)
    session["locale"] = code
    # Only same-site paths: never let the switcher become an open redirect.
    return redirect(safe_next(request.args.get("next")) or url_for("auth.home"))
