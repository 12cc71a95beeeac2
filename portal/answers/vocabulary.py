"""The word lists content editors keep beside the guides (``content/answers/<locale>/``).

``synonyms.toml`` says which words people use for the words our guides use::

    [[group]]                       # any of these also searches for all the others
    words = ["credit record", "credit score", "credit report"]

    [topics]                        # everyday words for a whole guide
    scams = ["phishing", "fake text", "is this message real"]

    [outside]                       # things the bank answers elsewhere (savings, new cards):
    words = ["savings account"]     # a question about them is never answered confidently here

``escalation.toml`` lists, per reason, the phrases that send a question to a person
before anything is looked up (see :mod:`portal.answers.rules`)::

    [dispute]
    phrases = ["not my debt", "i never had * card"]

Every word is matched after :func:`portal.answers.text.normalise`, so a Traditional
word finds a Simplified question and "Credit Score" finds "credit score". ``*`` in a
phrase stands for a few words (or a few Chinese characters); a phrase that starts with
``=`` must be the whole question ("=agent"). No Flask here.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from portal.answers.text import normalise

ANSWERS_ROOT = Path(__file__).resolve().parent.parent.parent / "content" / "answers"


class VocabularyError(ValueError):
    """A word list is unreadable or not of the expected shape; the message says where."""


@dataclass(frozen=True)
class Term:
    """A word or phrase as matched: its normalised text and the pattern that finds it."""

    text: str
    pattern: re.Pattern[str]


# The endings an English word of an escalation phrase may take: "threaten" also finds
# "threatens", "complain" finds "complained", "impersonat" finds "impersonating" and
# "impersonation". Said once here, not in every list, so no form is forgotten.
ENGLISH_ENDINGS = r"(?:e|s|es|d|ed|ing|ion|ions|er|ers)?"


def phrase_pattern(phrase: str, *, endings: bool = False) -> re.Pattern[str]:
    """The pattern of a list entry: whole words for Latin text, anywhere for Chinese,
    ``*`` as a gap of up to three words or six characters; with ``endings``, a last
    English word may also carry a common ending (:data:`ENGLISH_ENDINGS`)."""
    if phrase.startswith("="):  # the whole question, give or take punctuation: "=agent"
        whole = re.escape(normalise(phrase[1:]).replace("'", ""))
        return re.compile(rf"^[\W_]*{whole}[\W_]*$")
    parts = [part.strip() for part in normalise(phrase).replace("'", "").split("*")]
    if not all(parts):
        raise VocabularyError(f"{phrase!r}: '*' must stand between words")
    body = re.escape(parts[0])
    for before, part in itertools.pairwise(parts):
        latin = before[-1].isascii() or part[0].isascii()
        body += (r"(?:\s+\S+){0,3}?\s+" if latin else r".{0,6}?") + re.escape(part)
    start = r"(?<![a-z0-9])" if parts[0][0].isascii() and parts[0][0].isalnum() else ""
    last = parts[-1][-1]
    end = r"(?![a-z0-9])" if last.isascii() and last.isalnum() else ""
    if endings and end and last.isalpha():
        end = ENGLISH_ENDINGS + end
    return re.compile(start + body + end)


def term(phrase: str, *, endings: bool = False) -> Term:
    return Term(normalise(phrase).replace("'", ""), phrase_pattern(phrase, endings=endings))


def match_text(text: str) -> str:
    """A question in the form list entries are matched against."""
    return normalise(text).replace("'", "")


def _strings(where: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise VocabularyError(f"{where} must be a list of words or phrases")
    return [v.strip() for v in value]


def _read(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as problem:
        raise VocabularyError(f"{path}: {problem}") from None


@dataclass(frozen=True)
class Synonyms:
    groups: tuple[tuple[Term, ...], ...]
    topics: dict[str, tuple[str, ...]]  # slug → everyday words for that guide
    outside: tuple[Term, ...] = ()  # what the bank handles elsewhere: never a confident answer here


def load_synonyms(path: Path) -> Synonyms:
    data = _read(path)
    groups = []
    listed = data.get("group", [])
    if not isinstance(listed, list):
        raise VocabularyError(f"{path}: 'group' must be a list of [[group]] tables")
    for index, group in enumerate(listed):
        if not isinstance(group, dict):
            raise VocabularyError(f"{path}: group {index + 1} must be a table with 'words'")
        groups.append(tuple(term(word) for word in _strings(f"{path}: group {index + 1}", group.get("words"))))
    topics = data.get("topics", {}) or {}
    if not isinstance(topics, dict):
        raise VocabularyError(f"{path}: [topics] must map a guide's slug to a list of words")
    outside = data.get("outside", {}) or {}
    if not isinstance(outside, dict):
        raise VocabularyError(f"{path}: [outside] must be a table with 'words'")
    return Synonyms(
        tuple(groups),
        {slug: tuple(_strings(f"{path}: topics.{slug}", words)) for slug, words in topics.items()},
        tuple(term(word) for word in _strings(f"{path}: outside.words", outside.get("words", []))),
    )


def load_escalation(path: Path) -> dict[str, tuple[Term, ...]]:
    """Reason → the phrases that route a question to a person for that reason."""
    data = _read(path)
    found: dict[str, tuple[Term, ...]] = {}
    for reason, table in data.items():
        if not isinstance(table, dict):
            raise VocabularyError(f"{path}: [{reason}] must be a table with 'phrases'")
        found[reason] = tuple(
            term(p, endings=True) for p in _strings(f"{path}: {reason}.phrases", table.get("phrases"))
        )
    return found
