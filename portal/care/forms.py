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
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from portal.care import labels, workbench_labels
from portal.care.queries import STATES
from portal.care.service import CONTACT_CHANNELS, FLAGS, MAX_NOTE, OUTCOMES
from portal.cases.service import REASONS
from portal.domain.schedule import MAX_PLAN_MONTHS
from portal.forms import PortalForm
from portal.journey.forms import AmountField
from portal.payments.review import MAX_NOTE as MAX_REVIEW_NOTE
from portal.plans.labels import DECLINE_REASON_TEXT
from portal.plans.models import DECLINE_REASONS


def _choices(table: dict[str, object], codes: tuple[str, ...], *, blank: bool = False) -> list[SelectChoice]:
    """Select options; ``blank`` starts with an empty "Choose…" so nothing is pre-chosen for staff."""
    options = [SelectChoice(code, table[code]) for code in codes]
    return [SelectChoice("", _l("Choose…")), *options] if blank else options


class QueryForm(PortalForm):
    """A GET form: values come from ``request.args``; no CSRF (it changes nothing)."""

    class Meta:
        csrf = False


class QueueFilterForm(QueryForm):
    tier = HiddenField()
    currency = SelectField(_l("Currency"), choices=[], validators=[Optional()])  # set by the view
    min_balance = DecimalField(
        _l("Balance from"),
        places=None,
        validators=[Optional(), NumberRange(min=Decimal(0), message=_l("Enter 0 or more."))],
        render_kw={"inputmode": "decimal"},
    )
    max_balance = DecimalField(
        _l("Balance up to"),
        places=None,
        validators=[Optional(), NumberRange(min=Decimal(0), message=_l("Enter 0 or more."))],
        render_kw={"inputmode": "decimal"},
    )
    flag = SelectField(
        _l("Flag"),
        validators=[Optional()],
        choices=[
            SelectChoice("", _l("Any")),
            SelectChoice("none", _l("No flags")),
            *_choices(labels.FLAGS, FLAGS),
            SelectChoice("plan_broken", _l("Plan broken")),
        ],
    )
    sort = SelectField(
        _l("Sort by"),
        validators=[Optional()],
        choices=[SelectChoice("dpd", _l("Days past due")), SelectChoice("amount", _l("Overdue amount"))],
    )
    state = SelectField(
        _l("State"),
        validators=[Optional()],
        choices=[SelectChoice("", _l("Any")), *_choices(workbench_labels.CASE_STATES, STATES)],
    )
    owner = SelectField(
        _l("Owner"),
        validators=[Optional()],
        choices=[
            SelectChoice("", _l("Anyone or nobody")),
            SelectChoice("mine", _l("Mine")),
            SelectChoice("unowned", _l("Nobody")),
            SelectChoice("owned", _l("Someone")),
        ],
    )
    outcome = SelectField(
        _l("Last outcome"),
        validators=[Optional()],
        choices=[SelectChoice("", _l("Any")), *_choices(labels.OUTCOMES, OUTCOMES)],
    )
    next_action = SelectField(
        _l("Next action"),
        validators=[Optional()],
        choices=[
            SelectChoice("", _l("Any")),
            SelectChoice("due", _l("Due now")),
            SelectChoice("later", _l("Set for later")),
            SelectChoice("none", _l("None set")),
        ],
    )
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100000)])


class SearchForm(QueryForm):
    q = StringField(
        _l("Name, card number, phone, e-mail or account reference"),
        validators=[InputRequired(message=_l("Type something to search for.")), Length(max=100)],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    dob = DateField(_l("Date of birth"), validators=[Optional()], description=_l("Needed with the last 4 card digits."))


class NoteForm(PortalForm):
    outcome = SelectField(
        _l("Outcome"),
        choices=_choices(labels.OUTCOMES, OUTCOMES, blank=True),
        validators=[InputRequired(message=_l("Choose an outcome."))],
    )
    channel = SelectField(_l("How"), choices=_choices(labels.CONTACT_CHANNELS, CONTACT_CHANNELS), default="phone")
    text = TextAreaField(
        _l("Note"),
        validators=[
            InputRequired(message=_l("Write the note.")),
            Length(max=MAX_NOTE, message=_l("Keep the note under 4000 characters.")),
        ],
    )


class ReasonForm(PortalForm):
    reason = SelectField(
        _l("Reason for the debt"),
        choices=_choices(labels.REASONS, REASONS, blank=True),
        validators=[InputRequired(message=_l("Choose a reason."))],
    )


# The flags staff set and clear on a case file, in the order the page lists them.
FLAG_CHOICES = _choices(labels.FLAGS, FLAGS)


class FlagForm(PortalForm):
    flag = SelectField(_l("Flag"), choices=FLAG_CHOICES, validators=[InputRequired(message=_l("Choose a flag."))])
    action = SelectField(choices=[SelectChoice("set"), SelectChoice("clear")], validators=[InputRequired()])
    note = StringField(_l("Why (optional)"), validators=[Optional(), Length(max=500)])


class LinkForm(PortalForm):
    channel = RadioField(
        _l("Send by"),
        choices=[SelectChoice("sms", _l("Text message")), SelectChoice("email", _l("E-mail"))],
        validators=[InputRequired(message=_l("Choose text message or e-mail."))],
    )
    offer = RadioField(_l("Pre-select an offer (optional)"), validators=[Optional()], validate_choice=False)
    action = HiddenField(default="preview")


class RevokeForm(PortalForm):
    pass


class DecisionForm(PortalForm):
    """A supervisor's decision on a request. ``shown`` is the digest of the request as
    rendered; the service refuses the decision if the request differs now."""

    shown = HiddenField(validators=[InputRequired(), Regexp("^[0-9a-f]{64}$")])
    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice("approve", _l("Approve")), SelectChoice("decline", _l("Decline"))],
        validators=[InputRequired(message=_l("Choose approve or decline."))],
    )
    months = IntegerField(
        _l("Approve with this number of payments (optional)"),
        validators=[Optional(), NumberRange(min=1, max=MAX_PLAN_MONTHS, message=_l("Enter a number from 1 to 60."))],
        render_kw={"inputmode": "numeric"},
    )
    # Read like every amount people type (never a float, never NaN): ``monthly.amount``.
    monthly = AmountField(
        _l("Or approve at this monthly amount (optional)"),
        validators=[Optional(), Length(max=30)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    pause_months = IntegerField(
        _l("Months with no payment at the start"),
        default=0,
        validators=[Optional(), NumberRange(min=0, max=MAX_PLAN_MONTHS, message=_l("Enter 0 or more months."))],
        render_kw={"inputmode": "numeric"},
    )
    decline_reason = SelectField(
        _l("Reason for declining (the cardholder sees it)"),
        choices=_choices(DECLINE_REASON_TEXT, DECLINE_REASONS, blank=True),
        validators=[Optional()],
    )
    note = TextAreaField(
        _l("Note (the cardholder sees it with a decline; it goes on the case file)"),
        validators=[Optional(), Length(max=2000)],
    )


class AssignPaymentForm(PortalForm):
    """Assign an unmatched payment to the account a reference names."""

    reference = StringField(
        _l("Account reference"),
        description=_l("As shown on the case file, for example DEMO0001."),
        validators=[
            InputRequired(message=_l("Enter the account reference.")),
            Length(max=20, message=_l("An account reference has at most 20 characters.")),
        ],
        render_kw={"spellcheck": "false", "autocomplete": "off", "autocapitalize": "characters"},
    )
    note = StringField(
        _l("Why this account (optional)"),
        validators=[Optional(), Length(max=MAX_REVIEW_NOTE, message=_l("Keep the note under 500 characters."))],
    )


class NotOursForm(PortalForm):
    """Take an unmatched payment off the list: it belongs to no account here."""

    note = StringField(
        _l("Why it is not ours"),
        validators=[
            InputRequired(message=_l("Write why it is not ours.")),
            Length(max=MAX_REVIEW_NOTE, message=_l("Keep the note under 500 characters.")),
        ],
    )


class ReviewPageForm(QueryForm):
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100000)])
