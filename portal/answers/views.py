"""``/ask``: a question answered from our own guides, signed in or not.

The question is posted and the answer rendered in the response, so nothing the
cardholder typed lands in an address bar, a history or an access log. The page never
shows account data: a signed-in cardholder's question may open a task for care staff,
and the page says so, nothing more.

CSRF: a signed-in person's question must carry its token, since it can open a task or
pause an account. An anonymous question changes nothing but the kept (scrubbed)
question, as a search form would, so it needs none: the question box on the help pages
then asks no session of a visitor, and an anonymous help page sets no cookie.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from portal import jurisdictions
from portal.answers.forms import QuestionForm
from portal.answers.index import current_index
from portal.answers.service import answer_question
from portal.audit.actors import Actor, ActorType
from portal.education.content import insert_marker, render_inline
from portal.education.views import with_inserts
from portal.extensions import csrf, limiter

bp = Blueprint("answers", __name__)

# Topics whose next step is the cardholder's own options (the journey).
OPTIONS_NEXT = frozenset(
    {"plan-types", "choosing-a-plan", "cannot-pay", "annualised-rate", "overdue", "interest-and-fees", "settlement"}
)


def _cardholder_id() -> int | None:
    if current_user.is_authenticated and getattr(current_user, "kind", None) == "cardholder":
        return int(current_user.account.id)
    return None


@bp.route("/ask", methods=["GET", "POST"])
@limiter.limit("20 per minute; 300 per day", methods=["POST"])
@csrf.exempt  # from the check before every view: this one checks signed-in questions itself
def ask() -> tuple[str, int] | str:
    if current_user.is_authenticated and request.method == "POST" and current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()  # raises CSRFError, answered as every other expired form is
    form = QuestionForm()
    if not form.validate_on_submit():
        return render_template("answers/ask.html", form=form), 422 if form.is_submitted() else 200
    account_id = _cardholder_id()
    actor = Actor.cardholder(account_id, request.remote_addr) if account_id else Actor(ActorType.ANONYMOUS)
    reply = answer_question(
        form.question.data or "",
        str(get_locale()),
        account_id=account_id,
        actor=actor,
        currency=jurisdictions.text(jurisdictions.here().currency_word),
    )
    return render_template("answers/answer.html", form=QuestionForm(formdata=None), reply=reply, **_guides(reply))


def _guides(reply: Any) -> dict[str, Any]:
    library = current_index().library
    locale = str(get_locale())
    answer = reply.answer
    return {
        "topic": library.get(locale, answer.topic) if answer.topic else None,
        "related": [t for slug in answer.related if (t := library.get(locale, slug))],
        "passage": passage_html(answer.markdown),
        "options_next": answer.topic in OPTIONS_NEXT,
    }


def passage_html(markdown: str) -> Markup:
    """A passage as its guide shows it: paragraphs, a list, and any insert (a phone number,
    the debt-advice services) for the reader's jurisdiction."""
    parts: list[Markup] = []
    items: list[Markup] = []
    for line in markdown.splitlines():
        if line.startswith("- "):
            items.append(Markup("<li>%s</li>") % render_inline(line[2:]))
            continue
        if items:
            parts.append(Markup("<ul>%s</ul>") % Markup("").join(items))
            items = []
        if line.startswith("[[") and line.endswith("]]"):
            parts.append(insert_marker(line[2:-2]))
        else:
            parts.append(Markup("<p>%s</p>") % render_inline(line))
    if items:
        parts.append(Markup("<ul>%s</ul>") % Markup("").join(items))
    return with_inserts(Markup("\n").join(parts))
