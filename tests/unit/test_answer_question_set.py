"""The labelled question set (tests/answers/): well formed, a fair mix, and not copied from the guides."""

from __future__ import annotations

import re
import tomllib
from collections import Counter

import pytest

from portal.education.content import SLUGS, load_library
from tests.answers import ESCALATION_REASONS, FIELDS, LOCALES, load_questions, question_file
from tests.unit.test_education_content import SIMPLIFIED_ONLY, TRADITIONAL_ONLY, topic_page_html, visible_text

MIN_QUESTIONS = 110
MIN_PER_TOPIC = 4
# A question sharing this many words (English) or characters (Chinese) in a row with a
# guide was copied from it, not written the way a cardholder asks.
COPIED_WORDS = 6
COPIED_CHARS = 8
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]{2,}")
# Words only Cantonese writes: a Hong Kong set without them would not test colloquial Chinese.
_CANTONESE = re.compile(r"[咩唔嘅咗佢冇俾喺嘢哋嚟啲嗰]|點算|點樣|係咪")


@pytest.fixture(scope="module", params=LOCALES)
def locale(request) -> str:
    return request.param


def test_each_file_has_only_known_fields_and_no_empty_question(locale):
    with question_file(locale).open("rb") as handle:
        rows = tomllib.load(handle)["q"]
    for row in rows:
        assert set(row) <= FIELDS, f"{locale}: unknown field in {row}"
        assert isinstance(row["question"], str) and row["question"].strip() == row["question"] != ""


def test_each_language_has_enough_questions_and_no_repeats(locale):
    questions = load_questions(locale)
    assert len(questions) >= MIN_QUESTIONS
    seen = Counter(" ".join(q.question.lower().split()) for q in questions)
    assert not [text for text, count in seen.items() if count > 1]


@pytest.mark.parametrize("kind", ["questions", "heldout"])
def test_labels_name_real_topics_and_known_reasons(locale, kind):
    for q in load_questions(locale, kind):
        assert q.topic is None or q.topic in SLUGS, f"{locale}: {q}"
        assert q.escalate is None or q.escalate in ESCALATION_REASONS, f"{locale}: {q}"
        if q.escalate == "hardship":
            assert q.topic == "cannot-pay", f"{locale}: a hardship question is also scored on its guide: {q}"


def test_every_topic_is_asked_about_in_every_language(locale):
    asked = Counter(q.topic for q in load_questions(locale) if q.topic and not q.escalate)
    thin = {slug: asked[slug] for slug in SLUGS if asked[slug] < MIN_PER_TOPIC}
    assert not thin, f"{locale}: too few questions for {thin}"


def test_the_mix_of_answerable_out_of_scope_and_escalating_questions(locale):
    questions = load_questions(locale)
    total = len(questions)
    out_of_scope = sum(q.out_of_scope for q in questions)
    escalating = Counter(q.escalate for q in questions if q.escalate)
    answerable = sum(q.topic is not None and q.escalate is None for q in questions)
    assert 0.12 <= out_of_scope / total <= 0.25
    assert 0.15 <= sum(escalating.values()) / total <= 0.30
    assert answerable / total >= 0.55
    assert all(escalating[reason] >= 3 for reason in ESCALATION_REASONS), escalating


def _guide_text(locale: str) -> str:
    return "\n".join(visible_text(topic_page_html(t)) for t in load_library().topics(locale))


def test_questions_are_not_copied_from_the_guides(locale):
    text = _guide_text(locale)
    copied = []
    if locale == "en":
        words = " " + " ".join(re.findall(r"[a-z0-9%.]+", text.lower())) + " "
        for q in load_questions(locale):
            mine = re.findall(r"[a-z0-9%.]+", q.question.lower())
            runs = (" " + " ".join(mine[i : i + COPIED_WORDS]) + " " for i in range(len(mine) - COPIED_WORDS + 1))
            copied += [q.question for run in runs if run in words]
    else:
        chars = "".join(_CJK.findall(text))
        for q in load_questions(locale):
            mine = "".join(_CJK.findall(q.question))
            copied += [q.question for i in range(len(mine) - COPIED_CHARS + 1) if mine[i : i + COPIED_CHARS] in chars]
    assert not copied, sorted(set(copied))


@pytest.mark.parametrize(
    ("chinese", "foreign"), [("zh_Hans", TRADITIONAL_ONLY), ("zh_Hant", SIMPLIFIED_ONLY)], ids=["zh_Hans", "zh_Hant"]
)
def test_chinese_questions_use_their_own_script(chinese, foreign):
    stray = [q.question for q in load_questions(chinese) if any(c in foreign for c in q.question)]
    assert not stray


@pytest.mark.parametrize("chinese", ["zh_Hans", "zh_Hant"])
def test_chinese_sets_mix_in_english_words(chinese):
    mixed = [q.question for q in load_questions(chinese) if _LATIN.search(q.question) and _CJK.search(q.question)]
    assert len(mixed) >= 5, mixed


def test_the_hong_kong_set_is_largely_colloquial_cantonese():
    questions = load_questions("zh_Hant")
    cantonese = [q for q in questions if _CANTONESE.search(q.question)]
    assert len(cantonese) / len(questions) >= 0.4
    # Cantonese for the hand-overs too, not only for the guide questions.
    assert sum(1 for q in cantonese if q.escalate) >= 10
