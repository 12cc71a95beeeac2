"""Opting out of collection messages: by replying STOP to a text, or by an e-mail link.

An opt-out is an account flag (``optout_sms`` / ``optout_email``) that the contact
rules read both when a message is queued and when it is sent, so it is honoured at once,
including for messages already waiting in the outbox.
"""

from __future__ import annotations

import unicodedata

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, or_, select

from portal.accounts.models import CardAccount, Cardholder
from portal.audit.service import Actor, record
from portal.cases.service import add_event
from portal.extensions import db

# Carrier-standard English keywords, plus the Chinese "退订" (unsubscribe) and its pinyin "TD".
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD"})
UNSUBSCRIBE_SALT = "unsubscribe"


def is_stop(text: str) -> bool:
    """True when an inbound text asks to stop (full-width letters and case folded)."""
    folded = unicodedata.normalize("NFKC", text or "").strip().upper().rstrip(".!。！")
    return folded in STOP_WORDS


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


def opt_out(account: CardAccount, channel: str, via: str, actor: Actor) -> bool:
    """Set ``optout_<channel>`` on the account; the caller commits. False if already set."""
    flag = f"optout_{channel}"
    flags = list(account.flags or [])
    if flag in flags:
        return False
    account.flags = [*flags, flag]  # a new list, so the JSON column is written
    add_event(account.id, "opted_out", actor, {"channel": channel, "via": via})
    record(actor, "contact.opted_out", ("card_account", account.id), before={"flags": flags},
           after={"flags": account.flags})
    return True


def unsubscribe_email(account_id: int, ip: str | None, via: str = "unsubscribe_link") -> None:
    """The cardholder confirmed the unsubscribe page, or their mail client's one-click
    button (``via="one_click"``): no more collection e-mails."""
    account = db.session.get(CardAccount, account_id)
    if account is not None:
        opt_out(account, "email", via, Actor("cardholder", str(account_id), ip))
    db.session.commit()


def accounts_with_phone(phone: str) -> list[CardAccount]:
    """Accounts whose cardholder's phone has the same digits (spaces, dashes, + ignored).

    A provider may drop the country code; a national number of 10+ digits then matches
    the end of the stored one. Matching too widely only stops more messages, never sends more.
    """
    digits = phone_digits(phone)
    if len(digits) < 6:
        return []
    stored = Cardholder.phone
    for ch in (" ", "-", "+", "(", ")", "."):
        stored = func.replace(stored, ch, "")
    same = stored == digits
    if len(digits) >= 10:
        same = or_(same, stored.like(f"%{digits}"))
    query = select(CardAccount).join(Cardholder).where(same).order_by(CardAccount.id)
    return list(db.session.execute(query).scalars())


def handle_inbound_sms(sender: str, text: str) -> int:
    """An inbound text from the SMS provider. STOP opts every account on that phone out.

    Returns how many accounts changed. Other texts are ignored here.
    """
    if not is_stop(text):
        return 0
    changed = 0
    for account in accounts_with_phone(sender):
        changed += opt_out(account, "sms", "sms_reply", Actor("cardholder", str(account.id)))
    db.session.commit()
    return changed
