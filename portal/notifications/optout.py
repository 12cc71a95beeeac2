"""Opting out of collection messages: by replying STOP to a text, by an e-mail link, or on
the cardholder's contact preferences page (which is also the only place they opt back in).

An opt-out is an account flag (``optout_sms`` / ``optout_email``) that the contact
rules read both when a message is queued and when it is sent, so it is honoured at once,
including for messages already waiting in the outbox. Staff clear one only as a
supervisor recording the cardholder's documented request (``portal.care.service``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import SQLColumnExpression, func, or_, select

from portal.accounts.models import CardAccount, Cardholder
from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.cases.models import CaseEventKind
from portal.cases.service import add_event
from portal.extensions import db
from portal.notifications.stop_words import is_stop

UNSUBSCRIBE_SALT = "unsubscribe"
MAX_REPLY = 1000


def phone_digits(phone: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", phone or "") if ch.isdigit())


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(account_id: int) -> str:
    """A signed token naming the account whose e-mails to stop (no expiry: it must keep working)."""
    return _serializer().dumps({"a": account_id, "c": "email"})


def unsubscribe_url(account_id: int) -> str:
    return f"{current_app.config['PUBLIC_URL']}/unsubscribe/{unsubscribe_token(account_id)}"


def account_for_unsubscribe(token: str) -> int | None:
    """The account id in a valid token, or None for anything forged or damaged."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("c") != "email" or not isinstance(data.get("a"), int):
        return None
    return data["a"] if db.session.get(CardAccount, data["a"]) else None


def opt_out(account: CardAccount, channel: str, via: str, actor: Actor, evidence: dict[str, Any] | None = None) -> bool:
    """Set ``optout_<channel>`` on the account; the caller commits. False if already set.

    ``evidence`` (the reply's text, the page's statement…) goes on the case file with it.
    """
    flag = f"optout_{channel}"
    flags = list(account.flags or [])
    if flag in flags:
        return False
    account.flags = [*flags, flag]  # a new list, so the JSON column is written
    add_event(account.id, CaseEventKind.OPTED_OUT, actor, {"channel": channel, "via": via, **(evidence or {})})
    record(
        actor,
        Action.Contact.OPTED_OUT,
        ("card_account", account.id),
        before={"flags": flags},
        after={"flags": account.flags, "via": via},
    )
    return True


def opt_in(account: CardAccount, channel: str, via: str, actor: Actor, evidence: dict[str, Any]) -> bool:
    """Clear the cardholder's own ``optout_<channel>`` at their request; the caller commits.

    Only the cardholder's own action (``actor`` is the cardholder) reaches here; staff go
    through ``portal.care.service.clear_flag``. ``evidence`` says what they agreed to and
    how. False if they had not opted out.
    """
    if actor.type != "cardholder" or actor.id != str(account.id):
        raise PermissionError("only the cardholder opts back in here")
    flag = f"optout_{channel}"
    flags = list(account.flags or [])
    if flag not in flags:
        return False
    account.flags = [f for f in flags if f != flag]
    add_event(account.id, CaseEventKind.OPTED_IN, actor, {"channel": channel, "via": via, **evidence})
    record(
        actor,
        Action.Contact.OPTED_IN,
        ("card_account", account.id),
        before={"flags": flags},
        after={"flags": account.flags, "via": via, **evidence},
    )
    return True


def unsubscribe_email(account_id: int, ip: str | None, via: str = "unsubscribe_link") -> None:
    """The cardholder confirmed the unsubscribe page, or their mail client's one-click
    button (``via="one_click"``): no more collection e-mails."""
    account = db.session.get(CardAccount, account_id)
    if account is not None:
        opt_out(account, "email", via, Actor.cardholder(account_id, ip))
    db.session.flush()


def accounts_with_phone(phone: str) -> list[CardAccount]:
    """Accounts whose cardholder's phone has the same digits (spaces, dashes, + ignored).

    A provider may drop the country code; a national number of 10+ digits then matches
    the end of the stored one. Matching too widely only stops more messages, never sends more.
    """
    digits = phone_digits(phone)
    if len(digits) < 6:
        return []
    stored: SQLColumnExpression[str] = Cardholder.phone  # then the same column, stripped
    for ch in (" ", "-", "+", "(", ")", "."):
        stored = func.replace(stored, ch, "")
    same = stored == digits
    if len(digits) >= 10:
        same = or_(same, stored.like(f"%{digits}"))
    query = select(CardAccount).join(Cardholder).where(same).order_by(CardAccount.id)
    return list(db.session.execute(query).scalars())


@dataclass(frozen=True)
class InboundResult:
    opted_out: int  # accounts whose texts stopped now
    filed: int  # accounts whose case file got the reply for an agent to read


def clean_reply(text: str) -> str:
    """The reply as it is kept: control characters (NUL…) dropped, at most MAX_REPLY long."""
    kept = "".join(ch for ch in text or "" if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return kept.strip()[:MAX_REPLY]


def handle_inbound_sms(sender: str, text: str) -> InboundResult:
    """An inbound text from the SMS provider, for every account on that phone.

    A STOP word (``stop_words``) opts the accounts out of texts, keeping the reply as
    evidence. Any other reply goes on each account's case file for an agent to read.
    """
    reply = clean_reply(text)
    accounts = accounts_with_phone(sender)
    if is_stop(reply):
        changed = sum(
            opt_out(account, "sms", "sms_reply", Actor.cardholder(account.id), {"text": reply}) for account in accounts
        )
        db.session.flush()
        return InboundResult(opted_out=changed, filed=0)
    if not reply:
        return InboundResult(opted_out=0, filed=0)
    for account in accounts:
        actor = Actor.cardholder(account.id)
        event = add_event(account.id, CaseEventKind.SMS_REPLY, actor, {"text": reply})
        record(
            actor,
            Action.Contact.REPLY_RECEIVED,
            ("card_account", account.id),
            after={"event": event.id, "channel": "sms", "length": len(reply)},
        )
    db.session.flush()
    return InboundResult(opted_out=0, filed=len(accounts))


CHANNELS = ("sms", "email")


def contact_choices(account: CardAccount) -> dict[str, bool]:
    """Which collection channels the cardholder allows now: ``{"sms": True, "email": False}``."""
    flags = set(account.flags or ())
    return {channel: f"optout_{channel}" not in flags for channel in CHANNELS}


def set_contact_choices(account_id: int, wanted: dict[str, bool], actor: Actor, evidence: dict[str, Any]) -> list[str]:
    """The cardholder's own choices from their contact preferences page.

    A channel turned off is an opt-out; turned back on, an opt-in that keeps ``evidence``
    (the statement they agreed to, its version, language and browser) beside the actor's
    address. Returns the channels that changed.
    """
    account = db.session.get(CardAccount, account_id)
    if account is None:
        raise LookupError(account_id)
    changed = []
    for channel, allowed in wanted.items():
        if channel not in CHANNELS:
            raise ValueError(channel)
        if allowed:
            done = opt_in(account, channel, "contact_preferences", actor, evidence)
        else:
            done = opt_out(account, channel, "contact_preferences", actor, evidence)
        if done:
            changed.append(channel)
    db.session.flush()
    return changed
