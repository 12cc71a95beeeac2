"""Help topics: ``/learn`` lists them, ``/learn/<slug>`` shows one. No sign-in needed."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import get_locale

from portal.education.content import library

bp = Blueprint("education", __name__)


def _locale() -> str:
    return str(get_locale())


@bp.route("/learn")
def index() -> str:
    return render_template("education/index.html", topics=library().topics(_locale()))


@bp.route("/learn/<slug>")
def topic(slug: str) -> str:
    content = library()
    found = content.get(_locale(), slug)
    if found is None:
        abort(404)
    return render_template("education/topic.html", topic=found, related=content.related(found))
