"""``/admin/questions``: the questions our guides did not answer, for policy admins to
write content for. Read-only; counted by wording, the most recently asked first."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template, request

from portal.answers.forms import UnansweredFilter
from portal.answers.service import unanswered
from portal.clock import now
from portal.staff.access import staff_required
from portal.staff.models import Role

bp = Blueprint("answers_admin", __name__, url_prefix="/admin/questions")


@bp.route("/")
@staff_required(Role.POLICY_ADMIN)
def unanswered_questions() -> str:
    form = UnansweredFilter(request.args)
    valid = form.validate() if request.args else True
    days = int(form.days.data) if valid and form.days.data else 30
    locale = (form.language.data or None) if valid else None
    rows = unanswered(now() - timedelta(days=days), locale)
    return render_template("answers/unanswered.html", form=form, rows=rows, days=days)
