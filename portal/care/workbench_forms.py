"""Forms of the care workbench: ownership, call-backs and follow-ups, phone promises, note templates."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.fields import DateField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.care.workbench import MAX_NOTE
from portal.forms import PortalForm
from portal.inputs import bounded
from portal.journey.forms import AmountField


class OwnerForm(PortalForm):
    """Take, release, or (a supervisor) assign a case; ``staff`` only for assign."""

    action = SelectField(
        choices=[SelectChoice("take"), SelectChoice("release"), SelectChoice("assign")], validators=[InputRequired()]
    )
    # A member of staff's id: bounded like every number (a SelectField is not bounded by PortalForm).
    staff = SelectField(_l("Assign to"), coerce=int, validators=[Optional(), bounded], validate_choice=False)


class NextCaseForm(PortalForm):
    tier = HiddenField()


class TaskForm(PortalForm):
    kind = RadioField(
        _l("What"),
        choices=[SelectChoice("callback", _l("Call back")), SelectChoice("follow_up", _l("Follow up"))],
        default="callback",
        validators=[InputRequired(message=_l("Choose call back or follow up."))],
    )
    day = DateField(_l("Date"), validators=[DataRequired(message=_l("Enter a date, for example 2026-12-20."))])
    at = TimeField(_l("Time"), validators=[DataRequired(message=_l("Enter a time, for example 14:30."))])
    note = TextAreaField(
        _l("What it is about (optional)"),
        validators=[Optional(), Length(max=MAX_NOTE, message=_l("Keep it under 1000 characters."))],
    )


class TaskDoneForm(PortalForm):
    pass


class PhonePromiseForm(PortalForm):
    amount = AmountField(
        _l("Amount promised"),
        validators=[InputRequired(message=_l("Enter the amount promised.")), Length(max=30)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    pay_by = DateField(_l("To pay by"), validators=[DataRequired(message=_l("Enter a date, for example 2026-12-20."))])
