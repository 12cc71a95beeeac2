"""The review list of unmatched payments under /care/payments (agents and supervisors)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from portal.care.forms import AssignPaymentForm, NotOursForm, ReviewPageForm
from portal.extensions import db
from portal.payments import review
from portal.payments.models import MatchBasis, Payment, PaymentSource, PaymentStatus
from portal.staff.access import current_staff, staff_actor, staff_required

bp = Blueprint("care_payments", __name__, url_prefix="/care/payments")

# Why a payment did not match, in words staff read.
WHY_UNMATCHED: dict[str, Any] = {
    MatchBasis.NO_REFERENCE: _l("No reference we know: the payer named no account or agreement of ours."),
    MatchBasis.AMBIGUOUS: _l("It names more than one account."),
    MatchBasis.OTHER_CURRENCY: _l("It names an account kept in another currency."),
    MatchBasis.ORIGINAL_NOT_FOUND: _l("The bank took back a payment we never received."),
}
SOURCES: dict[str, Any] = {
    PaymentSource.CAMT053: _l("Bank statement (camt.053)"),
    PaymentSource.CAMT054: _l("Bank notification (camt.054)"),
    PaymentSource.CSV: _l("CSV file"),
    PaymentSource.API: _l("Core system (API)"),
    PaymentSource.CORE: _l("Core system history"),
}
STATUSES: dict[str, Any] = {
    PaymentStatus.POSTED: _l("Posted to an account"),
    PaymentStatus.UNMATCHED: _l("Waiting for review"),
    PaymentStatus.NOT_OURS: _l("Not ours"),
    PaymentStatus.REVERSED: _l("Reversed"),
}


@bp.record_once
def _register_template_helpers(state: Any) -> None:
    # The navigation of every staff page shows how many payments wait.
    state.app.jinja_env.globals["unmatched_payments_count"] = waiting_count


def waiting_count() -> int:
    """How many payments wait for review: as the staff loader read it with the signed-in
    member of staff (no query of its own), or counted now."""
    known = getattr(current_staff(), "waiting_payments", None)
    return review.waiting_count() if known is None else int(known)


def review_error_message(code: str) -> str:
    messages = {
        "already_handled": _("Someone else has already dealt with this payment. Nothing was changed."),
        "unknown_account": _("We could not find an account with that reference. Check it and try again."),
        "other_currency": _(
            "That account is kept in another currency. A payment can only go to an account in its own currency."
        ),
        "reference_required": _("Enter the account reference."),
        "not_assignable": _(
            "This is money taken back, not a payment, so it cannot go onto an account. Mark it as not ours."
        ),
        "note_required": _("Write why it is not ours."),
        "note_too_long": _("Keep the note under 500 characters."),
        "not_allowed": _("Your role cannot do this."),
    }
    return messages.get(code, _("That did not work. Please try again."))


def _label(table: dict[str, Any], code: str | None) -> str:
    found = table.get(code or "")
    return str(found) if found is not None else str(code or "—")


def _context() -> dict[str, Any]:
    return {
        "why": lambda p: _label(WHY_UNMATCHED, p.match_basis),
        "source": lambda p: _label(SOURCES, p.source),
        "status": lambda p: _label(STATUSES, p.status),
        "signed_amount": review.amount_of,
        "assignable": review.assignable,
    }


@bp.route("/")
@staff_required(*review.REVIEWERS)
def index() -> tuple[str, int]:
    form = ReviewPageForm(formdata=request.args)
    valid = form.validate()
    page = review.waiting((form.page.data or 1) if valid else 1)
    return render_template("care/payments.html", page=page, form=form, **_context()), 200 if valid else 422


def _render_payment(
    payment: Payment,
    status: int = 200,
    assign_form: AssignPaymentForm | None = None,
    not_ours_form: NotOursForm | None = None,
) -> tuple[str, int]:
    return render_template(
        "care/payment.html",
        payment=payment,
        assign_form=assign_form or AssignPaymentForm(formdata=None),
        not_ours_form=not_ours_form or NotOursForm(formdata=None),
        **_context(),
    ), status


def _found(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        abort(404)
    return payment


@bp.route("/<int:payment_id>")
@staff_required(*review.REVIEWERS)
def show(payment_id: int) -> tuple[str, int]:
    return _render_payment(_found(payment_id))


def _refused(payment_id: int, error: review.ReviewError, **forms: Any) -> tuple[str, int]:
    """Render the payment again after a refusal: nothing of the attempt was kept."""
    db.session.rollback()
    payment = _found(payment_id)
    if error.code == "already_handled":
        flash(review_error_message(error.code), "error")
        return _render_payment(payment, 409)
    if error.code == "not_allowed":
        flash(review_error_message(error.code), "error")
        return _render_payment(payment, 403)
    return _render_payment(payment, 422, **forms)


@bp.route("/<int:payment_id>/assign", methods=["POST"])
@staff_required(*review.REVIEWERS)
def assign(payment_id: int) -> Response | tuple[str, int]:
    payment = _found(payment_id)
    form = AssignPaymentForm()
    if not form.validate_on_submit():
        return _render_payment(payment, 422, assign_form=form)
    try:
        account_id = review.assign_payment(payment_id, form.reference.data or "", staff_actor(), form.note.data or "")
    except review.ReviewError as error:
        form.reference.errors = [*form.reference.errors, review_error_message(error.code)]
        return _refused(payment_id, error, assign_form=form)
    flash(_("Payment assigned to the account. It is on the case file."), "info")
    return redirect(url_for("care.account", account_id=account_id) + "#timeline")


@bp.route("/<int:payment_id>/not-ours", methods=["POST"])
@staff_required(*review.REVIEWERS)
def not_ours(payment_id: int) -> Response | tuple[str, int]:
    payment = _found(payment_id)
    form = NotOursForm()
    if not form.validate_on_submit():
        return _render_payment(payment, 422, not_ours_form=form)
    try:
        review.mark_not_ours(payment_id, form.note.data or "", staff_actor())
    except review.ReviewError as error:
        form.note.errors = [*form.note.errors, review_error_message(error.code)]
        return _refused(payment_id, error, not_ours_form=form)
    flash(_("Payment marked as not ours."), "info")
    return redirect(url_for("care_payments.index"))
