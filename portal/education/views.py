"""Help topics: ``/learn`` lists them, ``/learn/<slug>`` shows one. No sign-in needed."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from markupsafe import Markup

from portal import jurisdictions
from portal.education.content import CURRENCY_PLACEHOLDER, INSERTS, insert_marker, library
from portal.locales import locale_name

bp = Blueprint("education", __name__)


@bp.route("/learn")
def index() -> str:
    locale = locale_name()
    return render_template("education/index.html", topics=library().topics(locale), locale=locale)


@bp.route("/learn/<slug>")
def topic(slug: str) -> str:
    content = library()
    locale = locale_name()
    found = content.get(locale, slug)
    if found is None:
        abort(404)
    # body is called only when the page's cached fragment is rendered (templates/education/topic.html).
    return render_template(
        "education/topic.html",
        topic=found,
        locale=locale,
        related=content.related(found),
        body=lambda: with_inserts(found.html),
    )


def with_inserts(html: Markup) -> Markup:
    """The topic with each ``[[insert]]`` replaced by its partial for the reader's jurisdiction,
    and worked examples in that jurisdiction's currency."""
    html = html.replace(CURRENCY_PLACEHOLDER, jurisdictions.text(jurisdictions.here().currency_word))
    for name in INSERTS:
        marker = insert_marker(name)
        if marker in html:
            html = html.replace(marker, Markup(render_template(f"education/_insert_{name}.html")))  # noqa: S704 - an autoescaped template
    return html
