"""Downloading a signed agreement (its cardholder only) and the public verification page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.agreements import service
from portal.agreements.forms import VerifyForm
from portal.agreements.models import AgreementState
from portal.agreements.reference import BadReferenceError, parse_reference
from portal.agreements.render import plan_type_label
from portal.extensions import limiter

bp = Blueprint("agreements", __name__)


@bp.route("/agreements/<reference>.pdf")
def download(reference: str) -> Response:
    # Anyone else, signed in or not, gets "not found": never a hint that it exists.
    try:
        canonical = parse_reference(reference)
    except BadReferenceError:
        abort(404)
    agreement = service.find_agreement(canonical)
    identity = current_user._get_current_object()
    if agreement is None or agreement.state != AgreementState.SIGNED or not service.may_download(identity, agreement):
        abort(404)
    try:
        data = service.signed_pdf(agreement)
    except service.DocumentUnavailableError:
        abort(503)  # the store did not answer: the cardholder may try again shortly
    except service.DocumentAlteredError:
        abort(500)  # never serve bytes the bank did not sign; logged for the bank to act
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{canonical}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit("20 per minute; 200 per day", methods=["POST"])
def verify() -> tuple[str, int]:
    form = VerifyForm()
    verdict = None
    status = 200
    if form.validate_on_submit():
        upload = form.document.data
        if upload:
            data = upload.stream.read(current_app.config["MAX_CONTENT_LENGTH"] or None)
            verdict = service.verify_document_with_reference(data, form.reference.data or "")
            if verdict.outcome == service.NOT_PDF:
                form.document.errors = [_("That file is not a PDF. Choose the agreement PDF you downloaded.")]
        else:
            try:
                verdict = service.verify_reference(form.reference.data)
            except service.DocumentUnavailableError:
                abort(503)  # no verdict rather than a wrong one while the store is away
        if verdict.outcome == service.MISTYPED:
            form.reference.errors = [
                _("Check the reference: a letter or digit seems to be wrong. It looks like PA-7K3M-9QXD-4.")
            ]
        if verdict.outcome in {service.NOT_PDF, service.MISTYPED}:
            verdict, status = None, 422
    elif form.is_submitted():
        status = 422
    label = plan_type_label(verdict.plan_type) if verdict and verdict.plan_type else None
    return render_template("agreements/verify.html", form=form, verdict=verdict, plan_label=label), status
