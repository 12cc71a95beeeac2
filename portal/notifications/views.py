"""Development-only outbox page: registered only when ``DEV_OUTBOX_PAGE`` is on."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.notifications.service import recent_messages

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.route("/outbox")
def outbox() -> str:
    return render_template("dev/outbox.html", messages=recent_messages())
