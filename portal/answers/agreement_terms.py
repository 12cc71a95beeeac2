"""The terms every plan agreement states, as passages of the guides they belong to.

The key terms a cardholder reads before signing (``portal.agreements.key_terms``: what
they agree to do, what we agree to do, what happens if a payment is missed) are our own
words too, and the ones people ask about ("what happens if I miss a plan payment").
They are indexed in each language from the same function the signing page and the PDF
use, with the missed-payment rules a plan gets by default, under the heading "The
standard terms of a plan agreement": what each side agrees to under the guide about the
agreement, what happens after a missed payment under the guide about missing one.

The translations are read through a small Flask app of their own, so the index can be
built without the portal's app (the bench, the quality test, a worker warming up).
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path

from flask import Flask
from flask_babel import Babel, force_locale
from flask_babel import gettext as _
from markupsafe import Markup

from portal.agreements.key_terms import agreement_terms

TRANSLATIONS = Path(__file__).resolve().parent.parent.parent / "translations"
AGREEMENT_GUIDE = "your-agreement"
MISSED_GUIDE = "missed-plan-payment"


@cache
def _catalogs() -> Flask:
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app)
    return app


def standard_terms(locale: str) -> tuple[str, list[tuple[str, str]]]:
    """The heading and (guide slug, term) pairs of the standard agreement terms in ``locale``."""
    with _catalogs().app_context(), force_locale(locale):
        heading = _("The standard terms of a plan agreement")
        # An installment plan keeps what was waived; relief and settlement may add it back.
        kept = agreement_terms("installment", None, Decimal(0), "CNY", "")
        reinstated = agreement_terms("relief", None, Decimal(0), "CNY", "")
    found = [(AGREEMENT_GUIDE, _text(term)) for term in [*kept.you, *kept.we]]
    missed = dict.fromkeys(_text(term) for term in [*kept.missed[:-1], *reinstated.missed[:-1]])  # not the phone line
    found += [(MISSED_GUIDE, term) for term in missed]
    return heading, found


def _text(term: Markup) -> str:
    """The term as plain text (the page escapes it again when it quotes it)."""
    return term.unescape()
