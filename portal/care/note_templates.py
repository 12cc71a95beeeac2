"""Note templates: a situation's usual note, to pre-fill the case file's note form.

Staff pick one and edit what it says; nothing is written until they add the note. Each
names the outcome and channel it usually goes with. The gaps in square brackets are for
the agent to fill in.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class NoteTemplate:
    code: str
    label: object
    outcome: str
    channel: str
    text: object


TEMPLATES = (
    NoteTemplate(
        "hardship_call",
        _l("Hardship call"),
        "hardship_disclosed",
        "phone",
        _l(
            "Spoke with the cardholder. What happened: [job loss / illness / income fell]. "
            "Since: [month]. Income now: [amount]. Can pay about [amount] a month. "
            "Told them about the hardship plan and free debt advice. Next step: [what and when]."
        ),
    ),
    NoteTemplate(
        "dispute_received",
        _l("Dispute received"),
        "reached",
        "phone",
        _l(
            "The cardholder disputes: [which charge or amount, and why]. Evidence they will send: [what, by when]. "
            "Dispute flag set; collection is paused until a supervisor settles it."
        ),
    ),
    NoteTemplate(
        "promise_taken",
        _l("Promise taken"),
        "contacted_promised",
        "phone",
        _l(
            "The cardholder promised to pay [amount] by [date], by [how they will pay]. "
            "Read the promise back to them; they agreed. A confirmation message goes to them."
        ),
    ),
    NoteTemplate(
        "no_answer",
        _l("No answer"),
        "no_answer",
        "phone",
        _l("Called [number on file]; no answer. No message left with anyone else."),
    ),
    NoteTemplate(
        "call_back_later",
        _l("Asked to be called later"),
        "not_now",
        "phone",
        _l("The cardholder asked us to call at another time: [day and time they chose]. Call-back set."),
    ),
    NoteTemplate(
        "wrong_number",
        _l("Wrong number"),
        "wrong_number",
        "phone",
        _l("The person who answered is not the cardholder and does not know them. Nothing about the debt was said."),
    ),
)
BY_CODE = {template.code: template for template in TEMPLATES}


def find(code: str | None) -> NoteTemplate | None:
    return BY_CODE.get(code or "")
