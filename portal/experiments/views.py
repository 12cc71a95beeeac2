"""Experiment pages under /admin/experiments: propose, start, stop, promote (maker-checker),
the sample the design needs with its expected date, and the results (``analysis.analyse``,
the code ``portal experiments analyse`` runs).

Policy admins propose and decide; auditors read. Who may do which step is decided by the
service, not by what the page shows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms import SelectChoice

from portal.audit.names import actor_names
from portal.db_types import utcnow
from portal.experiments import service
from portal.experiments.forms import METRIC_LABELS, DecideForm, NewExperimentForm, ProposeForm, RejectForm
from portal.experiments.messages import PROPOSALS, STATES, decision_text, error_message
from portal.experiments.models import Experiment, ExperimentProposal, ExperimentState
from portal.extensions import db
from portal.policies.models import PolicyState, PolicyVersion
from portal.staff.access import current_staff, staff_actor, staff_required
from portal.staff.models import Role

bp = Blueprint("experiments", __name__, url_prefix="/admin/experiments")

READERS = (Role.POLICY_ADMIN, Role.AUDITOR)
_STATUS = {"not_found": 404, "own_proposal": 403, "own_version": 403, "changed_since_review": 409}
_CONFLICTS = {
    "already_running",
    "not_pending",
    "not_running",
    "proposal_open",
    "no_proposal",
    "champion_changed",
    "version_scheduled",
}

for _name, _helper in {
    "experiment_state_label": lambda state: STATES.get(state, state),
    "experiment_proposal_label": lambda action: PROPOSALS.get(action, action),
    "experiment_metric_label": lambda metric: METRIC_LABELS.get(metric, metric),
    "experiment_decision_text": decision_text,
}.items():
    bp.add_app_template_global(_helper, _name)


@bp.errorhandler(service.ExperimentError)
def refused(error: service.ExperimentError) -> tuple[str, int]:
    """A refused step: nothing was written; say why, with the matching status."""
    db.session.rollback()
    status = _STATUS.get(error.code, 409 if error.code in _CONFLICTS else 400)
    return render_template("admin/experiments/refused.html", message=error_message(error.code)), status


def _is_admin() -> bool:
    staff = current_staff()
    return bool(staff and staff.role == Role.POLICY_ADMIN)


def _currencies() -> list[str]:
    query = select(PolicyVersion.currency).where(PolicyVersion.state == PolicyState.ACTIVE)
    return sorted(db.session.execute(query).scalars()) or ["CNY"]


def _new_form() -> NewExperimentForm:
    form = NewExperimentForm()
    form.currency.choices = [SelectChoice(c, c) for c in _currencies()]
    return form


def _index(form: NewExperimentForm) -> str:
    experiments = service.list_experiments()
    pending_versions = list(
        db.session.execute(
            select(PolicyVersion).where(PolicyVersion.state == PolicyState.PENDING).order_by(PolicyVersion.number)
        ).scalars()
    )
    return render_template(
        "admin/experiments/index.html",
        experiments=experiments,
        pending_versions=pending_versions,
        form=form,
        can_write=_is_admin(),
    )


@bp.route("/")
@staff_required(*READERS)
def index() -> str:
    return _index(_new_form())


@bp.route("/new", methods=["POST"])
@staff_required(Role.POLICY_ADMIN)
def create() -> Any:
    form = _new_form()
    if not form.validate_on_submit():
        return _index(form), 400
    challengers = [service.ChallengerSpec(form.challenger.data or 0, form.share.data or Decimal(0))]
    if form.challenger_2.data:
        if form.share_2.data is None:
            form.share_2.errors = [_("Give the second challenger's share.")]
            return _index(form), 400
        challengers.append(service.ChallengerSpec(form.challenger_2.data, form.share_2.data))
    experiment = service.create_experiment(
        staff_actor(),
        name=form.name.data or "",
        currency=form.currency.data or "",
        challengers=challengers,
        primary_metric=form.primary_metric.data or "",
        guardrails=form.guardrails(),
        baseline_rate=form.baseline_rate.data or Decimal(0),
        mde=form.mde.data or Decimal(0),
        alpha=form.alpha.data or Decimal(0),
        power=form.power.data or Decimal(0),
    )
    flash(_("Proposed. Another policy admin must approve the start."), "info")
    return redirect(url_for(".show", experiment_id=experiment.id))


def _show(experiment: Experiment, decide: DecideForm, reject: RejectForm, propose: ProposeForm) -> str:
    # The arms' versions in one query; the review digest then finds them in the session.
    versions = {
        v.id: v
        for v in db.session.execute(
            select(PolicyVersion).where(PolicyVersion.id.in_([a.policy_version_id for a in experiment.arms]))
        ).scalars()
    }
    decide.reviewed.data = service.review_digest(experiment)
    propose.action.choices = _proposal_choices(experiment)
    today = utcnow().astimezone(ZoneInfo(str(get_timezone()))).date()
    assigned = service.assigned_counts(experiment)
    results = service.results(experiment, assigned) if experiment.state != ExperimentState.PENDING else None
    return render_template(
        "admin/experiments/show.html",
        experiment=experiment,
        versions=versions,
        assigned=assigned,
        expected_on=service.expected_on(experiment, today, assigned),
        results=results,
        names=actor_names([experiment.author, experiment.proposed_by, experiment.approver]),
        me=staff_actor().key,
        can_write=_is_admin(),
        decide_form=decide,
        reject_form=reject,
        propose_form=propose,
    )


def _proposal_choices(experiment: Experiment) -> list[SelectChoice]:
    choices = [
        SelectChoice(ExperimentProposal.STOP.value, _("Stop the experiment; everyone gets the champion's offers"))
    ]
    for arm in experiment.arms[1:]:
        label = _("Promote challenger %(position)s: make its version the active one", position=arm.position)
        choices.append(SelectChoice(f"promote:{arm.position}", label))
    return choices


@bp.route("/<int:experiment_id>")
@staff_required(*READERS)
def show(experiment_id: int) -> str:
    return _show(service.get_experiment(experiment_id), DecideForm(), RejectForm(), ProposeForm())


@bp.route("/<int:experiment_id>/approve", methods=["POST"])
@staff_required(Role.POLICY_ADMIN)
def approve(experiment_id: int) -> Any:
    form = DecideForm()
    if not form.validate_on_submit():
        return _show(service.get_experiment(experiment_id), form, RejectForm(), ProposeForm(formdata=None)), 400
    experiment = service.approve(experiment_id, staff_actor(), form.reviewed.data or "", form.comment.data)
    flash(_("Approved. The experiment is now: %(state)s.", state=STATES[experiment.state]), "info")
    return redirect(url_for(".show", experiment_id=experiment.id))


@bp.route("/<int:experiment_id>/reject", methods=["POST"])
@staff_required(Role.POLICY_ADMIN)
def reject(experiment_id: int) -> Any:
    form = RejectForm()
    if not form.validate_on_submit():
        abort(400)
    service.reject(experiment_id, staff_actor(), form.reason.data or "")
    flash(_("Rejected. The proposer can see your reason in the audit trail."), "info")
    return redirect(url_for(".show", experiment_id=experiment_id))


@bp.route("/<int:experiment_id>/propose", methods=["POST"])
@staff_required(Role.POLICY_ADMIN)
def propose(experiment_id: int) -> Any:
    experiment = service.get_experiment(experiment_id)
    form = ProposeForm()
    form.action.choices = _proposal_choices(experiment)
    if not form.validate_on_submit():
        return _show(experiment, DecideForm(formdata=None), RejectForm(formdata=None), form), 400
    action, _sep, position = (form.action.data or "").partition(":")
    service.propose(
        experiment_id,
        staff_actor(),
        ExperimentProposal(action),
        arm_position=int(position) if position else None,
        comment=form.comment.data,
    )
    flash(_("Proposed. Another policy admin must approve it."), "info")
    return redirect(url_for(".show", experiment_id=experiment.id))
