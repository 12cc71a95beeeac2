"""Forms of the experiment pages."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from portal.experiments.models import PRIMARY_METRICS
from portal.forms import PortalForm

METRIC_LABELS = {
    "plan_accepted": _l("Plan accepted"),
    "kept_to_cycle_3": _l("Plan kept to the third installment"),
    "plan_broken": _l("Plan broken"),
    "opted_out": _l("Opted out of messages"),
    "dispute_raised": _l("Dispute raised"),
    "hardship_requested": _l("Hardship request sent"),
}

_SHARE = [InputRequired(), NumberRange(min=Decimal("0.01"), max=Decimal("0.5"))]
_RATE = [InputRequired(), NumberRange(min=Decimal("0.001"), max=Decimal("0.999"))]


class NewExperimentForm(PortalForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    currency = SelectField(_l("Currency"), validators=[InputRequired()])
    challenger = IntegerField(
        _l("Challenger policy version"),
        description=_l(
            "A version submitted for approval in the same currency. Its hardship limits must be the active version's."
        ),
        validators=[InputRequired(), NumberRange(min=1)],
    )
    share = DecimalField(
        _l("Challenger's share of accounts"), description=_l("For example 0.10 for 10 %."), validators=_SHARE
    )
    challenger_2 = IntegerField(_l("Second challenger version (optional)"), validators=[Optional(), NumberRange(min=1)])
    share_2 = DecimalField(
        _l("Second challenger's share"), validators=[Optional(), NumberRange(min=Decimal("0.01"), max=Decimal("0.5"))]
    )
    primary_metric = SelectField(
        _l("Primary metric"),
        choices=[SelectChoice(m.value, METRIC_LABELS[m.value]) for m in PRIMARY_METRICS],
        validators=[InputRequired()],
    )
    guard_broken = BooleanField(_l("Guardrail: alarm if the challenger breaks more plans"), default=True)
    guard_opted_out = BooleanField(_l("Guardrail: alarm if more of the challenger's accounts opt out"), default=True)
    guard_dispute = BooleanField(
        _l("Guardrail: alarm if more of the challenger's accounts raise a dispute"), default=True
    )
    guard_hardship = BooleanField(
        _l("Guardrail: alarm if more of the challenger's accounts send a hardship request"), default=True
    )

    def guardrails(self) -> list[str]:
        """The guardrails ticked, as stored (``portal.experiments.models.Metric``)."""
        ticked = (
            ("plan_broken", self.guard_broken),
            ("opted_out", self.guard_opted_out),
            ("dispute_raised", self.guard_dispute),
            ("hardship_requested", self.guard_hardship),
        )
        return [metric for metric, box in ticked if box.data]

    baseline_rate = DecimalField(
        _l("Champion's expected rate"), description=_l("For example 0.20 for 20 %."), validators=_RATE
    )
    mde = DecimalField(
        _l("Smallest difference worth finding"),
        description=_l("Absolute, for example 0.02 for 2 points."),
        validators=_RATE,
    )
    alpha = DecimalField(
        _l("Significance level (alpha)"),
        default=Decimal("0.05"),
        validators=[InputRequired(), NumberRange(min=Decimal("0.001"), max=Decimal("0.2"))],
    )
    power = DecimalField(
        _l("Power"),
        default=Decimal("0.8"),
        validators=[InputRequired(), NumberRange(min=Decimal("0.5"), max=Decimal("0.99"))],
    )


class DecideForm(PortalForm):
    # service.review_digest of what the page shows; set by the view, never typed.
    reviewed = HiddenField(validators=[InputRequired(), Regexp("^[0-9a-f]{64}$")])
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=2000)])


class RejectForm(PortalForm):
    reason = TextAreaField(_l("Why you reject it"), validators=[Optional(), Length(max=2000)])


class ProposeForm(PortalForm):
    action = SelectField(_l("Proposal"), validators=[InputRequired()])
    comment = TextAreaField(_l("Why (optional)"), validators=[Optional(), Length(max=2000)])
