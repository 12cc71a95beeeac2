"""The rules that hand a question to a person, per language, before any ranking; the text
normalisation and the index they share."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from portal.answers.index import ANSWERS_ROOT, blocks, build, current_index
from portal.answers.rules import ORDER, Escalation, escalation_for, merge_rules
from portal.answers.text import normalise, tokens
from portal.answers.vocabulary import VocabularyError, load_escalation, phrase_pattern
from portal.domain.scrub import scrub_identifiers
from portal.education.content import CONTENT_ROOT, LOCALES


@pytest.fixture(scope="module")
def rules():
    return build().escalation


# Our own examples (not the labelled set): each must route to its reason.
ROUTED = [
    ("i am going to kill myself tonight", Escalation.SELF_HARM),
    ("我真的不想活了", Escalation.SELF_HARM),
    ("我真係唔想活落去", Escalation.SELF_HARM),
    ("there are purchases on my statement that I did not make", Escalation.FRAUD),
    ("我的卡被盗刷了好几笔", Escalation.FRAUD),
    ("張卡被人盜用咗", Escalation.FRAUD),
    ("my wife passed away last month", Escalation.BEREAVEMENT),
    ("我母亲去世了，她的卡怎么办", Escalation.BEREAVEMENT),
    ("我阿媽過咗身", Escalation.BEREAVEMENT),
    ("I don't recognise this balance at all", Escalation.DISPUTE),
    ("这笔钱根本不是我欠的", Escalation.DISPUTE),
    ("呢筆數唔係我嘅", Escalation.DISPUTE),
    ("how do I complain about your staff", Escalation.COMPLAINT),
    ("我要投诉你们的催收员", Escalation.COMPLAINT),
    ("你哋成日滋擾我", Escalation.COMPLAINT),
    ("I've been laid off and have no income", Escalation.HARDSHIP),
    ("我被裁员了，没有收入", Escalation.HARDSHIP),
    ("我冇錢還", Escalation.HARDSHIP),
    ("can I talk to a human please", Escalation.HUMAN),
    ("帮我转人工", Escalation.HUMAN),
    ("我想同真人傾", Escalation.HUMAN),
    # An English phrase finds its word with a common ending ("impersonat", "threaten").
    ("someone is impersonating your bank on whatsapp", Escalation.FRAUD),
    ("your agent threatens me every week", Escalation.COMPLAINT),
]


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("I already paid", Escalation.DISPUTE),
        ("how do I dispute a transaction on my statement?", Escalation.DISPUTE),
        ("我已经还了", Escalation.DISPUTE),
        ("can you write off some of the debt?", None),
        ("will my debt be written off if I settle", None),
        ("能不能核销一部分", None),
    ],
)
def test_what_pauses_collection_as_a_dispute_and_what_does_not(rules, question, reason):
    """A claim that the amount is wrong, or a question about how to dispute it, pauses
    collection until a person checks; a question about paying less does not."""
    assert escalation_for(question, rules) is reason


@pytest.mark.parametrize(
    "question",
    [
        "I won't be around on the due date, can I pay early?",
        "can I jump off the plan and pay in full instead?",
        "the debt is a burden to me, what are my options",
        "is there a painless way to pay this off",
        "is there a way to go without paying interest",
        "what's the quickest way to go about paying",
        "say goodbye to late fees: how do I set up a reminder",
        "I wrote a note in the reference field, is that ok",
        "the payment link is not working",
        "when is the money taken from my account",
        "how do I pay into my account",
        "I logged into my account and saw a new balance",
        "how do I update my personal details",
        "are fees passed on to me",
        "这个方案没有我想的好",
        "生活太累了，有没有简单点的还款方式",
        "我吃了药睡不着，半夜能还款吗",
        "我睡过去了，忘了还款怎么办",
        "今晚结束前还款算按时吗",
        "呢個計劃冇我想像中咁好",
        "can you write off some of the debt?",
        "what if i settled for less, would it show on my record",
        "和解了以后还会上征信吗",
        "how long does a late payment stay on record",
        "I made a mistake on my payment reference, what now",
        "the page says my code is not correct",
        "i don't owe much, can i pay it all now",
        "我没欠多少钱，能一次还清吗",
        "是不是还清就不欠了",
        "这个方案不是我的首选",
        "我冇欠幾多，可唔可以一次過還",
    ],
)
def test_ordinary_questions_near_the_rules_words_are_not_handed_over(rules, question):
    """Everyday wordings that share words with the rules ("won't be around on the due
    date", 睡过去 for oversleeping, "I don't owe much", 没欠多少): a crisis page, or a
    dispute pause that only a supervisor can lift, in their place would be wrong."""
    assert escalation_for(question, rules) is None


def test_an_english_escalation_word_finds_its_endings_but_not_a_longer_word():
    pattern = phrase_pattern("threaten", endings=True)
    assert pattern.search("he threatened me") and pattern.search("she threatens")
    assert not phrase_pattern("pay", endings=True).search("my payment")
    assert not phrase_pattern("threaten").search("he threatened me")  # synonyms keep whole words


@pytest.mark.parametrize(("question", "reason"), ROUTED)
def test_a_question_that_needs_a_person_is_routed_for_its_reason(rules, question, reason):
    assert escalation_for(question, rules) is reason


@pytest.mark.parametrize(
    "question",
    [
        "is this text message a scam?",
        "这条短信是不是诈骗",
        "what is an annualised rate",
        "how do I change my due date",
        "怎么联系你们",
        "should I pay a debt agent to negotiate for me",
    ],
)
def test_questions_the_guides_answer_are_not_handed_over(rules, question):
    assert escalation_for(question, rules) is None


def test_self_harm_wins_over_every_other_reason(rules):
    assert escalation_for("I lost my job and I want to die", rules) is Escalation.SELF_HARM
    assert ORDER[0] is Escalation.SELF_HARM


def test_every_language_lists_phrases_for_every_reason():
    for locale in LOCALES:
        found = load_escalation(ANSWERS_ROOT / locale / "escalation.toml")
        assert set(found) == {r.value for r in Escalation}, locale
        assert all(found[r.value] for r in Escalation), locale


def test_a_traditional_phrase_finds_a_simplified_question_and_back(rules):
    assert escalation_for("我的卡被盜刷了", rules) is Escalation.FRAUD
    assert normalise("還款計劃") == normalise("还款计划")


def test_a_gap_stands_for_a_few_words_and_english_matches_whole_words():
    assert phrase_pattern("not * my debt").search("this is not really my debt")
    assert not phrase_pattern("not * my debt").search("not one two three four my debt")
    assert not phrase_pattern("broke").search("the brokerage")
    with pytest.raises(VocabularyError):
        phrase_pattern("* debt")


def test_an_unknown_reason_in_a_rule_file_is_refused():
    with pytest.raises(ValueError, match="unknown escalation reason"):
        merge_rules({"angry": ()})


def test_tokens_fold_scripts_case_and_endings():
    assert tokens("Payments") == tokens("payment")
    assert "还款" in tokens("點樣還款")
    assert "the" not in tokens("the interest")


def test_identity_numbers_are_removed_with_their_letters():
    kept = scrub_identifiers("HKID A123456(7), 身份证11010519491231002X, mail li@example.com, 3 months")
    assert "A" not in kept.split(",")[0].replace("HKID", "") and "X" not in kept and "@" not in kept
    assert "3 months" in kept


@pytest.mark.parametrize("typed", ["Z 123456(A)", "z123456 (a)", "AB 987654（3）"])
def test_a_hong_kong_id_typed_with_spaces_is_removed_whole(typed):
    kept = scrub_identifiers(f"my HKID is {typed} ok")
    assert kept == "my HKID is ••• ok"


def test_a_list_keeps_the_sentence_that_leads_into_it():
    found = blocks("## Ways\n\nWe may be able to:\n\n- pause\n- lower\n\nAnother paragraph.\n")
    assert found == [("Ways", "We may be able to:\n- pause\n- lower"), ("Ways", "Another paragraph.")]


def test_the_index_is_rebuilt_when_a_content_file_changes(tmp_path, monkeypatch):
    content, answers = tmp_path / "education", tmp_path / "answers"
    shutil.copytree(CONTENT_ROOT, content)
    shutil.copytree(ANSWERS_ROOT, answers)
    monkeypatch.setattr("portal.answers.index.RECHECK_SECONDS", 0.0)
    first = current_index(content, answers)
    assert current_index(content, answers) is first
    guide = content / "en" / "scams.md"
    guide.write_text(guide.read_text(encoding="utf-8") + "\nZebracrossing words.\n", encoding="utf-8")
    later = time.time() + 5
    os.utime(guide, (later, later))
    rebuilt = current_index(content, answers)
    assert rebuilt is not first and "zebracross" in rebuilt.groups["en"].vocabulary


def test_a_broken_word_list_leaves_the_previous_index_in_use(tmp_path, monkeypatch):
    content, answers = tmp_path / "education", tmp_path / "answers"
    shutil.copytree(CONTENT_ROOT, content)
    shutil.copytree(ANSWERS_ROOT, answers)
    monkeypatch.setattr("portal.answers.index.RECHECK_SECONDS", 0.0)
    first = current_index(content, answers)
    words = answers / "en" / "synonyms.toml"
    words.write_text("[[group]\nwords = [", encoding="utf-8")
    later = time.time() + 5
    os.utime(words, (later, later))
    assert current_index(content, answers) is first


def test_a_whole_question_phrase_matches_only_the_whole_question(rules):
    assert escalation_for("Agent!", rules) is Escalation.HUMAN
    assert escalation_for("should I pay a debt agent", rules) is None


def test_a_question_about_what_the_bank_handles_elsewhere_is_never_confident():
    from portal.answers.ask import ask

    index = build()
    assert ask("what is the interest rate on a savings account", "en", index=index).confident is False
    assert ask("定期存款利率多少", "zh_Hans", index=index).confident is False
    assert ask("what is the annualised rate of a plan with a monthly fee", "en", index=index).confident is True


def test_the_standard_agreement_terms_are_passages_of_their_guides_in_every_language():
    from portal.answers.agreement_terms import standard_terms

    index = build()
    for locale in LOCALES:
        heading, terms = standard_terms(locale)
        group = index.groups["en" if locale == "en" else "zh"]
        indexed = {(p.slug, p.text) for p in group.passages if p.locale == locale and p.heading == heading}
        assert indexed == set(terms) and len(terms) >= 10, locale
    assert ("your-agreement", "Pay each installment in full by its due date.") in standard_terms("en")[1]
    assert standard_terms("zh_Hant")[0] == "還款計劃協議的標準條款"
