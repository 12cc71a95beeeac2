"""Cardholder journey pages under /plan: one short step at a time."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal import jurisdictions, unit_of_work
from portal.accounts.models import CardAccount
from portal.agreements.key_terms import KeyTerms, key_terms
from portal.agreements.models import Agreement
from portal.agreements.render import document_context
from portal.audit.service import Actor
from portal.auth import account_loads, cardholder_required
from portal.cases import service as cases
from portal.cases.models import Promise
from portal.domain.account import AccountSnapshot
from portal.domain.policy import OfferPolicy
from portal.domain.promise import check_promise, latest_promise_date, minimum_promise
from portal.education.content import suggested_topic
from portal.extensions import db, limiter
from portal.i18n import gettext as _
from portal.i18n import money
from portal.journey import service
from portal.journey.forms import (
    BUDGET_FIELDS,
    BUDGET_GROUPS,
    AcceptForm,
    PromiseForm,
    RatingForm,
    RequestForm,
    WithdrawForm,
    make_budget_form,
)
from portal.links.models import PlanLink
from portal.links.service import LinkError, mark_accepted, mark_offer_viewed
from portal.links.views import link_for_session
from portal.notifications import confirmations
from portal.offers.adapter import snapshot
from portal.plans import requests
from portal.plans import service as plans
from portal.plans.labels import decline_reason_text
from portal.plans.models import Plan, PlanState
from portal.policies.cache import load_policy
from portal.policies.service import active_version

bp = Blueprint("journey", __name__, url_prefix="/plan")
BUDGET = "budget_event"  # the session key of this session's budget (a case event id)
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def _account() -> Any:
    return current_user.account


def _actor() -> Actor:
    return Actor.cardholder(_account().id, request.remote_addr)


def _budget() -> dict[str, str] | None:
    """The budget the cardholder gave in this session, read from their case file."""
    return cases.budget_figures(_account().id, session.get(BUDGET))


def _plan_or_404(plan_id: int) -> Plan:
    plan = db.session.get(Plan, plan_id)
    if plan is None or plan.account_id != _account().id:
        abort(404)
    return plan


def plan_error_message(code: str) -> str:
    messages = {
        "offer_changed": _(
            "Something changed since you looked, so the plans were updated. Here are the plans you can choose now."
        ),
        "already_has_plan": _("You already have a plan with us. Here it is."),
        "name_mismatch": _(
            "The name does not match the name on your account. Type your full name as it appears on your account."
        ),
        "needs_approval": _("This plan needs a check by our team first."),
        "reason_required": _("Please tell us what made repaying hard, so our team can help."),
        "account_paused": _(
            "Your account is under dispute, so plans wait until it is settled. Please call us to talk about it."
        ),
    }
    return messages.get(code, _("That did not work. Please try again."))


def _offer_terms(offer: Any) -> KeyTerms:
    """The key terms of an offer, read from the plan it would make: the same fields the
    agreement preview renders and acceptance saves (``plans.offered_plan``)."""
    return key_terms(plans.offered_plan(_account(), offer), jurisdictions.care_phone())


def _offer_plan(offer: Any) -> Plan:
    return plans.build_plan(_account(), None, offer, PlanState.PENDING_SIGNATURE, str(get_locale()), "self_service")


def consent_text() -> str:
    """The e-signature notice, shown before signing; its SHA-256 is kept as evidence."""
    return _(
        "Before you sign: you agree to sign this plan electronically and to get the agreement as a PDF file. "
        "You need a phone or computer that can open PDF files. You have the right to a paper copy at no cost: "
        "call %(phone)s and we will post it to you. You can withdraw your consent to electronic records at any "
        "time by calling the same number; the plan you signed stays valid. This consent covers this plan and "
        "its agreement only.",
        phone=jurisdictions.care_phone(),
    )


@bp.route("")
@cardholder_required
def start() -> str:
    account = _account()
    plan = plans.open_plan(account.id)
    if plan is not None:
        return render_template(
            "journey/status.html",
            plan=plan,
            account=account,
            withdraw_form=WithdrawForm(),
            first=plan.installments[0] if plan.installments else None,
            monthly=max((i.total for i in plan.installments), default=None),
        )
    reason = cases.latest_reason(account.id)
    return render_template(
        "journey/start.html",
        account=account,
        reasons=cases.REASONS,
        reason=reason,
        topic=suggested_topic(reason),
        declined=plans.latest_decline(account.id),
        decline_reason_text=decline_reason_text,
    )


@bp.route("/from-link")
@cardholder_required
def from_link() -> Response:
    """After signing in through a plan link: to the offer care chose, if any, by way of
    the (skippable) budget check, so that nobody signs a plan before seeing if it fits."""
    link = link_for_session(_account().id)
    if link is not None and link.offer_fingerprint:
        if session.get(BUDGET) is None:
            return redirect(url_for("journey.budget", offer=link.offer_fingerprint))
        return redirect(url_for("journey.offer", fingerprint=link.offer_fingerprint))
    return redirect(url_for("journey.start"))


def _already_has_plan(facts: AccountSnapshot | None = None) -> Response | None:
    """An account with an open plan is shown that plan, never offers for a second one
    (``facts``: the account's offer snapshot, if just read: it says so too)."""
    has_plan = facts.has_active_plan if facts is not None else plans.open_plan(_account().id) is not None
    if not has_plan:
        return None
    flash(plan_error_message("already_has_plan"), "info")
    return redirect(url_for("journey.start"))


def _linked_offer() -> str | None:
    """The ``offer`` a budget check was opened for (from a plan link), if well formed."""
    fingerprint = request.args.get("offer", "")
    return fingerprint if _FINGERPRINT.fullmatch(fingerprint) else None


def _session_link(fingerprint: str | None = None) -> Any:
    """The verified plan link this session came through, optionally for this offer."""
    link_id = session.get("link_id")
    if not isinstance(link_id, int):
        return None
    link = db.session.get(PlanLink, link_id)
    if link is None or link.account_id != _account().id or link.verified_at is None:
        return None
    if fingerprint is not None and link.offer_fingerprint not in (None, fingerprint):
        return None
    return link


@bp.route("/reason", methods=["POST"])
@cardholder_required
def reason() -> Response:
    try:
        cases.set_reason(_account().id, request.form.get("reason", ""), _actor())
    except cases.CaseError:
        abort(400)
    flash(_("Thank you for telling us. It helps us suggest the right plan."), "info")
    return redirect(url_for("journey.budget"))


@bp.route("/budget", methods=["GET", "POST"])
@cardholder_required
def budget() -> Response | tuple[str, int]:
    account = _account()
    form = make_budget_form(account.currency)
    if form.validate_on_submit():
        values = {name: form[name].amount for name in BUDGET_FIELDS}
        figures = service.figures_from_form(values)
        budget_ = service.budget_from_figures(figures)
        assert budget_ is not None
        event = cases.record_budget(account.id, figures, budget_.disposable, _actor())
        session[BUDGET] = event.id  # a reference: the figures stay in the case file
        linked = _linked_offer()
        return redirect(url_for("journey.offer", fingerprint=linked) if linked else url_for("journey.offers"))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "journey/budget.html", form=form, groups=BUDGET_GROUPS, account=account, linked_offer=_linked_offer()
    ), status


@bp.route("/offers")
@cardholder_required
@account_loads(CardAccount.offer_history)  # the plan history, with the account
def offers() -> str | Response:
    account = _account()
    facts = snapshot(account)  # whether a plan is open, and the plan history
    if facts.has_active_plan:
        return redirect(url_for("journey.start"))
    figures = _budget()
    return render_template(
        "journey/offers.html",
        account=account,
        listing=service.list_offers(account, figures, facts),
        show_all=request.args.get("all") == "1",
        summary=service.summary,
        budget=service.budget_from_figures(figures),
    )


def _offer_or_fresh(fingerprint: str, facts: AccountSnapshot | None = None) -> Any:
    offer = service.find_choice(_account(), fingerprint, facts)
    if offer is None:
        flash(plan_error_message("offer_changed"), "info")
    return offer


@bp.route("/offers/<fingerprint>")
@cardholder_required
@account_loads(CardAccount.offer_history)
def offer(fingerprint: str) -> str | Response:
    facts = snapshot(_account())
    if (shown := _already_has_plan(facts)) is not None:
        return shown
    chosen = _offer_or_fresh(fingerprint, facts)
    if chosen is None:
        return redirect(url_for("journey.offers"))
    link = _session_link(fingerprint)
    if link is not None and link.offer_fingerprint == fingerprint and link.offer_viewed_at is None:
        mark_offer_viewed(link.id, _actor())
    return render_template(
        "journey/offer.html",
        account=_account(),
        offer=chosen,
        months=len(chosen.quote.installments),  # the plan's name says it; the key terms say the rest
        k=_offer_terms(chosen),
        from_link=link is not None and link.offer_fingerprint == fingerprint,
    )


@bp.route("/offers/<fingerprint>/agreement")
@cardholder_required
def offer_agreement(fingerprint: str) -> str | Response:
    """The agreement this offer would make, as a web page, before anything is signed."""
    chosen = _offer_or_fresh(fingerprint)
    if chosen is None:
        return redirect(url_for("journey.offers"))
    back = url_for("journey.request_plan" if chosen.needs_approval else "journey.accept", fingerprint=fingerprint)
    return _agreement_preview(_offer_plan(chosen), back)


@bp.route("/<int:plan_id>/agreement-preview")
@cardholder_required
def plan_agreement_preview(plan_id: int) -> str:
    """The agreement of a plan made but not yet signed (an approved request), as a web page."""
    plan = _plan_or_404(plan_id)
    back = (
        url_for("journey.sign_approved", plan_id=plan.id)
        if plan.state == PlanState.PENDING_SIGNATURE
        else url_for("journey.start")
    )
    return _agreement_preview(plan, back)


def _agreement_preview(plan: Plan, back: str) -> str:
    return render_template("agreements/preview.html", web=True, back=back, **document_context(plan, None))


@bp.route("/offers/<fingerprint>/accept", methods=["GET", "POST"])
@cardholder_required
@limiter.limit("20 per hour", methods=["POST"])
def accept(fingerprint: str) -> Response | tuple[str, int]:
    account = _account()
    existing = plans.open_plan(account.id)
    if existing is not None and existing.fingerprint == fingerprint and existing.state == PlanState.ACTIVE:
        return redirect(url_for("journey.done", plan_id=existing.id))
    if (shown := _already_has_plan()) is not None:
        return shown
    chosen = _offer_or_fresh(fingerprint)
    if chosen is None:
        return redirect(url_for("journey.offers"))
    if chosen.needs_approval:
        return redirect(url_for("journey.request_plan", fingerprint=fingerprint))
    form = AcceptForm()
    text = consent_text()
    if form.validate_on_submit():
        evidence = plans.Evidence(
            typed_name=form.full_name.data,
            consent_text=text,
            ip=request.remote_addr,
            user_agent=request.user_agent.string,
            locale=str(get_locale()),
        )
        link = _session_link(fingerprint)
        try:
            plan, _created = plans.accept_offer(
                account.id,
                fingerprint,
                evidence,
                _actor(),
                service.account_today(account),
                channel="link" if link is not None else "self_service",
            )
        except plans.PlanError as error:
            db.session.rollback()
            if error.code == "name_mismatch":
                form.full_name.errors.append(plan_error_message(error.code))
            else:
                flash(plan_error_message(error.code), "info")
                return redirect(url_for("journey.offers" if error.code == "offer_changed" else "journey.start"))
        else:
            if link is not None and link.used_at is None:
                try:  # the link's single-use stamp is part of the acceptance transaction
                    mark_accepted(link.id, plan.id, _actor())
                except LinkError:
                    return _link_used_elsewhere()
                session.pop("link_id", None)
            return redirect(url_for("journey.done", plan_id=plan.id))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "journey/accept.html",
        account=account,
        offer=chosen,
        months=len(chosen.quote.installments),  # the plan's name says it; the key terms say the rest
        k=_offer_terms(chosen),
        form=form,
        consent=text,
    ), status


def _link_used_elsewhere() -> tuple[str, int]:
    """The link's single-use stamp found it used by another request: the acceptance is
    rolled back whole (no plan, agreement, confirmation, case event or audit event)."""
    unit_of_work.rollback()
    session.pop("link_id", None)
    title = _("This link was already used")
    text = _("It was used for another plan, so nothing was signed now. Go to the start page to see your plan.")
    return render_template("errors/error.html", title=title, text=text, code=409), 409


@bp.route("/offers/<fingerprint>/request", methods=["GET", "POST"])
@cardholder_required
def request_plan(fingerprint: str) -> Response | tuple[str, int]:
    account = _account()
    if (shown := _already_has_plan()) is not None:
        return shown
    chosen = _offer_or_fresh(fingerprint)
    if chosen is None:
        return redirect(url_for("journey.offers"))
    if not chosen.needs_approval:
        return redirect(url_for("journey.accept", fingerprint=fingerprint))
    reason = cases.latest_reason(account.id)
    personalised = chosen.plan.value == "personalised"
    form = RequestForm()
    if personalised:
        form.monthly.currency = account.currency
        if not form.is_submitted():
            form.monthly.data = service.affordable_text(account)
    else:
        del form.monthly  # only a personalised plan is made to a proposed amount
    if form.validate_on_submit():
        chosen_reason = request.form.get("reason") or reason or ""
        try:
            requests.request_plan(
                account.id,
                fingerprint,
                chosen_reason,
                _actor(),
                service.account_today(account),
                str(get_locale()),
                form.monthly.amount if personalised else None,
            )
        except plans.PlanError as error:
            db.session.rollback()
            if error.code != "reason_required":
                flash(plan_error_message(error.code), "info")
                return redirect(url_for("journey.start"))
            form.confirm.errors.append(plan_error_message(error.code))
        else:
            return redirect(url_for("journey.start"))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "journey/request.html",
        account=account,
        offer=chosen,
        s=service.summary(chosen),
        form=form,
        reason=reason,
        reasons=cases.REASONS,
        personalised=personalised,
    ), status


@bp.route("/<int:plan_id>/withdraw", methods=["POST"])
@cardholder_required
def withdraw(plan_id: int) -> Response:
    plan = _plan_or_404(plan_id)
    if not WithdrawForm().validate_on_submit():
        abort(400)
    try:
        requests.withdraw_request(plan.id, _account().id, _actor())
    except plans.PlanError:
        db.session.rollback()
        flash(_("This request was already decided, so it cannot be withdrawn."), "info")
        return redirect(url_for("journey.start"))
    flash(_("Your request was withdrawn. You can choose another plan."), "info")
    return redirect(url_for("journey.offers"))


@bp.route("/<int:plan_id>/sign", methods=["GET", "POST"])
@cardholder_required
def sign_approved(plan_id: int) -> Response | tuple[str, int]:
    account = _account()
    plan = _plan_or_404(plan_id)
    if plan.state == PlanState.ACTIVE:
        return redirect(url_for("journey.done", plan_id=plan.id))
    if plan.state != PlanState.PENDING_SIGNATURE:
        return redirect(url_for("journey.start"))
    form = AcceptForm()
    text = consent_text()
    if form.validate_on_submit():
        evidence = plans.Evidence(
            typed_name=form.full_name.data,
            consent_text=text,
            ip=request.remote_addr,
            user_agent=request.user_agent.string,
            locale=str(get_locale()),
        )
        try:
            plans.sign_approved(plan.id, account.id, evidence, _actor())
        except plans.PlanError as error:
            db.session.rollback()
            form.full_name.errors.append(plan_error_message(error.code))
        else:
            return redirect(url_for("journey.done", plan_id=plan.id))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "journey/sign_approved.html",
        account=account,
        plan=plan,
        form=form,
        consent=text,
        k=key_terms(plan, jurisdictions.care_phone()),
    ), status


def _promise_problems(policy: OfferPolicy, form: PromiseForm, amount: Decimal) -> list[str]:
    account = _account()
    return check_promise(snapshot(account), policy, amount, form.pay_by.data, service.account_today(account))


@bp.route("/promise", methods=["GET", "POST"])
@cardholder_required
def promise() -> Response | tuple[str, int]:
    account = _account()
    policy = load_policy(active_version(account.currency))
    form = PromiseForm()
    form.amount.currency = account.currency
    if form.validate_on_submit():
        amount = form.amount.amount
        assert amount is not None, "AmountField.pre_validate parsed it: the form validated"
        problems = _promise_problems(policy, form, amount)
        if not problems:
            made = cases.record_promise(account.id, amount, account.currency, form.pay_by.data, _actor())
            confirmations.promise_recorded(account, made.amount, made.pay_by, _actor())
            return redirect(url_for("journey.promise_made", promise_id=made.id))
        for code in problems:
            target = form.pay_by if code in {"date_in_past", "date_too_far"} else form.amount
            target.errors.append(promise_message(code, policy, account))
    status = 422 if form.is_submitted() else 200
    today = service.account_today(account)
    return render_template(
        "journey/promise.html",
        form=form,
        account=account,
        policy=policy,
        today=today,
        minimum=_promise_minimum(policy, account),
        latest=latest_promise_date(today, policy.promise_max_days),
        open_promise=cases.open_promise(account.id),
    ), status


@bp.route("/promise/<int:promise_id>")
@cardholder_required
def promise_made(promise_id: int) -> str:
    """What the cardholder promised, by when, how to pay and what happens next."""
    account = _account()
    made = db.session.get(Promise, promise_id)
    if made is None or made.account_id != account.id:
        abort(404)
    return render_template("journey/promise_made.html", promise=made, account=account)


def _promise_minimum(policy: OfferPolicy, account: Any) -> Decimal:
    return minimum_promise(account.overdue_amount, policy.promise_min_share, account.currency)


def promise_message(code: str, policy: OfferPolicy, account: Any) -> str:
    messages = {
        "date_in_past": _("Choose today or a later date."),
        "date_too_far": _("Choose a date within %(days)d days from today.", days=policy.promise_max_days),
        "below_minimum": _(
            "The amount must be at least %(amount)s.", amount=money(_promise_minimum(policy, account), account.currency)
        ),
        "above_balance": _("That is more than you owe in total."),
        "too_many_decimals": _("Enter the amount with no more than two decimal places."),
        "amount_not_positive": _("Enter the amount you will pay."),
    }
    return messages.get(code, _("A promise to pay is not possible on this account now. Please call us."))


@bp.route("/<int:plan_id>/done", methods=["GET"])
@cardholder_required
def done(plan_id: int) -> str:
    plan = _plan_or_404(plan_id)
    return render_template(
        "journey/done.html",
        plan=plan,
        account=_account(),
        form=RatingForm(),
        rated=session.get("rated_plan") == plan.id,
        agreement=_agreement_for(plan),
    )


def _agreement_for(plan: Plan) -> Agreement | None:
    return db.session.execute(select(Agreement).where(Agreement.plan_id == plan.id)).scalar_one_or_none()


@bp.route("/<int:plan_id>/rating", methods=["POST"])
@cardholder_required
def rating(plan_id: int) -> Response | tuple[str, int]:
    plan = _plan_or_404(plan_id)
    form = RatingForm()
    if form.validate_on_submit():
        cases.record_rating(plan.account_id, plan.id, int(form.rating.data), form.comment.data or "", _actor())
        session["rated_plan"] = plan.id
        flash(_("Thank you for your feedback."), "info")
        return redirect(url_for("journey.done", plan_id=plan.id))
    return render_template(
        "journey/done.html", plan=plan, account=_account(), form=form, rated=False, agreement=_agreement_for(plan)
    ), 422
