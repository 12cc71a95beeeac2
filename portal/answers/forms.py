"""The question box: one line of text."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from portal.answers.ask import MAX_QUESTION
from portal.answers.models import ANSWER_LOCALES
from portal.forms import PortalForm
from portal.i18n import LOCALES


class QuestionForm(PortalForm):
    """The question. Its CSRF token, asked only of a signed-in person, is checked by
    ``answers.views.ask`` before the form is read, so the form itself makes none."""

    class Meta:
        csrf = False

    question = StringField(
        _l("Ask a question"),
        description=_l("For example: can I pay less this month? Do not type your card number."),
        validators=[
            DataRequired(message=_l("Type your question.")),
            Length(max=MAX_QUESTION, message=_l("Keep your question under 500 characters.")),
        ],
    )


class UnansweredFilter(PortalForm):
    """GET filter of the unanswered questions page: bookmarkable, changes nothing."""

    class Meta:
        csrf = False

    language = SelectField(
        _l("Language"),
        choices=[SelectChoice("", _l("All languages"))]
        + [SelectChoice(code, LOCALES[code]) for code in ANSWER_LOCALES],
        default="",
        validate_choice=True,
    )
    days = SelectField(
        _l("Asked in the last"),
        choices=[
            SelectChoice("7", _l("7 days")),
            SelectChoice("30", _l("30 days")),
            SelectChoice("90", _l("90 days")),
            SelectChoice("180", _l("180 days")),
        ],
        default="30",
        validate_choice=True,
    )
