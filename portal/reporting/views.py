"""Results (/admin/results): the funnel and the outcomes, for policy admins, supervisors
and auditors. Read-only; every figure filtered by a date range, split by one dimension,
drawn as an SVG chart beside its table and downloadable as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectChoice, SelectField
from wtforms.validators import NumberRange, Optional, ValidationError

from portal.audit.names import actor_names
from portal.audit.viewer import safe_cell
from portal.clock import now as clock_now
from portal.forms import PortalForm
from portal.policies.service import NoActivePolicy, active_version
from portal.reporting import queries
from portal.reporting.aggregate import reporting_zone
from portal.reporting.charts import bar_chart
from portal.reporting.labels import CHANNELS, LANGUAGES, METRICS, SPLITS
from portal.reporting.models import FUNNEL
from portal.reporting.queries import Split
from portal.staff.access import staff_required
from portal.staff.models import Role

bp = Blueprint("reports", __name__, url_prefix="/admin/results")
READERS = (Role.POLICY_ADMIN, Role.SUPERVISOR, Role.AUDITOR)
DEFAULT_DAYS = 28
MAX_DAYS = 731  # two years: a longer range is a different question (and a slower one)


class FilterForm(PortalForm):
    """GET filters: bookmarkable and changing nothing, so no CSRF token."""

    class Meta:
        csrf = False

    date_from = DateField(_l("From (date)"), validators=[Optional()])
    date_to = DateField(_l("To (date, included)"), validators=[Optional()])
    split = SelectField(
        _l("Split by"),
        choices=[SelectChoice(s.value, label) for s, label in SPLITS.items()],
        default=Split.NONE.value,
        validate_choice=True,
    )
    cure_days = IntegerField(
        _l("Cured within (days)"),
        default=30,
        validators=[Optional(), NumberRange(min=1, max=365, message=_l("Enter a number of days from 1 to 365."))],
    )

    def validate_date_to(self, field: Any) -> None:
        start, end = self.date_from.data, field.data
        if start and end and end < start:
            raise ValidationError(_("The end date must not be before the start date."))
        if start and end and (end - start).days >= MAX_DAYS:
            raise ValidationError(_("Choose a range of at most two years."))

    def range(self) -> tuple[date, date]:
        today = clock_now().astimezone(reporting_zone()).date()
        end = self.date_to.data or (
            self.date_from.data + timedelta(days=DEFAULT_DAYS - 1) if self.date_from.data else today
        )
        start = self.date_from.data or end - timedelta(days=DEFAULT_DAYS - 1)
        return start, end


def _filters() -> tuple[FilterForm, bool]:
    form = FilterForm(request.args)
    valid = form.validate() if request.args else True
    return form, valid


class _Names:
    """What a group is called on the page: a tier as it is, a channel or language in words,
    a policy version by number, an agent by name, a week by its Monday."""

    def __init__(self, split: Split, groups: Iterable[Any]) -> None:
        self.split = split
        groups = list(groups)
        self.versions = queries.version_numbers(groups) if split == Split.POLICY_VERSION else {}
        self.agents = actor_names(groups) if split == Split.AGENT else {}

    def __call__(self, group: Any) -> str:
        if self.split == Split.NONE:
            return _("All")
        if self.split == Split.CHANNEL:
            return str(CHANNELS.get(group, group))
        if self.split == Split.LANGUAGE:
            return str(LANGUAGES.get(group, group))
        if self.split == Split.POLICY_VERSION:
            number = self.versions.get(group)
            return _("Version %(number)s", number=number) if number else _("None")
        if self.split == Split.AGENT:
            return self.agents.get(group, _("None")) if group else _("None")
        if self.split == Split.WEEK:
            return _("Week of %(day)s", day=group.isoformat())
        return str(group) or _("None")


def _percent(value: Decimal | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def _cell(value: Any) -> Any:
    """A CSV cell: text as the audit export writes it (never run as a formula by a
    spreadsheet, ``safe_cell``); numbers as they are (a negative one is no formula)."""
    if value is None:
        return ""
    return safe_cell(value) if isinstance(value, str) else value


def _csv(name: str, header: list[str], rows: Iterable[list[Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def _bad_filters(form: FilterForm, template: str) -> tuple[str, int]:
    return render_template(template, form=form, bad=True, args={}), 400


def _args(form: FilterForm, start: date, end: date) -> dict[str, str]:
    args = {"date_from": start.isoformat(), "date_to": end.isoformat(), "split": form.split.data or Split.NONE.value}
    if form.cure_days.data:
        args["cure_days"] = str(form.cure_days.data)
    return args


# --- the funnel ------------------------------------------------------------------------------


def _funnel_figures(form: FilterForm) -> tuple[date, date, Split, list[queries.FunnelGroup], _Names]:
    """The range, split, funnel groups and their names the page and its CSV show."""
    start, end = form.range()
    split = Split(form.split.data or Split.NONE)
    groups = queries.funnel(start, end, split)
    return start, end, split, groups, _Names(split, (g.group for g in groups))


@bp.route("/")
@staff_required(*READERS)
def funnel() -> tuple[str, int]:
    form, valid = _filters()
    if not valid:
        return _bad_filters(form, "admin/reports/funnel.html")
    start, end, _split, groups, name = _funnel_figures(form)
    chart = bar_chart(
        _("Funnel: how many reached each step"),
        [str(METRICS[m]) for m in FUNNEL],
        [(name(g.group), [s.count for s in g.steps]) for g in groups],
        horizontal=True,
    )
    return render_template(
        "admin/reports/funnel.html",
        form=form,
        bad=False,
        start=start,
        end=end,
        groups=groups,
        name=name,
        metrics=METRICS,
        chart=chart,
        args=_args(form, start, end),
        zone=str(reporting_zone()),
    ), 200


@bp.route("/funnel.csv")
@staff_required(*READERS)
def funnel_csv() -> Response | tuple[str, int]:
    form, valid = _filters()
    if not valid:
        return _bad_filters(form, "admin/reports/funnel.html")
    start, end, split, groups, name = _funnel_figures(form)
    rows = (
        [
            start.isoformat(),
            end.isoformat(),
            split.value,
            name(g.group),
            s.metric.value,
            s.count,
            s.dropped,
            _percent(s.rate),
            _percent(s.overall),
        ]
        for g in groups
        for s in g.steps
    )
    header = ["from", "to", "split", "group", "step", "count", "dropped", "rate_of_previous_pct", "rate_of_first_pct"]
    return _csv(f"funnel-{start}-{end}.csv", header, rows)


# --- outcomes -----------------------------------------------------------------------------


def _tier_order() -> dict[str, list[str]]:
    order: dict[str, list[str]] = {}
    for currency in ("CNY", "HKD", "USD"):
        try:
            order[currency] = [t.name for t in active_version(currency).policy.tiers]
        except NoActivePolicy:
            continue
    return order


def _outcome_figures(form: FilterForm) -> dict[str, Any]:
    start, end = form.range()
    split = Split(form.split.data or Split.NONE)
    cure_days = form.cure_days.data or 30
    groups = queries.outcomes(start, end, split)
    return {
        "start": start,
        "end": end,
        "split": split,
        "cure_days": cure_days,
        "groups": groups,
        "name": _Names(split, (g.group for g in groups)),
        "recovery": queries.recovery(start, end),
        "cures": queries.cures(start, end, cure_days, clock_now().astimezone(reporting_zone()).date()),
        "rolls": queries.rolls(start, end, _tier_order()),
        "comments": queries.comments(start, end),
    }


@bp.route("/outcomes")
@staff_required(*READERS)
def outcomes() -> tuple[str, int]:
    form, valid = _filters()
    if not valid:
        return _bad_filters(form, "admin/reports/outcomes.html")
    figures = _outcome_figures(form)
    name, groups = figures["name"], figures["groups"]
    plans_chart = bar_chart(
        _("Plans: accepted, kept, completed and broken"),
        [name(g.group) for g in groups],
        [(str(METRICS[m]), [g.counts[m.value] for g in groups]) for m in queries.PLAN_OUTCOMES],
        horizontal=False,
    )
    cures = figures["cures"]
    cure_chart = bar_chart(
        _("Cure rate (%%) within %(days)s days", days=figures["cure_days"]),
        [f"{c.currency} {c.tier}" for c in cures],
        [(_("Cure rate"), [None if c.rate is None else c.rate * 100 for c in cures])],
        horizontal=True,
    )
    return render_template(
        "admin/reports/outcomes.html",
        form=form,
        bad=False,
        metrics=METRICS,
        plans_chart=plans_chart,
        cure_chart=cure_chart,
        channels=CHANNELS,
        languages=LANGUAGES,
        versions=queries.version_numbers(c.policy_version_id for c in figures["comments"]),
        args=_args(form, figures["start"], figures["end"]),
        zone=str(reporting_zone()),
        **figures,
    ), 200


@bp.route("/outcomes.csv")
@staff_required(*READERS)
def outcomes_csv() -> Response | tuple[str, int]:
    form, valid = _filters()
    if not valid:
        return _bad_filters(form, "admin/reports/outcomes.html")
    f = _outcome_figures(form)
    start, end, name = f["start"], f["end"], f["name"]
    span = [start.isoformat(), end.isoformat()]
    split = f["split"].value
    rows: list[list[Any]] = []  # from, to, section, split, group, figure, currency, count, value
    for g in f["groups"]:
        for metric, count in g.counts.items():
            rows.append([*span, "counts", split, name(g.group), metric, "", count, ""])
        for label, value in (
            ("kept_cycle_3_of_accepted_pct", g.kept_rate),
            ("completed_of_accepted_pct", g.completed_rate),
            ("broken_of_accepted_pct", g.broken_rate),
            ("promises_kept_of_judged_pct", g.promise_kept_rate),
        ):
            rows.append([*span, "rates", split, name(g.group), label, "", "", _percent(value)])
        rows.append([*span, "ratings", split, name(g.group), "average_rating", "", g.ratings, g.average_rating])
    for r in f["recovery"]:
        rows.append([*span, "recovered", "", "", "amount_recovered", r.currency, r.payments, r.recovered])
        rows.append([*span, "recovered", "", "", "share_of_balance_pct", r.currency, "", _percent(r.share)])
    section = f"cure_within_{f['cure_days']}_days"
    for c in f["cures"]:
        rows.append([*span, section, "tier", c.tier, "fell_past_due", c.currency, c.started, ""])
        rows.append([*span, section, "tier", c.tier, "too_early_to_tell", c.currency, c.waiting, ""])
        rows.append([*span, section, "tier", c.tier, "cured_pct", c.currency, c.cured, _percent(c.rate)])
    for m in f["rolls"]:
        month = m.month.isoformat()
        for (before, after), (accounts, share) in m.cells.items():
            rows.append(
                [
                    month,
                    month,
                    "roll_rates",
                    "tier",
                    f"{before} -> {after}",
                    "share_of_row_pct",
                    m.currency,
                    accounts,
                    _percent(share),
                ]
            )
    for c in f["comments"]:
        day = c.day.isoformat()
        rows.append([day, day, "comments", "tier", c.tier, f"rating_after_{c.step}", "", c.rating, c.comment])
    header = ["from", "to", "section", "split", "group", "figure", "currency", "count", "value"]
    return _csv(f"outcomes-{start}-{end}.csv", header, rows)
