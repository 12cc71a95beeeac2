"""The cardholder's side of a plan link: ``/l/<token>`` shows nothing before sign-in.

A usable link is remembered in the session (``session["link_id"]``) and the person is
sent to the ordinary sign-in. After sign-in the journey calls :func:`link_for_session`,
which gives the link only to the account it was sent to. Any link that cannot be used
(unknown, expired, used, revoked, tampered) gets one and the same page.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from portal.extensions import limiter
from portal.links.models import PlanLink
from portal.links.service import open_link, verified_link

bp = Blueprint("links", __name__)

# One status for every unusable link, so the answer says nothing about which case it is.
UNAVAILABLE_STATUS = 410


@bp.route("/l/<token>")
@limiter.limit("30 per hour; 10 per minute")
def open_plan_link(token: str) -> Response | tuple[str, int]:
    link = open_link(token, request.remote_addr)
    if link is None:
        return render_template("links/unavailable.html"), UNAVAILABLE_STATUS
    session["link_id"] = link.id
    return redirect(url_for("auth.sign_in"))


def link_for_session(account_id: int) -> PlanLink | None:
    """The session's link if it is still usable and was sent to ``account_id`` (the
    signed-in cardholder's account); marks it verified. Otherwise forgets it, returns None."""
    link_id = session.get("link_id")
    if link_id is None:
        return None
    link = verified_link(link_id, account_id, request.remote_addr)
    if link is None:
        session.pop("link_id", None)
    return link
