"""The public verification form: a reference number or an uploaded PDF."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import StringField
from wtforms.validators import Length, Optional

from portal.forms import PortalForm


class VerifyForm(PortalForm):
    reference = StringField(
        _l("Agreement reference"),
        validators=[Optional(), Length(max=40)],
        description=_l("At the top of your agreement, for example PA-7K3M-9QXD-4."),
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )
    document = FileField(
        _l("Or upload the agreement PDF"),
        description=_l("The PDF file you downloaded. It is checked and not kept."),
        render_kw={"accept": "application/pdf,.pdf"},
    )

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not (self.reference.data or self.document.data):
            self.reference.errors = [*self.reference.errors, _l("Enter a reference or choose a PDF file.")]
            return False
        return True
