"""Answering a question from our own guides: escalation by rule first, then BM25.

:func:`ask` is the one path for the page and ``flask portal ask``. It never writes and
never invents: the passage is a block of a guide quoted as written, or nothing.

What an :class:`Answer` holds, in each case:

* an escalation (``escalate`` set): the rule's reason; the ranking still runs, so
  ``topic``, ``passage`` and ``related`` say which guide may help while a person is
  found, except for words of self-harm, where they are empty (``topic`` None,
  ``passage`` "", ``related`` []): that page shows the crisis line and nothing else;
* a confident match: the best guide, its best passage, up to two more guides;
* a weak match (``confident`` false): the same, to be shown as a suggestion only; a
  question about something the word lists name as handled elsewhere (``[outside]``:
  savings, new cards, loans) is never more than a weak match;
* nothing found (no word of the question is in any guide): ``topic`` None, ``passage``
  "", ``score`` 0, and ``related`` the first guides in reading order to suggest.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from portal.answers.index import GROUP, GroupIndex, Index, Passage, current_index, plain, scores
from portal.answers.rules import REASON_TOPIC, Escalation, escalation_for
from portal.answers.text import tokens
from portal.answers.vocabulary import match_text
from portal.education.content import CURRENCY_PLACEHOLDER

MAX_QUESTION = 500
RELATED = 2
SUGGESTIONS = 3
# The lowest top score that is a confident answer, per index, measured on the labelled
# questions in tests/answers/ (tests/unit/test_answer_quality.py prints the figures).
THRESHOLD = {"en": 3.1, "zh": 3.5}
# How much a word found through a synonym counts beside a word of the question itself.
SYNONYM_WEIGHT = 0.5
# A guide's summary is quoted instead of its best paragraph only when it scores this many
# times higher: a paragraph says more.
SUMMARY_PREFERRED = 1.5
SECOND_PASSAGE_WEIGHT = 0.4


@dataclass(frozen=True)
class Answer:
    question: str
    locale: str
    topic: str | None
    passage: str
    score: float
    confident: bool
    escalate: Escalation | None
    related: list[str]
    heading: str = ""
    markdown: str = ""  # the passage as written in the content file, for the page to render
    ranking: list[tuple[str, float]] = field(default_factory=list, repr=False)  # every guide that scored, best first

    def as_json(self) -> dict[str, object]:
        """The fields ``flask portal ask --json`` prints, in its order."""
        return {
            "topic": self.topic,
            "passage": self.passage,
            "score": round(self.score, 3),
            "confident": self.confident,
            "escalate": self.escalate.value if self.escalate else None,
            "related": self.related,
        }


def expand(question: str, group: GroupIndex) -> tuple[list[str], list[str]]:
    """The question's own terms (misspelt English words put right), and the words of
    every synonym group it uses."""
    terms = [group.spelling(t) for t in tokens(question)]
    text = match_text(question)
    extra: list[str] = []
    for synonyms in group.synonyms:
        if any(word.pattern.search(text) for word in synonyms):
            extra.extend(t for word in synonyms for t in tokens(word.text))
    own = list(dict.fromkeys(terms))
    return own, [t for t in dict.fromkeys(extra) if t not in own]


def _ranking(
    index: Index, locale: str, question: str
) -> tuple[list[tuple[str, float]], dict[str, Passage], dict[str, float]]:
    """Guides by their passages' scores (any script of the language), and the passage
    of each to quote in the reader's locale: its best paragraph, or its summary when that
    matches much better (:data:`SUMMARY_PREFERRED`)."""
    group = index.groups[GROUP[locale]]
    own, extra = expand(question, group)
    found = scores(group, own) + SYNONYM_WEIGHT * scores(group, extra)
    per_guide: dict[str, list[float]] = {}
    paragraphs: dict[str, tuple[float, Passage]] = {}
    summaries: dict[str, tuple[float, Passage]] = {}
    for position in np.flatnonzero(found > 0):
        passage, score = group.passages[position], float(found[position])
        per_guide.setdefault(passage.slug, []).append(score)
        if passage.locale == locale and passage.quotable:
            kept = summaries if passage.summary else paragraphs
            if score > kept.get(passage.slug, (0.0, passage))[0]:
                kept[passage.slug] = (score, passage)
    # A guide scores by its best passage, plus a share of its second: a guide that
    # answers in two places is likelier the one meant than one that mentions it once.
    best = {slug: _guide_score(found) for slug, found in per_guide.items()}
    quotes = {}
    for slug in best:
        paragraph, summary = paragraphs.get(slug), summaries.get(slug)
        if paragraph and (not summary or paragraph[0] * SUMMARY_PREFERRED >= summary[0]):
            quotes[slug] = paragraph[1]
        elif summary:
            quotes[slug] = summary[1]
    ranking = sorted(best.items(), key=lambda item: (-item[1], item[0]))
    ranked = [(slug, score) for slug, score in ranking if index.library.get(locale, slug)]
    return ranked, quotes, {slug: max(found) for slug, found in per_guide.items()}


def _outside(question: str, group: GroupIndex) -> bool:
    """The question is about something the bank answers elsewhere (``[outside]``)."""
    text = match_text(question)
    return any(word.pattern.search(text) for word in group.outside)


def _guide_score(passage_scores: list[float]) -> float:
    first, *rest = sorted(passage_scores, reverse=True)
    return first + SECOND_PASSAGE_WEIGHT * (rest[0] if rest else 0.0)


def _first_passage(index: Index, locale: str, slug: str) -> Passage:
    topic = index.library.get(locale, slug)
    return Passage(slug, locale, "", topic.summary if topic else "")


def ask(question: str, locale: str, *, currency: str | None = None, index: Index | None = None) -> Answer:
    """Answer ``question`` for a reader of ``locale`` (``en``, ``zh_Hans``, ``zh_Hant``)."""
    if locale not in GROUP:
        raise ValueError(f"unknown locale {locale!r}")
    question = question.strip()[:MAX_QUESTION]
    index = index or current_index()
    reason = escalation_for(question, index.escalation)
    if reason is Escalation.SELF_HARM:
        return Answer(question, locale, None, "", 0.0, False, reason, [])
    ranking, quotes, tops = _ranking(index, locale, question)
    slug = ranking[0][0] if ranking else None
    score = tops.get(slug, 0.0) if slug else 0.0  # confidence is judged on the best passage alone
    confident = score >= THRESHOLD[GROUP[locale]] and not _outside(question, index.groups[GROUP[locale]])
    ruled = REASON_TOPIC.get(reason) if reason else None
    if ruled and index.library.get(locale, ruled):
        # The guide for a hand-over is the rule's: shown whatever else the words match.
        slug, score, confident = ruled, tops.get(ruled, 0.0), True
    if slug is None:
        suggestions = [t.slug for t in index.library.topics(locale)[:SUGGESTIONS]]
        return Answer(question, locale, None, "", 0.0, False, reason, suggestions)
    passage = quotes.get(slug) or _first_passage(index, locale, slug)
    others = [s for s, _ in ranking if s != slug]
    related = others[: RELATED if confident else SUGGESTIONS - 1]
    text = passage.text.replace(CURRENCY_PLACEHOLDER, currency) if currency else passage.text
    return Answer(
        question, locale, slug, plain(text), score, confident, reason, related, passage.heading, text, ranking
    )


def normalised_question(question: str) -> str:
    """The form in which staff see questions grouped: one case, one script, one space."""
    return match_text(question)[:MAX_QUESTION]


def warm_up() -> float:
    """Build the index and load the segmenter and converter before the first question
    (gunicorn's post_worker_init); the seconds it took. A failure is left for the first
    question to meet again, never raised here."""
    started = time.perf_counter()
    try:
        for locale in GROUP:
            ask("還款 repayment 还款", locale)
    except Exception:
        logging.getLogger(__name__).exception("the answers index could not be warmed")
    return time.perf_counter() - started
