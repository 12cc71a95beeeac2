"""Opt-out endpoints: the SMS provider's webhooks and the e-mail unsubscribe page.

The webhooks are machine-to-machine: authenticated by the shared key in ``X-SMS-Key``
(compared in constant time) instead of a CSRF token. The unsubscribe page asks the person
to confirm with a button (a POST with CSRF), because mail scanners open links on their own.
A mail client's one-click unsubscribe (RFC 8058) POSTs ``List-Unsubscribe=One-Click`` to
the same address without a CSRF token: the signed token in the address is its proof, and
scanners only ever GET.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from werkzeug.wrappers import Response

from portal.extensions import csrf, limiter
from portal.forms import PortalForm
from portal.inputs import cleans_its_own_input, without_controls
from portal.integrations.sms import KEY_HEADER
from portal.notifications.delivery import record_delivery_report
from portal.notifications.optout import account_for_unsubscribe, handle_inbound_sms, unsubscribe_email

bp = Blueprint("optout", __name__)


def _check_key() -> None:
    expected = current_app.config.get("SMS_INBOUND_KEY") or ""
    given = request.headers.get(KEY_HEADER, "")
    if not expected:
        abort(403)  # no key configured: the webhooks are off
    if not hmac.compare_digest(given.encode(), expected.encode()):
        abort(401)


def _payload() -> dict[str, Any]:
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        data = request.form.to_dict()
    return data


def _text(data: dict[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if isinstance(value, str | int):
            return without_controls(str(value))[:1000]
    return ""


@bp.route("/hooks/sms/inbound", methods=["POST"])
@csrf.exempt
@cleans_its_own_input
def sms_inbound() -> Response:
    """A text from a cardholder. ``{"from": "+86…", "text": "STOP"}`` (JSON or form).

    Answers ``{"ok": true, "opted_out": n, "filed": m}``: accounts opted out of texts, and
    accounts whose case file got a reply that was not a STOP word.
    """
    _check_key()
    data = _payload()
    sender, text = _text(data, "from", "sender", "msisdn"), _text(data, "text", "body", "message")
    if not sender:
        abort(400)
    result = handle_inbound_sms(sender, text)
    return jsonify(ok=True, opted_out=result.opted_out, filed=result.filed)


@bp.route("/hooks/sms/status", methods=["POST"])
@csrf.exempt
def sms_status() -> Response:
    """A delivery report: ``{"reference": "<outbox id>", "id": "<provider id>", "status": "delivered"}``."""
    _check_key()
    data = _payload()
    status = _text(data, "status").lower()
    found = record_delivery_report(
        _text(data, "reference") or None, _text(data, "id", "message_id") or None, delivered=status == "delivered"
    )
    return jsonify(ok=True, matched=found)


class ConfirmForm(PortalForm):
    """Only the CSRF token: the button is the whole form."""


ONE_CLICK = ("List-Unsubscribe", "One-Click")


def _one_click() -> bool:
    return request.method == "POST" and request.form.get(ONE_CLICK[0]) == ONE_CLICK[1]


def _address_token() -> str:
    return str((request.view_args or {}).get("token", ""))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the confirmation form checks its own token; one-click POSTs carry none
# People are limited by their address. One-click POSTs come from a few mail-provider
# servers on behalf of everyone, so they are limited per unsubscribe address instead.
@limiter.limit("30 per hour", exempt_when=_one_click)
@limiter.limit("10 per hour", key_func=_address_token, exempt_when=lambda: not _one_click())
def unsubscribe(token: str) -> tuple[str, int] | str:
    account_id = account_for_unsubscribe(token)
    if account_id is None:
        return render_template("optout/invalid.html"), 404
    if request.method == "POST":
        if _one_click():
            unsubscribe_email(account_id, request.remote_addr, via="one_click")
            return render_template("optout/done.html")  # mail clients ignore it; a person would not
        csrf.protect()  # the confirmation button: the usual check, and its "form expired" page
    form = ConfirmForm()
    if form.validate_on_submit():
        unsubscribe_email(account_id, request.remote_addr)
        return render_template("optout/done.html")
    return render_template("optout/confirm.html", form=form)
