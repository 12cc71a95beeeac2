"""The delivery monitor under /care/messages (supervisors): cardholder messages held,
retrying, given up on or blocked, per channel, with requeue under the contact rules."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms import IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from portal.care import message_labels
from portal.care.forms import QueryForm
from portal.care.labels import care_label
from portal.forms import PortalForm
from portal.notifications import monitor
from portal.notifications.rules import CHANNELS
from portal.staff.access import staff_actor, staff_required
from portal.staff.models import Role

bp = Blueprint("care_messages", __name__, url_prefix="/care/messages")

GROUPS = {
    "held": _l("Held"),
    "retrying": _l("Retrying"),
    "dead": _l("Failed (dead letters)"),
    "blocked": _l("Blocked"),
}
GROUP_HELP = {
    "held": _l("Waiting for contact hours in the cardholder's time zone. They go by themselves."),
    "retrying": _l("An attempt failed; the worker tries again after 1, 5 and 25 minutes."),
    "dead": _l(
        "Given up after the last attempt or a permanent error. Requeue once the cause is fixed: "
        "the contact rules are checked again first."
    ),
    "blocked": _l(
        "Stopped by a contact rule. Requeue only when the rule no longer applies: a message the rules "
        "still forbid stays blocked."
    ),
}


class MonitorForm(QueryForm):
    group = SelectField(choices=list(monitor.GROUPS), validators=[Optional()])
    channel = SelectField(choices=["", *CHANNELS], validators=[Optional()])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100000)])


class RequeueForm(PortalForm):
    pass


def requeue_error_message(code: str, detail: str | None = None) -> str:
    if code == "still_blocked":
        return _(
            "Not requeued: %(reason)s. The contact rules still forbid this message.",
            reason=message_labels.blocked_sentence(detail),
        )
    messages = {
        "not_stopped": _("That message is no longer failed or blocked: someone has requeued it, or it was sent."),
        "link_revoked": _("That link was revoked: its message is not sent."),
        "secret_gone": _(
            "This message carried a one-time link or code, forgotten when it stopped. "
            "Send a new link from the case file."
        ),
        "stale": _(
            "This reminder was written for an earlier day, so it would now give the wrong date. "
            "It is not sent late: the daily run sends the next reminder when one is due."
        ),
        "no_contact": _("There is no contact on file for that channel any more."),
    }
    return messages.get(code, _("That did not work. Please try again."))


def _reason(row: monitor.MonitorRow) -> str:
    message = row.message
    if message.status == "blocked":
        return message_labels.blocked_label(message.blocked_reason)
    if message.held_reason:
        return message_labels.held_label(message.held_reason)
    return ""


@bp.route("/")
@staff_required(Role.SUPERVISOR)
def index() -> tuple[str, int]:
    form = MonitorForm(formdata=request.args)
    valid = form.validate()
    counts = monitor.counts()
    group = form.group.data if valid and form.group.data else _first_group(counts)
    channel = (form.channel.data or None) if valid else None
    page = monitor.messages(group, channel, (form.page.data or 1) if valid else 1)
    return render_template(
        "care/messages.html",
        counts=counts,
        page=page,
        groups=GROUPS,
        group_help=GROUP_HELP[group],
        channels=CHANNELS,
        channel_label=lambda code: care_label("link_channel", code),
        kind_label=message_labels.kind_label,
        reason=_reason,
        requeue_form=RequeueForm(),
    ), 200 if valid else 422


def _first_group(counts: dict[str, dict[str, int]]) -> str:
    """The page opens on the first group with something in it, dead letters before held."""
    for group in ("dead", "retrying", "blocked", "held"):
        if any(counts[group].values()):
            return group
    return "dead"


@bp.route("/<int:message_id>/requeue", methods=["POST"])
@staff_required(Role.SUPERVISOR)
def requeue(message_id: int) -> Response:
    if not RequeueForm().validate_on_submit():
        abort(400)
    back: dict[str, Any] = {k: v for k, v in request.args.items() if k in ("group", "channel", "page") and v}
    try:
        message = monitor.requeue_message(message_id, staff_actor())
    except monitor.RequeueError as error:
        if error.code == "not_found":
            abort(404)
        flash(requeue_error_message(error.code, error.detail), "error")
    else:
        if message.held_reason:
            flash(_("Queued again. It waits for contact hours, then goes."), "info")
        else:
            flash(_("Queued again. The outbox worker sends it within a few minutes."), "info")
    return redirect(url_for("care_messages.index", **back))
