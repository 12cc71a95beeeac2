"""Sign-in forms. Messages are generic on purpose: see ``portal.auth.service``."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import StringField, ValidationError
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length

from portal.forms import PortalForm
from portal.security import luhn_valid, normalise_digits


class CardForm(PortalForm):
    card_number = StringField(
        _l("Card number"),
        validators=[InputRequired(message=_l("Enter your card number.")), Length(max=40)],
        description=_l("The long number on the front of your card, 16 digits for most cards."),
        render_kw={"inputmode": "numeric", "autocomplete": "cc-number", "spellcheck": "false"},
    )
    date_of_birth = DateField(
        _l("Date of birth"),
        validators=[DataRequired(message=_l("Enter your date of birth, for example 1985-03-27."))],
        render_kw={"autocomplete": "bday", "min": "1900-01-01"},
    )

    def validate_card_number(self, field: StringField) -> None:
        digits = normalise_digits(field.data or "")
        if not luhn_valid(digits):
            raise ValidationError(_l("Check the card number: it should be 12 to 19 digits, as printed on your card."))
        field.data = digits

    def validate_date_of_birth(self, field: DateField) -> None:
        if field.data and not (date(1900, 1, 1) <= field.data <= date.today()):
            raise ValidationError(_l("Enter a real date of birth, for example 1985-03-27."))


class CodeForm(PortalForm):
    code = StringField(
        _l("Code from the text message"),
        validators=[InputRequired(message=_l("Enter the 6-digit code from the text message."))],
        render_kw={
            "inputmode": "numeric",
            "autocomplete": "one-time-code",
            "maxlength": "6",
            "pattern": "[0-9]{6}",
            "spellcheck": "false",
        },
    )

    def validate_code(self, field: StringField) -> None:
        digits = normalise_digits(field.data or "")
        if len(digits) != 6 or not digits.isascii() or not digits.isdigit():
            raise ValidationError(_l("The code is 6 digits. Check the text message and try again."))
        field.data = digits
