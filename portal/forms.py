"""Shared form base: every portal form carries CSRF, strips surrounding spaces, and bounds
its numbers and dates (``portal.inputs``) before any other validator compares them."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, IntegerField
from wtforms.fields import DateTimeField

from portal.inputs import bounded

_BOUNDED = (DecimalField, IntegerField, DateField, DateTimeField)


class PortalForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = list(unbound_field.kwargs.get("filters", []))
            filters.append(lambda value: value.strip() if isinstance(value, str) else value)
            if issubclass(unbound_field.field_class, _BOUNDED):
                # bind() lets these keyword arguments replace the declared ones.
                options = {**options, "validators": [bounded, *unbound_field.kwargs.get("validators", ())]}
            return unbound_field.bind(form=form, filters=filters, **options)
