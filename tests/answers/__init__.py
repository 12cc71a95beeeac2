"""The labelled question set the answers feature is scored on (issue 18).

``questions_<locale>.toml`` holds, per language, questions written the way cardholders
type them, each with the help guide that answers it (``topic``), or none for a question
out of scope, and the reason it must go to a person (``escalate``), if any. The fields are
described at the top of each file. ``load_questions`` reads one language's file.
``heldout_<locale>.toml`` has the same shape: questions written by a reviewer after the
word lists were tuned, kept apart so that the figures on them stay honest; do not tune
the word lists on them (add a question that fails to the tuned set, then fix the lists).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ESCALATION_REASONS", "FIELDS", "LOCALES", "Labelled", "load_questions", "question_file"]

LOCALES = ("en", "zh_Hans", "zh_Hant")
FIELDS = frozenset({"question", "topic", "escalate"})
ESCALATION_REASONS = ("dispute", "complaint", "hardship", "bereavement", "fraud", "human", "self_harm")
_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Labelled:
    """One labelled question: the guide that answers it and the reason to hand over, if any."""

    question: str
    topic: str | None = None
    escalate: str | None = None

    @property
    def out_of_scope(self) -> bool:
        """No guide answers it and no person is needed: it must not get a confident answer."""
        return self.topic is None and self.escalate is None


def question_file(locale: str, kind: str = "questions") -> Path:
    """``questions_<locale>.toml`` (the set the word lists are tuned on) or, with
    ``kind="heldout"``, ``heldout_<locale>.toml`` (never tuned on: the honest figures)."""
    return _HERE / f"{kind}_{locale}.toml"


def load_questions(locale: str, kind: str = "questions") -> list[Labelled]:
    """The labelled questions of ``locale``, in file order."""
    with question_file(locale, kind).open("rb") as handle:
        rows = tomllib.load(handle)["q"]
    return [Labelled(row["question"], row.get("topic"), row.get("escalate")) for row in rows]
