"""Dead-lettered webhooks to the core system, for supervisors: see them, requeue one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from portal.forms import PortalForm
from portal.integrations.core_banking import dead_letters
from portal.integrations.core_banking.models import PlanEventKind
from portal.staff.access import staff_actor, staff_required
from portal.staff.models import Role

bp = Blueprint("core_banking", __name__, url_prefix="/care/core-system")

EVENT_LABELS = {
    PlanEventKind.ACCEPTED: _l("Plan accepted"),
    PlanEventKind.INSTALLMENT_PAID: _l("Installment paid"),
    PlanEventKind.BROKEN: _l("Plan broken"),
    PlanEventKind.COMPLETED: _l("Plan completed"),
    PlanEventKind.CANCELLED: _l("Plan cancelled"),
}


class RequeueForm(PortalForm):
    pass


@bp.route("/dead-letters")
@staff_required(Role.SUPERVISOR)
def dead_letter_list() -> str:
    return render_template(
        "core_banking/dead_letters.html",
        letters=dead_letters.dead_letters(),
        form=RequeueForm(),
        event_labels=EVENT_LABELS,
        page_size=dead_letters.PAGE_SIZE,
    )


@bp.route("/dead-letters/<int:message_id>/requeue", methods=["POST"])
@staff_required(Role.SUPERVISOR)
def requeue(message_id: int) -> Response:
    if not RequeueForm().validate_on_submit():
        abort(400)
    try:
        dead_letters.requeue(message_id, staff_actor())
    except dead_letters.RequeueError as error:
        if error.code == "not_found":
            abort(404)
        flash(_("That delivery is no longer a dead letter: someone has requeued it already."), "info")
    else:
        flash(_("The delivery is queued again. The outbox worker sends it within a few minutes."), "info")
    return redirect(url_for("core_banking.dead_letter_list"))
