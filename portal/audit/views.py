"""The audit trail viewer (/admin/audit) for auditors and policy admins: read-only."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional

from portal.audit.actors import actor_key
from portal.audit.names import actor_names
from portal.audit.viewer import (
    PER_PAGE,
    AuditFilter,
    actions,
    export_rows,
    page_of,
    record_export,
    scope_of,
    try_filter,
)
from portal.db_types import utcnow
from portal.forms import PortalForm
from portal.staff.access import current_staff, staff_actor, staff_required
from portal.staff.models import Role

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
READERS = (Role.AUDITOR, Role.POLICY_ADMIN)
bp.add_app_template_global(actor_key, "actor_key")


class FilterForm(PortalForm):
    """GET filters: bookmarkable and changing nothing, so no CSRF token."""

    class Meta:
        csrf = False

    actor = StringField(_l("Who (e-mail, staff:12, cardholder:5 or system)"), validators=[Optional(), Length(max=254)])
    action = StringField(_l("Action (exact, or a prefix such as policy.)"), validators=[Optional(), Length(max=64)])
    object_type = StringField(_l("Object type"), validators=[Optional(), Length(max=32)])
    object_id = StringField(_l("Object id"), validators=[Optional(), Length(max=64)])
    date_from = DateField(_l("From (date)"), validators=[Optional()])
    date_to = DateField(_l("To (date, included)"), validators=[Optional()])


def _instant(day: date | None, *, next_day: bool = False) -> datetime | None:
    """Midnight starting ``day`` (or the day after) in the viewer's time zone."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=next_day), time(0), tzinfo=ZoneInfo(str(get_timezone())))


def _scope() -> str:
    """The part of the trail the viewer's role may read (``staff_required`` let only
    readers in, so there is one); no query argument can widen it."""
    staff = current_staff()
    scope = scope_of(staff.role if staff is not None else None)
    if scope is None:
        abort(403)
    return scope


def _filter() -> tuple[FilterForm, AuditFilter | None]:
    form = FilterForm(request.args)
    if request.args and not form.validate():
        return form, None
    return form, AuditFilter(
        scope=_scope(),
        actor=(form.actor.data or "").strip(),
        action=(form.action.data or "").strip(),
        object_type=(form.object_type.data or "").strip(),
        object_id=(form.object_id.data or "").strip(),
        start=_instant(form.date_from.data),
        end=_instant(form.date_to.data, next_day=True),
    )


@bp.app_template_filter("audit_json")
def audit_json(value: object) -> str:
    """Before/after data as readable JSON (Chinese names stay readable; escaped by Jinja)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@bp.route("/")
@staff_required(*READERS)
def index() -> tuple[str, int]:
    form, found = _filter()
    page = max(1, min(request.args.get("page", 1, type=int), 100_000))
    events, total = page_of(found, page) if found is not None else ([], 0)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "admin/audit/index.html",
        form=form,
        events=events,
        names=actor_names(actor_key(e.actor_type, e.actor_id) for e in events),
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        args=args,
        actions=actions(_scope()),
        scope=_scope(),
        zone=str(get_timezone()),
    ), (200 if found is not None else 400)


@bp.route("/export.csv")
@staff_required(*READERS)
def export() -> Response:
    _form, found = _filter()
    if found is None:
        return Response("bad filter\n", status=400, mimetype="text/plain")
    try_filter(found)  # a refused query is an error page, not a download cut off after its 200
    record_export(found, staff_actor())
    zone = ZoneInfo(str(get_timezone()))

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in export_rows(found, zone):
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    name = f"audit-{utcnow().astimezone(zone):%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
