"""What care staff change on an account: notes, the reason for the debt, flags, opt-outs.

Each function writes the case-file event and the audit record in one
transaction (flushed; the request commits it), so the
two always go together. Authority that depends on the role (only a supervisor clears a
dispute; an agent offers only within the policy's agent authority) is checked here, from
the staff record behind the actor, not only by the view.

Any member of care staff may set a flag: that only stops messages or offers. A
cardholder's own opt-out and a do-not-contact flag are cleared by the cardholder (on their
contact preferences page) or by a supervisor recording the cardholder's documented
request, with that request as the required note; an agent cannot clear them.

Vulnerability, bereavement (``deceased``) and fraud change how the bank treats a person
(``portal.notifications.rules`` and the policy's blocking flags say how), so each is set
and cleared with a required note saying what staff learnt and from whom, and only a
supervisor clears one: taking such a flag off by mistake would restart collection.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import CardAccount
from portal.audit.actions import Action
from portal.audit.service import Actor, record, record_row
from portal.care import contact
from portal.cases.models import CaseEventKind
from portal.cases.service import CaseError, add_event
from portal.cases.service import set_reason as cases_set_reason
from portal.extensions import db
from portal.offers.adapter import offers_for_account
from portal.policies.service import NoActivePolicy
from portal.staff.authority import offer_allowed
from portal.staff.models import Role
from portal.staff.service import role_of

# The outcome of a contact (a call above all): a short list, in the order the form shows it.
OUTCOMES = (
    "reached",
    "contacted_promised",
    "contacted_refused",
    "hardship_disclosed",
    "no_answer",
    "wrong_number",
    "not_now",
    "other",
)
# "phone" is a call care staff made (the contact rules and caps hold, portal.care.contact);
# "phone_in" a call the cardholder made to us.
CONTACT_CHANNELS = ("phone", "phone_in", "sms", "email", "letter", "in_person", "none")
FLAGS = ("vulnerable", "deceased", "fraud", "dispute", "do_not_contact", "optout_sms", "optout_email")
# Flags that stand for the cardholder's wish not to be contacted (see the module notes).
CONSENT_FLAGS = frozenset({"do_not_contact", "optout_sms", "optout_email"})
# Flags about the person's circumstances: a note when set and when cleared (module notes).
NOTE_FLAGS = frozenset({"vulnerable", "deceased", "fraud"})
SUPERVISOR_TO_CLEAR = frozenset({"dispute"}) | CONSENT_FLAGS | NOTE_FLAGS
MAX_FLAG_NOTE = 500
MAX_NOTE = 4000


class CareError(ValueError):
    """A care action that cannot go ahead; ``code`` is for the view to translate
    (``detail``: the rule behind a refused call, a block reason)."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


def _account(account_id: int, lock: bool = False) -> CardAccount:
    query = select(CardAccount).where(CardAccount.id == account_id)
    if lock and db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # flag lists are read-modify-write
    account = db.session.execute(query).scalar_one_or_none()
    if account is None:
        raise CareError("no_account")
    return account


def _require_care_role(actor: Actor) -> Role:
    role = role_of(actor)
    if role not in (Role.AGENT, Role.SUPERVISOR):
        raise CareError("not_allowed")
    return role


def add_note(account_id: int, outcome: str, text: str, actor: Actor, channel: str = "none") -> int:
    """Add a contact note with its outcome code; returns the case event id.

    A note on the channel ``phone`` records a call care staff made: the contact rules
    must allow it (``call_refused`` otherwise, nothing written) and it counts toward the
    contact caps. A note on any contact channel becomes the case's last contact.
    """
    _require_care_role(actor)
    account = _account(account_id)
    text = (text or "").strip()
    if outcome not in OUTCOMES:
        raise CareError("unknown_outcome")
    if channel not in CONTACT_CHANNELS:
        raise CareError("unknown_channel")
    if not text:
        raise CareError("note_empty")
    if len(text) > MAX_NOTE:
        raise CareError("note_too_long")
    if channel == "phone":
        try:
            contact.record_call(account, outcome, actor)
        except contact.CallRefused as refused:
            raise CareError("call_refused", refused.reason) from refused
    contact.note_contact(account_id, channel, outcome)
    event = add_event(account_id, CaseEventKind.NOTE, actor, {"outcome": outcome, "channel": channel, "text": text})
    record(
        actor,
        Action.Case.NOTE_ADDED,
        ("card_account", account_id),
        after={"event": event.id, "outcome": outcome, "channel": channel},
    )
    db.session.flush()
    return event.id


def set_reason(account_id: int, reason: str, actor: Actor) -> None:
    """Record what made repaying hard, as told to care staff."""
    _require_care_role(actor)
    _account(account_id)
    try:
        cases_set_reason(account_id, reason, actor)
    except CaseError as error:
        db.session.rollback()
        raise CareError(error.code) from error
    db.session.flush()


def set_flag(account_id: int, flag: str, actor: Actor, note: str = "") -> bool:
    """Set a flag (do-not-contact, dispute, channel opt-out). False if it was already set.

    A dispute pauses every collection message and offer: the contact rules and the offer
    policy's blocking flags read it.
    """
    _require_care_role(actor)
    if flag not in FLAGS:
        raise CareError("unknown_flag")
    if flag in NOTE_FLAGS and not note.strip():
        raise CareError("flag_note_required")
    if not add_flag(account_id, flag, actor, note):
        db.session.rollback()  # nothing written; let go of the row lock
        return False
    return True


def add_flag(account_id: int, flag: str, actor: Actor, note: str = "") -> bool:
    """Set ``flag`` with its case-file entry and audit record, whoever acts; False (and
    nothing written) if it was already set. Callers check who may: care staff through
    :func:`set_flag`, a cardholder's question that disputes the debt through
    ``portal.answers.service``."""
    if flag not in FLAGS:
        raise CareError("unknown_flag")
    reason = note.strip()[:MAX_FLAG_NOTE]
    account = _account(account_id, lock=True)
    flags = list(account.flags or [])
    if flag in flags:
        return False
    account.flags = [*flags, flag]  # a new list, so the JSON column is written
    add_event(account_id, CaseEventKind.FLAG_SET, actor, {"flag": flag, "note": reason})
    record(
        actor,
        Action.Account.FLAG_SET,
        ("card_account", account_id),
        before={"flags": flags},
        after={"flags": account.flags, "reason": reason},
    )
    db.session.flush()
    return True


def clear_flag(account_id: int, flag: str, actor: Actor, note: str = "") -> bool:
    """Clear a flag. False if it was not set.

    Only a supervisor clears a dispute, an opt-out, do-not-contact, vulnerability,
    bereavement or fraud. ``note`` is required for the consent flags (the cardholder's
    documented request: when, how, its reference) and for the last three (why it no
    longer holds).
    """
    role = _require_care_role(actor)
    if flag not in FLAGS:
        raise CareError("unknown_flag")
    if flag in CONSENT_FLAGS and role is not Role.SUPERVISOR:
        raise CareError("cardholder_request_only")
    if flag in SUPERVISOR_TO_CLEAR and role is not Role.SUPERVISOR:
        raise CareError("supervisor_only" if flag == "dispute" else "supervisor_to_clear")
    reason = note.strip()[:MAX_FLAG_NOTE]
    if flag in CONSENT_FLAGS and not reason:
        raise CareError("request_note_required")
    if flag in NOTE_FLAGS and not reason:
        raise CareError("flag_note_required")
    account = _account(account_id, lock=True)
    flags = list(account.flags or [])
    if flag not in flags:
        db.session.rollback()
        return False
    account.flags = [f for f in flags if f != flag]
    data = {"flag": flag, "note": reason}
    if flag in CONSENT_FLAGS:
        data["basis"] = "cardholder_request"
    add_event(account_id, CaseEventKind.FLAG_CLEARED, actor, data)
    record(
        actor,
        Action.Account.FLAG_CLEARED,
        ("card_account", account_id),
        before={"flags": flags},
        after={"flags": account.flags, "reason": reason, **({"basis": data["basis"]} if "basis" in data else {})},
    )
    db.session.flush()
    return True


def record_case_viewed(account_id: int, actor: Actor) -> None:
    """Reading a case file is audited too: who looked at whose debts, and when."""
    record_row(actor, Action.Case.VIEWED, ("card_account", account_id))


def record_search(kind: str, results: int, actor: Actor) -> None:
    """Searches are audited by kind and result count (not the words searched for)."""
    record_row(actor, Action.Care.SEARCHED, None, after={"kind": kind, "results": results})


def check_link_offer(account_id: int, fingerprint: str | None, actor: Actor, today: object) -> None:
    """Refuse a pre-selected offer outside the actor's authority (``offer_not_allowed``)."""
    role = _require_care_role(actor)
    if not fingerprint:
        return
    account = _account(account_id)
    try:
        _version, offers = offers_for_account(account, today, by_staff=True)  # type: ignore[arg-type]
    except NoActivePolicy as error:
        raise CareError("offer_not_allowed") from error
    for offer in offers:
        if offer.fingerprint == fingerprint:
            if offer_allowed(role, offer.agent_may_offer, offer.needs_approval):
                return
            raise CareError("offer_not_allowed")
    raise CareError("offer_changed")
