"""Customer-care pages under /care: queues, search, the case file, links, approvals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_wtf.form import SUBMIT_METHODS
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal.accounts.models import CardAccount
from portal.auth import load_account
from portal.care import labels, message_labels, note_templates, queries, workbench, workbench_views
from portal.care.approvals import approval_queue, pending_approvals_count, service_level_text, waiting_text
from portal.care.forms import (
    FLAG_CHOICES,
    DecisionForm,
    FlagForm,
    LinkForm,
    NoteForm,
    QueueFilterForm,
    ReasonForm,
    RevokeForm,
    SearchForm,
)
from portal.care.service import (
    CONSENT_FLAGS,
    NOTE_FLAGS,
    CareError,
    add_note,
    check_link_offer,
    clear_flag,
    record_case_viewed,
    record_search,
    set_flag,
    set_reason,
)
from portal.care.workbench_forms import PhonePromiseForm, TaskForm
from portal.db_types import utcnow
from portal.extensions import db
from portal.links import service as link_service
from portal.links import status as link_status
from portal.links.models import PlanLink
from portal.offers.adapter import offers_for_account
from portal.plans.models import Plan
from portal.plans.requests import Decision, decide_request, request_digest
from portal.plans.service import PlanError
from portal.policies.service import NoActivePolicy
from portal.staff.access import current_staff, staff_actor, staff_required
from portal.staff.authority import APPROVERS, offer_allowed
from portal.staff.models import Role

bp = Blueprint("care", __name__, url_prefix="/care")
CARE = (Role.AGENT, Role.SUPERVISOR)


@bp.record_once
def _register_template_helpers(state: Any) -> None:
    # A Jinja global (not a context processor) so imported macros see it too.
    state.app.jinja_env.globals["care_label"] = labels.care_label
    state.app.jinja_env.globals["link_states"] = link_status.link_states
    state.app.jinja_env.globals["link_state_text"] = message_labels.link_state_text
    state.app.jinja_env.globals["preview_sms_count"] = link_service.preview_sms_count
    state.app.jinja_env.globals["pending_approvals_count"] = pending_approvals_count


def care_error_message(code: str, detail: str | None = None) -> str:
    if code == "call_refused":
        return workbench_views.workbench_error(code, detail)
    messages = {
        "supervisor_only": _("Only a supervisor can clear a dispute."),
        "supervisor_to_clear": _("Only a supervisor can clear this flag."),
        "flag_note_required": _(
            "Write a note: what you learnt and from whom (for example, a call from the family on 3 May)."
        ),
        "cardholder_request_only": _(
            "Only the cardholder can undo their opt-out or do-not-contact, on their contact "
            "preferences page, or a supervisor recording their documented request."
        ),
        "request_note_required": _("Write down the cardholder's request: when and how they asked, and its reference."),
        "unknown_flag": _("Choose one of the flags listed."),
        "unknown_outcome": _("Choose one of the outcomes listed."),
        "unknown_channel": _("Choose how you were in contact."),
        "unknown_reason": _("Choose one of the reasons listed."),
        "note_empty": _("Write the note."),
        "note_too_long": _("Keep the note under 4000 characters."),
        "offer_not_allowed": _("That offer is beyond your authority. Choose another, or ask a supervisor."),
        "offer_changed": _("The offers for this account have changed. Look at them again and choose."),
        "not_allowed": _("Your role cannot do this."),
        "no_account": _("We could not find that account."),
    }
    return messages.get(code, _("That did not work. Please try again."))


def _today(account: CardAccount) -> date:
    return utcnow().astimezone(ZoneInfo(account.time_zone)).date()


# --- queues and search ---------------------------------------------------------------


class _LazyForm:
    """A form built only when the page reads more of it than whether it was submitted
    and its errors (none: it was not validated): pages keep the fields of a form nobody
    filled in within fragments cached per language, so most views never build it."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._form: Any = None

    def is_submitted(self) -> bool:
        return request.method in SUBMIT_METHODS  # as FlaskForm.is_submitted answers

    @property
    def errors(self) -> dict[str, list[str]]:
        return {} if self._form is None else self._form.errors  # unvalidated: none

    def __getattr__(self, name: str) -> Any:
        if self._form is None:
            self._form = self._build()
        return getattr(self._form, name)


def _queue_form(on_file: list[str]) -> QueueFilterForm:
    form = QueueFilterForm(formdata=request.args)
    form.currency.choices = [SelectChoice("", _("Any")), *(SelectChoice(c) for c in on_file)]
    form.validate()
    return form


@bp.route("/")
@staff_required(*CARE)
def queue() -> tuple[str, int]:
    on_file = queries.currencies()
    tiers = queries.policy_tiers(on_file)
    if request.args.keys() <= {"tier"}:
        # A tab as it is linked (at most a tier, which any text may name): nothing to
        # check, and the filter fields sit in a fragment cached per language and tier.
        form: Any = _LazyForm(lambda: _queue_form(on_file))
        tier = request.args.get("tier", "").strip()  # as the form's fields strip what they read
        filters = queries.QueueFilter(tier=tier or next(iter(tiers.names()), None), me=_me())
        valid = True
    else:
        form = _queue_form(on_file)
        valid = not form.errors
        filters = _queue_filter(form, tiers, valid)
    if filters.tier == "all":
        filters = replace(filters, tier=None)
    page = queries.work_queue(filters, tiers)
    args = {k: v for k, v in request.args.items() if k not in ("page", "tier") and v}
    return render_template(
        "care/queue.html",
        work=workbench.my_work(filters.me, utcnow(), limit=10) if filters.me else [],
        now=utcnow(),
        form=form,
        on_file=on_file,
        tiers=tiers,
        page=page,
        filters=filters,
        args=args,
        tier_name=tiers.name_for,
    ), 200 if valid else 422


def _queue_filter(form: QueueFilterForm, tiers: queries.Tiers, valid: bool) -> queries.QueueFilter:
    return queries.QueueFilter(
        tier=form.tier.data or next(iter(tiers.names()), None),
        currency=(form.currency.data or None) if valid else None,
        min_balance=form.min_balance.data if valid else None,
        max_balance=form.max_balance.data if valid else None,
        flag=(form.flag.data or None) if valid else None,
        sort=form.sort.data if valid and form.sort.data in queries.SORTS else "dpd",
        page=(form.page.data or 1) if valid else 1,
        state=(form.state.data or None) if valid else None,
        owner=(form.owner.data or None) if valid else None,
        outcome=(form.outcome.data or None) if valid else None,
        next_action=(form.next_action.data or None) if valid else None,
        me=_me(),
    )


def _me() -> int | None:
    staff = current_staff()
    return staff.id if staff is not None else None


@bp.route("/search", methods=["GET", "POST"])
@staff_required(*CARE)
def search() -> tuple[str, int]:
    # The page's form posts (CSRF-checked like every POST), so a full card number typed
    # into it stays out of the address, the browser's history and proxies' logs; a GET
    # with ?q= (a bookmarked name search) still works.
    asked = request.form if request.method == "POST" else request.args
    form = SearchForm(formdata=asked)
    results: list[CardAccount] | None = None
    status = 200
    if asked:
        if form.validate():
            try:
                kind, results = queries.search_accounts(form.q.data, form.dob.data)
            except queries.SearchNeedsDobError:
                form.dob.errors = [_("Add the date of birth to search by the last 4 card digits.")]
                status = 422
            else:
                record_search(kind, len(results), staff_actor())
        else:
            status = 422
    tiers = queries.policy_tiers()
    return render_template("care/search.html", form=form, results=results, tier_name=tiers.name_for), status


# --- the case file ---------------------------------------------------------------------


def _reason_form(reason: str | None) -> Any:
    form = ReasonForm(formdata=None)
    if reason and not form.is_submitted():
        form.reason.data = reason
    return form


def _render_case(
    account_id: int, status: int = 200, account: CardAccount | None = None, **forms: Any
) -> tuple[str, int]:
    case = queries.case_file(account_id, account)
    if case is None:
        abort(404)
    template = request.args.get("note_template") if request.method == "GET" else None
    staff = current_staff()
    work = workbench_views.panel(case, staff)
    # When the panel says "Do not call now", a note is not a call unless the agent says so.
    call_allowed = work.call.allowed
    forms.setdefault("note_form", _LazyForm(lambda: workbench_views.note_form_for(template, call_allowed)))
    forms.setdefault("task_form", _LazyForm(lambda: TaskForm(formdata=None)))
    forms.setdefault("promise_form", _LazyForm(lambda: PhonePromiseForm(formdata=None)))
    forms.setdefault("reason_form", _LazyForm(lambda: _reason_form(case.reason)))
    forms.setdefault("flag_form", _LazyForm(lambda: FlagForm(formdata=None)))
    flag_names = labels.translated("care", "flag", labels.FLAGS)  # the choices' labels, as care_label words them
    return render_template(
        "care/account.html",
        case=case,
        now=utcnow(),
        is_supervisor=staff is not None and staff.role is Role.SUPERVISOR,
        consent_flags=CONSENT_FLAGS,
        note_flags=NOTE_FLAGS,
        flag_choices=[(choice.value, flag_names[choice.value]) for choice in FLAG_CHOICES],
        work=work,
        note_templates=note_templates.TEMPLATES,
        note_template=note_templates.find(template),
        **forms,
    ), status


@bp.route("/accounts/<int:account_id>")
@staff_required(*CARE)
def account(account_id: int) -> tuple[str, int]:
    found = load_account(account_id, "cardholder")  # with its holder, in one statement built once
    if found is None:
        abort(404)
    record_case_viewed(account_id, staff_actor())
    return _render_case(found.id, account=found)


@bp.route("/accounts/<int:account_id>/notes", methods=["POST"])
@staff_required(*CARE)
def note(account_id: int) -> Response | tuple[str, int]:
    form = NoteForm()
    if form.validate_on_submit():
        try:
            add_note(account_id, form.outcome.data, form.text.data, staff_actor(), channel=form.channel.data)
        except CareError as error:
            if error.code == "no_account":
                abort(404)
            db.session.rollback()
            target = form.channel if error.code == "call_refused" else form.text
            target.errors.append(care_error_message(error.code, error.detail))
        else:
            flash(_("Note added."), "info")
            return redirect(url_for("care.account", account_id=account_id) + "#timeline")
    return _render_case(account_id, 422, note_form=form)


@bp.route("/accounts/<int:account_id>/reason", methods=["POST"])
@staff_required(*CARE)
def reason(account_id: int) -> Response | tuple[str, int]:
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            set_reason(account_id, form.reason.data, staff_actor())
        except CareError as error:
            if error.code == "no_account":
                abort(404)
            form.reason.errors.append(care_error_message(error.code))
        else:
            flash(_("Reason recorded."), "info")
            return redirect(url_for("care.account", account_id=account_id))
    return _render_case(account_id, 422, reason_form=form)


@bp.route("/accounts/<int:account_id>/flags", methods=["POST"])
@staff_required(*CARE)
def flags(account_id: int) -> Response | tuple[str, int]:
    form = FlagForm()
    if form.validate_on_submit():
        change = set_flag if form.action.data == "set" else clear_flag
        try:
            changed = change(account_id, form.flag.data, staff_actor(), form.note.data or "")
        except CareError as error:
            if error.code == "no_account":
                abort(404)
            form.flag.errors.append(care_error_message(error.code))
            refused = error.code in ("supervisor_only", "supervisor_to_clear", "cardholder_request_only")
            return _render_case(account_id, 403 if refused else 422, flag_form=form)
        flag = labels.care_label("flag", form.flag.data)
        if form.action.data == "set":
            flash(_("Flag set: %(flag)s.", flag=flag) if changed else _("%(flag)s was already set.", flag=flag), "info")
        else:
            flash(_("Flag cleared: %(flag)s.", flag=flag) if changed else _("%(flag)s was not set.", flag=flag), "info")
        return redirect(url_for("care.account", account_id=account_id))
    return _render_case(account_id, 422, flag_form=form)


# --- plan links ----------------------------------------------------------------------


def link_error_message(code: str) -> str:
    """A refusal to put on the form (a blocked send is a notice instead: link_blocked_notice)."""
    messages = {
        "no_channel": _("We have no contact on file for that channel."),
        "unknown_channel": _("Choose text message or e-mail."),
        "offer_not_allowed": _("That offer is beyond your authority. Choose another, or ask a supervisor."),
        "outside_authority": _("That offer is beyond your authority. Choose another, or ask a supervisor."),
        "already_used": _("This link was already used to accept a plan, so it cannot be revoked."),
        "no_link": _("We could not find that link."),
        "offer_changed": _("The offers for this account have changed. Look at them again and choose."),
        "no_offers": _("This account has no offers today."),
        "no_account": _("We could not find that account."),
    }
    return messages.get(code, _("The link could not be sent. Please try again."))


def link_blocked_notice(reason: str | None) -> str:
    return _(
        "Not sent: %(reason)s. No link was created; the attempt is on the case file.",
        reason=message_labels.blocked_sentence(reason),
    )


def _offers(account: CardAccount) -> list[Any]:
    try:
        return offers_for_account(account, _today(account), by_staff=True)[1]
    except NoActivePolicy:
        return []


@bp.route("/accounts/<int:account_id>/link", methods=["GET", "POST"])
@staff_required(*CARE)
def link(account_id: int) -> Response | tuple[str, int]:
    account = db.session.get(CardAccount, account_id)
    if account is None:
        abort(404)
    staff = current_staff()
    assert staff is not None, "staff_required(*CARE) let only signed-in staff in"
    offers = _offers(account)
    form = LinkForm()
    form.offer.choices = [SelectChoice(""), *(SelectChoice(o.fingerprint) for o in offers)]
    preview, status = None, 200
    if form.validate_on_submit():
        fingerprint = form.offer.data or None
        try:
            check_link_offer(account_id, fingerprint, staff_actor(), _today(account))
            if form.action.data == "send":
                issued = link_service.issue_plan_link(account_id, form.channel.data, staff_actor(), fingerprint)
                state = link_status.link_states([issued], utcnow())[issued.id]
                notice = message_labels.send_notice(state, issued.channel, account.time_zone)
                flash(notice, "info" if state.open else "error")
                return redirect(url_for("care.account", account_id=account_id) + "#links")
            preview = link_service.preview_link_message(account_id, form.channel.data, fingerprint)
        except CareError as error:
            form.channel.errors.append(link_error_message(error.code))
            status = 422
        except link_service.LinkError as error:
            if error.code == "contact_blocked":
                # Not a mistake in the form: the rules refused the message. No link was
                # made; the attempt is on the case file. Say so, and let them try another way.
                flash(link_blocked_notice(error.detail), "error")
                return redirect(url_for("care.link", account_id=account_id))
            form.channel.errors.append(link_error_message(error.code))
            status = 422
    elif form.is_submitted():
        status = 422
    allowed = {o.fingerprint: offer_allowed(staff.role, o.agent_may_offer, o.needs_approval) for o in offers}
    return render_template(
        "care/link.html",
        account=account,
        holder=account.cardholder,
        form=form,
        offers=offers,
        allowed=allowed,
        preview=preview,
        now=utcnow(),
        links=queries.account_links(account_id),
    ), status


@bp.route("/accounts/<int:account_id>/links/<int:link_id>/revoke", methods=["POST"])
@staff_required(*CARE)
def revoke(account_id: int, link_id: int) -> Response:
    form = RevokeForm()
    if not form.validate_on_submit():
        abort(400)
    found = db.session.get(PlanLink, link_id)
    if found is None or found.account_id != account_id:
        abort(404)
    try:
        link_service.revoke_link(link_id, staff_actor())
    except link_service.LinkError as error:
        flash(link_error_message(error.code), "error")
    else:
        flash(_("The link was revoked. It no longer opens."), "info")
    return redirect(url_for("care.account", account_id=account_id) + "#links")


# --- approvals ---------------------------------------------------------------------


@bp.route("/approvals")
@staff_required(*APPROVERS)
def approvals() -> str:
    return _render_approvals({})[0]


def decision_error_message(code: str) -> str:
    messages = {
        "not_pending": _("This request was already decided or withdrawn. Nothing was changed."),
        "changed": _("This request changed after you opened it. Nothing was changed: look at it again and decide."),
        "account_paused": _("This account is under dispute, so approvals wait until the dispute is settled."),
        "decline_reason_required": _("Choose the reason for declining: the cardholder sees it."),
        "not_adjustable": _("Only a personalised plan can be approved at other terms."),
        "choose_one": _("Give the number of payments or the monthly amount, not both."),
        "months_out_of_range": _("That length is outside what the policy allows for this account."),
        "pause_out_of_range": _("That pause is longer than the policy allows for this account."),
        "monthly_too_low": _("That monthly amount would need a longer plan than the policy allows."),
        "below_minimum": _("Each payment would be below the policy's minimum. Choose fewer payments."),
    }
    return messages.get(code, _("That did not work. Please try again."))


def _render_approvals(overrides: dict[int, DecisionForm], status: int = 200) -> tuple[str, int]:
    days = current_app.config["APPROVAL_SERVICE_DAYS"]
    queue = approval_queue(utcnow(), ZoneInfo(str(get_timezone())), days)
    forms = {}
    for row in queue:
        plan = row.approval.plan
        form = overrides.get(plan.id) or DecisionForm(formdata=None, prefix=f"p{plan.id}")
        if plan.id not in overrides:
            form.shown.data = request_digest(plan)
        forms[plan.id] = form
    return render_template(
        "care/approvals.html",
        queue=queue,
        late=sum(row.late for row in queue),
        forms=forms,
        service_level=service_level_text(days),
        waiting_text=waiting_text,
    ), status


@bp.route("/approvals/<int:plan_id>", methods=["POST"])
@staff_required(*APPROVERS)
def decide(plan_id: int) -> Response | tuple[str, int]:
    if db.session.get(Plan, plan_id) is None:
        abort(404)
    form = DecisionForm(prefix=f"p{plan_id}")
    if not form.validate_on_submit():
        return _render_approvals({plan_id: form}, 422)
    approve = form.decision.data == "approve"
    decision = Decision(
        approve=approve,
        shown_digest=form.shown.data,
        note=(form.note.data or "").strip(),
        decline_reason=None if approve else (form.decline_reason.data or None),
        months=form.months.data if approve else None,
        monthly=form.monthly.amount if approve else None,
        pause_months=(form.pause_months.data or 0) if approve else 0,
    )
    try:
        decide_request(plan_id, decision, staff_actor())
    except PlanError as error:
        db.session.rollback()
        if error.code in ("not_pending", "changed", "account_paused"):
            flash(decision_error_message(error.code), "error")
            return _render_approvals({}, 409)
        target = form.decline_reason if error.code == "decline_reason_required" else form.months
        target.errors = [*target.errors, decision_error_message(error.code)]
        return _render_approvals({plan_id: form}, 422)
    flash(
        _("Approved. The cardholder can now sign the plan.")
        if approve
        else _("Declined. The cardholder sees the reason and what they can do next."),
        "info",
    )
    return redirect(url_for("care.approvals"))
