"""Shared form base: every portal form carries CSRF and strips surrounding spaces."""

from __future__ import annotations

from flask_wtf import FlaskForm


class PortalForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):  # type: ignore[no-untyped-def]
            filters = list(unbound_field.kwargs.get("filters", []))
            filters.append(lambda value: value.strip() if isinstance(value, str) else value)
            return unbound_field.bind(form=form, filters=filters, **options)
