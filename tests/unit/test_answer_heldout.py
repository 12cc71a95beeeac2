"""How well the answers box does on questions its word lists were never tuned on
(tests/answers/heldout_<locale>.toml), per language: the figures to believe.

The tuned set (test_answer_quality.py) holds the issue's targets; here every question
that must go to a person still must (escalation recall 1.0, for its reason: the CFPB's
warning is about exactly the question nobody wrote down), and the ordinary questions
must find their guide among the three the page shows for at least 80 % of them. Top-1
and MRR are printed (run with ``-s``), not held: they are lower than on the tuned set,
and that is the honest figure.
"""

from __future__ import annotations

import pytest

from portal.answers.ask import ask
from portal.answers.index import build
from tests.answers import LOCALES, load_questions
from tests.unit.test_answer_quality import shown


@pytest.fixture(scope="module")
def index():
    return build()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_heldout_question_for_a_person_is_routed_for_its_reason(index, locale):
    missed = [
        (q.question, q.escalate, ask(q.question, locale, index=index).escalate)
        for q in load_questions(locale, "heldout")
        if q.escalate
    ]
    missed = [(question, want, got) for question, want, got in missed if got != want]
    assert missed == []


@pytest.mark.parametrize("locale", LOCALES)
def test_heldout_ordinary_questions_find_their_guide_and_no_person(index, locale):
    ordinary = [q for q in load_questions(locale, "heldout") if q.topic and not q.escalate]
    top1 = top3 = 0
    reciprocal = 0.0
    handed_over = []
    for labelled in ordinary:
        answer = ask(labelled.question, locale, index=index)
        order = shown(answer)
        rank = order.index(labelled.topic) + 1 if labelled.topic in order else None
        top1 += rank == 1
        top3 += rank is not None and rank <= 3
        reciprocal += 1 / rank if rank else 0.0
        if answer.escalate:
            handed_over.append((labelled.question, answer.escalate))
    n = len(ordinary)
    print(f"\n{locale} held-out ({n}): top-1 {top1 / n:.3f}  top-3 {top3 / n:.3f}  MRR {reciprocal / n:.3f}")
    assert n >= 20
    assert top3 / n >= 0.8
    assert handed_over == []  # an ordinary question opens no task and sets no dispute pause
