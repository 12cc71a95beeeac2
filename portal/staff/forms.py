"""Staff sign-in and enrolment forms, and the forms of the staff management pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField, ValidationError
from wtforms.validators import InputRequired, Length

from portal.forms import PortalForm
from portal.security import normalise_digits


def _six_digits(field: StringField) -> None:
    digits = normalise_digits(field.data or "")
    if len(digits) != 6 or not digits.isascii() or not digits.isdigit():
        raise ValidationError(_l("The code is 6 digits, as shown in your authenticator app."))
    field.data = digits


class StaffSignInForm(PortalForm):
    email = StringField(
        _l("Work e-mail"),
        validators=[InputRequired(message=_l("Enter your work e-mail address.")), Length(max=254)],
        render_kw={"autocomplete": "username", "spellcheck": "false", "inputmode": "email"},
    )
    password = PasswordField(
        _l("Password"),
        # No length message here: an over-long password fails like any wrong one.
        validators=[InputRequired(message=_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[InputRequired(message=_l("Enter the 6-digit code from your authenticator app."))],
        render_kw={
            "inputmode": "numeric",
            "autocomplete": "one-time-code",
            "maxlength": "6",
            "pattern": "[0-9]{6}",
            "spellcheck": "false",
        },
    )

    def validate_code(self, field: StringField) -> None:
        _six_digits(field)


class EnrolForm(PortalForm):
    password = PasswordField(
        _l("New password"),
        validators=[InputRequired(message=_l("Choose a password of at least 12 characters.")), Length(max=256)],
        description=_l("At least 12 characters, and not your e-mail address. A short sentence is easy to remember."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("The same password again"),
        validators=[InputRequired(message=_l("Type the password a second time."))],
        render_kw={"autocomplete": "new-password"},
    )
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[InputRequired(message=_l("Enter the 6-digit code your authenticator app shows now."))],
        description=_l("Add the key above to your authenticator app, then type the 6-digit code it shows."),
        render_kw={
            "inputmode": "numeric",
            "autocomplete": "one-time-code",
            "maxlength": "6",
            "pattern": "[0-9]{6}",
            "spellcheck": "false",
        },
    )

    def validate_confirm(self, field: PasswordField) -> None:
        if field.data != self.password.data:
            raise ValidationError(_l("The two passwords are not the same."))

    def validate_code(self, field: StringField) -> None:
        _six_digits(field)


class NewStaffForm(PortalForm):
    """A new member of staff. The role's choices are the ones the manager may give."""

    email = StringField(
        _l("Work e-mail"),
        validators=[InputRequired(message=_l("Enter their work e-mail address.")), Length(max=254)],
        description=_l("They sign in with it."),
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "email"},
    )
    name = StringField(
        _l("Name"),
        validators=[Length(max=120, message=_l("Keep the name under 120 characters."))],
        description=_l("As colleagues and the audit trail should read it."),
        render_kw={"autocomplete": "off"},
    )
    role = SelectField(_l("Role"), validators=[InputRequired(message=_l("Choose a role."))], validate_choice=True)


class RoleForm(PortalForm):
    role = SelectField(_l("New role"), validators=[InputRequired(message=_l("Choose a role."))], validate_choice=True)
