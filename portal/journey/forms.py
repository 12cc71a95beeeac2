"""Cardholder journey forms. Amounts are text fields parsed by ``parse_amount``."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectChoice, StringField, ValidationError
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.domain.scrub import MAX_COMMENT
from portal.forms import PortalForm
from portal.journey.money_input import AmountError, parse_amount


def amount_message(code: str) -> str:
    messages = {
        "not_a_number": _l("Enter an amount in numbers, for example 1500 or 1,500.50."),
        "negative": _l("Enter an amount of zero or more."),
        "too_many_decimals": _l("Enter the amount with no more than two decimal places."),
        "too_large": _l("That amount is too large. Check it and try again."),
    }
    return str(messages.get(code, messages["not_a_number"]))


class AmountField(StringField):
    """A money amount in the account's currency (the form sets ``currency``)."""

    currency = "CNY"
    amount: Decimal | None = None

    def pre_validate(self, form: PortalForm) -> None:
        try:
            self.amount = parse_amount(self.data, self.currency)
        except AmountError as error:
            self.amount = None
            raise ValidationError(amount_message(error.code)) from None


def _amount(label: object, description: object | None = None) -> AmountField:
    return AmountField(
        label,
        validators=[Optional(), Length(max=30)],
        description=description,
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )


# Grouped as the UK Standard Financial Statement groups a budget.
BUDGET_GROUPS: tuple[tuple[str, object, tuple[tuple[str, object, object | None], ...]], ...] = (
    (
        "income",
        _l("Money coming in each month"),
        (
            ("earnings", _l("Pay from work, after tax"), None),
            ("benefits", _l("Benefits and allowances"), None),
            ("pensions", _l("Pensions"), None),
            ("other_income", _l("Other income"), _l("For example help from family, or rent from a lodger.")),
        ),
    ),
    (
        "fixed",
        _l("Costs you must pay each month"),
        (
            ("housing", _l("Rent or mortgage"), None),
            ("utilities", _l("Water, power and gas"), None),
            ("transport", _l("Travel and transport"), None),
            ("care_health", _l("Care and health"), None),
            ("school", _l("School and childcare"), None),
            ("insurance", _l("Insurance"), None),
            ("other_essentials", _l("Other essential costs"), None),
        ),
    ),
    (
        "flexible",
        _l("Everyday spending each month"),
        (
            ("food_housekeeping", _l("Food and housekeeping"), None),
            ("communications_leisure", _l("Phone, internet and leisure"), None),
            ("personal", _l("Clothes and personal costs"), None),
        ),
    ),
)
BUDGET_FIELDS = tuple(name for _, _, items in BUDGET_GROUPS for name, _, _ in items)


class BudgetForm(PortalForm):
    pass


for _name, _label, _hint in (item for _, _, items in BUDGET_GROUPS for item in items):
    setattr(BudgetForm, _name, _amount(_label, _hint))


def make_budget_form(currency: str, formdata: object = None) -> BudgetForm:
    form = BudgetForm() if formdata is None else BudgetForm(formdata=formdata)
    for name in BUDGET_FIELDS:
        form[name].currency = currency
    return form


class PromiseForm(PortalForm):
    amount = _amount(_l("Amount you will pay"))
    pay_by = DateField(
        _l("Date you will pay by"), validators=[DataRequired(message=_l("Enter a date, for example 2026-12-20."))]
    )

    def validate_amount(self, field: AmountField) -> None:
        if field.amount is None or field.amount <= 0:
            raise ValidationError(_l("Enter the amount you will pay."))


class AcceptForm(PortalForm):
    full_name = StringField(
        _l("Your full name"),
        validators=[InputRequired(message=_l("Type your full name to sign.")), Length(max=200)],
        description=_l("Type it as it appears on your card account."),
        render_kw={"autocomplete": "name"},
    )
    consent = BooleanField(
        _l("I have read the terms and the notice above, and I agree to sign electronically."),
        validators=[DataRequired(message=_l("Tick the box to agree, or go back if you are not ready."))],
    )


class RequestForm(PortalForm):
    monthly = _amount(
        _l("The monthly amount you can pay (optional)"),
        _l("We filled in what your budget check suggests. Change it if you need to; our team will look at it."),
    )
    confirm = BooleanField(
        _l(
            "I want to ask for this plan, and I agree that a supervisor may look at what I told you about my situation."
        ),
        validators=[DataRequired(message=_l("Tick the box to send your request."))],
    )


class WithdrawForm(PortalForm):
    """Withdrawing a request: a button with its CSRF token."""


class RatingForm(PortalForm):
    rating = RadioField(
        _l("How easy was this? (1 = very hard, 5 = very easy)"),
        choices=[SelectChoice(str(n)) for n in range(1, 6)],
        validators=[InputRequired(message=_l("Choose a number from 1 to 5."))],
    )
    comment = StringField(
        _l("Anything you want to tell us? (optional)"),
        description=_l("One line. Please do not write your card or phone number here."),
        validators=[Optional(), Length(max=MAX_COMMENT, message=_l("Please keep it to one short line."))],
    )
