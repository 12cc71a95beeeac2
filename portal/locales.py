"""Which language is active: flask_babel's answer, read where it keeps it.

Asked for by every formatted value and translated word of a page, and by
``portal.jurisdictions`` and ``portal.templating``, which ``portal.i18n`` builds on: kept
apart from ``portal.i18n`` so that they can ask without importing it.
"""

from __future__ import annotations

from typing import Any

from flask.globals import _cv_app
from flask_babel import get_locale


def active_locale() -> Any:
    """flask_babel's ``get_locale()``, read where it keeps the answer once it has settled it
    for this context (or ``force_locale`` set it): ``get_locale()`` goes through three
    context proxies before it looks there, on each of a page's dozens of formatted values."""
    locale = getattr(babel_state(), "babel_locale", None)
    return locale if locale is not None else get_locale()


def babel_state() -> Any:
    """Where flask_babel keeps this context's locale and catalogue (None before it has
    settled one, or outside an app context): the app context's g, read from the context
    variable Flask keeps it in (as portal.security does), not through ``has_app_context``
    and g's proxy, which cost more than the rest of a look-up; a page asks some 25 times."""
    context = _cv_app.get(None)
    return None if context is None else getattr(context.g, "_flask_babel", None)


def locale_name() -> str:
    """``str(active_locale())`` ("zh_Hans"), written once per locale and context."""
    name = settled_locale_name()
    if name is None:
        locale = get_locale()  # settles it, in a state it may have just made
        name = settled_locale_name() or str(locale)  # outside an app context: nowhere to keep it
    return name


def settled_locale_name() -> str | None:
    """The name of the locale flask_babel has settled on (or was forced to) for this
    context, kept beside it; None where it has settled none yet, without settling it."""
    state = babel_state()
    locale = getattr(state, "babel_locale", None)
    if locale is None:
        return None
    kept = getattr(state, "portal_locale_name", None)
    if kept is not None and kept[0] is locale:
        return str(kept[1])
    name = str(locale)
    state.portal_locale_name = (locale, name)
    return name
