"""Care forms. Filter and search forms read the query string and carry no CSRF token."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import (
    DecimalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from portal.care import labels
from portal.care.service import CONTACT_CHANNELS, FLAGS, MAX_NOTE, OUTCOMES
from portal.cases.service import REASONS
from portal.forms import PortalForm


def _choices(table: dict[str, object], codes: tuple[str, ...], *, blank: bool = False) -> list[SelectChoice]:
    """Select options; ``blank`` starts with an empty "Choose…" so nothing is pre-chosen for staff."""
    options = [SelectChoice(code, table[code]) for code in codes]  # type: ignore[arg-type]
    return [SelectChoice("", _l("Choose…")), *options] if blank else options


class QueryForm(PortalForm):
    """A GET form: values come from ``request.args``; no CSRF (it changes nothing)."""

    class Meta:
        csrf = False


class QueueFilterForm(QueryForm):
    tier = HiddenField()
    currency = SelectField(_l("Currency"), choices=[], validators=[Optional()])  # set by the view
    min_balance = DecimalField(_l("Balance from"), places=None,
                               validators=[Optional(), NumberRange(min=Decimal(0), message=_l("Enter 0 or more."))],
                               render_kw={"inputmode": "decimal"})
    max_balance = DecimalField(_l("Balance up to"), places=None,
                               validators=[Optional(), NumberRange(min=Decimal(0), message=_l("Enter 0 or more."))],
                               render_kw={"inputmode": "decimal"})
    flag = SelectField(_l("Flag"), validators=[Optional()],
                       choices=[SelectChoice("", _l("Any")), SelectChoice("none", _l("No flags")),
                                *_choices(labels.FLAGS, FLAGS)])
    sort = SelectField(_l("Sort by"), validators=[Optional()],
                       choices=[SelectChoice("dpd", _l("Days past due")), SelectChoice("amount", _l("Overdue amount"))])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100000)])


class SearchForm(QueryForm):
    q = StringField(_l("Name, phone, account reference or last 4 card digits"),
                    validators=[InputRequired(message=_l("Type something to search for.")), Length(max=100)],
                    render_kw={"spellcheck": "false", "autocomplete": "off"})
    dob = DateField(_l("Date of birth"), validators=[Optional()],
                    description=_l("Needed with the last 4 card digits."))


class NoteForm(PortalForm):
    outcome = SelectField(_l("Outcome"), choices=_choices(labels.OUTCOMES, OUTCOMES, blank=True),
                          validators=[InputRequired(message=_l("Choose an outcome."))])
    channel = SelectField(_l("How"), choices=_choices(labels.CONTACT_CHANNELS, CONTACT_CHANNELS), default="phone")
    text = TextAreaField(_l("Note"), validators=[
        InputRequired(message=_l("Write the note.")),
        Length(max=MAX_NOTE, message=_l("Keep the note under 4000 characters.")),
    ])


class ReasonForm(PortalForm):
    reason = SelectField(_l("Reason for the debt"), choices=_choices(labels.REASONS, REASONS, blank=True),
                         validators=[InputRequired(message=_l("Choose a reason."))])


class FlagForm(PortalForm):
    flag = SelectField(_l("Flag"), choices=_choices(labels.FLAGS, FLAGS),
                       validators=[InputRequired(message=_l("Choose a flag."))])
    action = SelectField(choices=[SelectChoice("set"), SelectChoice("clear")], validators=[InputRequired()])
    note = StringField(_l("Why (optional)"), validators=[Optional(), Length(max=500)])


class LinkForm(PortalForm):
    channel = RadioField(_l("Send by"), choices=[SelectChoice("sms", _l("Text message")),
                                                 SelectChoice("email", _l("E-mail"))],
                         validators=[InputRequired(message=_l("Choose text message or e-mail."))])
    offer = RadioField(_l("Pre-select an offer (optional)"), validators=[Optional()], validate_choice=False)
    action = HiddenField(default="preview")


class RevokeForm(PortalForm):
    pass


class DecisionForm(PortalForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("approve", _l("Approve")),
                                                   SelectChoice("decline", _l("Decline"))],
                          validators=[InputRequired(message=_l("Choose approve or decline."))])
    note = TextAreaField(_l("Note for the case file"), validators=[Optional(), Length(max=2000)])
