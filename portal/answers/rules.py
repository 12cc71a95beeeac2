"""Questions that go to a person, by rule, before anything is looked up.

A question that invokes a right (a dispute, a complaint), signals hardship or
distress, reports fraud or a death, or asks for a person is not answered from the guides
alone: it is routed to care staff. The phrases are per language, in
``content/answers/<locale>/escalation.toml``, which translators edit; every language's
list is read for every question, so "I want a human" typed on a Chinese page, or
Cantonese on a Simplified one, is still heard. The first reason in :data:`ORDER` that
matches wins: words of self-harm before anything else.
"""

from __future__ import annotations

from enum import StrEnum

from portal.answers.vocabulary import Term, match_text


class Escalation(StrEnum):
    SELF_HARM = "self_harm"
    FRAUD = "fraud"
    BEREAVEMENT = "bereavement"
    DISPUTE = "dispute"
    COMPLAINT = "complaint"
    HARDSHIP = "hardship"
    HUMAN = "human"


ORDER = tuple(Escalation)  # the most urgent first

# The guide shown beside each hand-over, chosen by the rule, not by the ranking (none
# for self-harm: that page shows the crisis lines and nothing else).
REASON_TOPIC = {
    Escalation.HARDSHIP: "cannot-pay",
    Escalation.FRAUD: "scams",
    Escalation.DISPUTE: "your-rights",
    Escalation.COMPLAINT: "your-rights",
    Escalation.BEREAVEMENT: "contact-us",
    Escalation.HUMAN: "contact-us",
}


def escalation_for(question: str, rules: dict[str, tuple[Term, ...]]) -> Escalation | None:
    """The reason ``question`` must go to a person, or None."""
    text = match_text(question)
    for reason in ORDER:
        if any(t.pattern.search(text) for t in rules.get(reason.value, ())):
            return reason
    return None


def merge_rules(*lists: dict[str, tuple[Term, ...]]) -> dict[str, tuple[Term, ...]]:
    """One rule list from several languages' lists; an unknown reason is an error."""
    merged: dict[str, tuple[Term, ...]] = {}
    for rules in lists:
        for reason, terms in rules.items():
            if reason not in Escalation.__members__.values():
                raise ValueError(f"unknown escalation reason {reason!r}; known: {', '.join(ORDER)}")
            merged[reason] = merged.get(reason, ()) + terms
    return merged
