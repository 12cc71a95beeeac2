"""The signed-in cardholder's contact preferences: collection texts and e-mails on or off.

Turning a channel off is the same opt-out as a STOP reply or the unsubscribe link; this
page is also the one place where a cardholder turns a channel back on themselves (staff
need a supervisor and the cardholder's documented request). Sign-in codes and messages the
cardholder asks for are not collection messages and always go.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import RadioField, SelectChoice
from wtforms.validators import InputRequired

from portal.audit.service import Actor
from portal.auth import cardholder_required
from portal.forms import PortalForm
from portal.notifications.optout import contact_choices, set_contact_choices

bp = Blueprint("contact", __name__)

# Bump when the statement's wording changes: the evidence names the version agreed to.
STATEMENT_VERSION = "contact-preferences-1"


def consent_statement() -> str:
    return _(
        "When you choose yes, you agree that we may send you messages about your card repayments this way. "
        "You can change this here at any time."
    )


class PreferencesForm(PortalForm):
    sms = RadioField(
        _l("Text messages about your repayments"),
        choices=[SelectChoice("on", _l("Yes, send me texts")), SelectChoice("off", _l("No texts"))],
        validators=[InputRequired(message=_l("Choose yes or no for text messages."))],
    )
    email = RadioField(
        _l("E-mails about your repayments"),
        choices=[SelectChoice("on", _l("Yes, send me e-mails")), SelectChoice("off", _l("No e-mails"))],
        validators=[InputRequired(message=_l("Choose yes or no for e-mails."))],
    )


@bp.route("/account/contact", methods=["GET", "POST"])
@cardholder_required
def preferences() -> Response | tuple[str, int]:
    account = current_user.account
    holder = account.cardholder
    now = contact_choices(account)
    form = PreferencesForm(data={c: "on" if allowed else "off" for c, allowed in now.items()})
    if holder.email is None:
        del form.email  # nothing to choose: we have no address
    if form.validate_on_submit():
        wanted = {"sms": form.sms.data == "on"}
        if "email" in form:
            wanted["email"] = form.email.data == "on"
        evidence = {
            "statement": consent_statement(),
            "statement_version": STATEMENT_VERSION,
            "locale": str(get_locale()),
            "user_agent": request.user_agent.string[:200],
        }
        actor = Actor.cardholder(account.id, request.remote_addr)
        changed = set_contact_choices(account.id, wanted, actor, evidence)
        flash(
            _("Your choices are saved.") if changed else _("Nothing changed: these were already your choices."), "info"
        )
        return redirect(url_for(".preferences"))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "accounts/contact.html",
        form=form,
        account=account,
        consent_statement=consent_statement,
        do_not_contact="do_not_contact" in (account.flags or []),
    ), status
