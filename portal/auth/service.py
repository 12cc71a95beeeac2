"""Cardholder sign-in: card number and date of birth, then a one-time code by SMS.

Every failure looks the same from outside (:class:`SignInFailed`), whether the card is
unknown, the date is wrong, the code is wrong or expired, or the card is locked, so
sign-in never tells a stranger whether a card exists.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update

from portal.accounts.models import CardAccount
from portal.audit.service import Actor, record
from portal.auth.models import OneTimeCode
from portal.db_types import utcnow
from portal.extensions import db
from portal.notifications.secrets import forget_signin_codes
from portal.notifications.service import queue_signin_code
from portal.security import birth_date_matches, card_hash, code_hash, new_code

CODE_LIFETIME = timedelta(minutes=5)
MAX_CODE_ATTEMPTS = 5
LOCK_DURATION = timedelta(minutes=15)


class SignInFailed(Exception):
    """Sign-in did not succeed; deliberately says nothing about why."""


@dataclass(frozen=True)
class SignInSettings:
    card_key: str
    bank_name: str


def find_account(card_number: str, card_key: str) -> CardAccount | None:
    query = select(CardAccount).where(CardAccount.card_hash == card_hash(card_number, card_key))
    return db.session.execute(query).scalar_one_or_none()


def start_sign_in(card_number: str, date_of_birth: date, settings: SignInSettings, ip: str | None) -> int | None:
    """Check card and date of birth; when both match an unlocked account, send a code.

    Returns the id of the code row to remember in the session, or ``None`` when nothing
    was sent (the caller shows the same next page either way).
    """
    now = utcnow()
    account = find_account(card_number, settings.card_key)
    matched = (
        account is not None
        and birth_date_matches(account.cardholder.date_of_birth_hash, date_of_birth, settings.card_key)
        and not (account.signin_locked_until and account.signin_locked_until > now)
    )
    if not matched or account is None:
        record(Actor("anonymous", ip=ip), "signin.identity_failed",
               ("card_account", account.id) if account else None)
        db.session.commit()
        return None

    # A new code replaces any earlier unused one, so only the latest SMS works.
    forget_signin_codes(account.id)
    db.session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.account_id == account.id, OneTimeCode.used_at.is_(None))
        .values(used_at=now)
    )
    code = new_code()
    otp = OneTimeCode(
        account_id=account.id,
        code_hash=code_hash(code, account.id, settings.card_key),
        created_at=now,
        expires_at=now + CODE_LIFETIME,
        attempts=0,
    )
    db.session.add(otp)
    message = queue_signin_code(account, code, settings.bank_name, otp.expires_at)
    db.session.flush()
    record(Actor("anonymous", ip=ip), "signin.code_sent", ("card_account", account.id),
           after={"outbox_message": message.id})
    db.session.commit()
    return otp.id


def verify_code(otp_id: int | None, code: str, settings: SignInSettings, ip: str | None) -> CardAccount:
    """Check a one-time code. Five wrong tries lock sign-in for the card for 15 minutes."""
    now = utcnow()
    otp = db.session.get(OneTimeCode, otp_id) if otp_id else None
    if otp is None:
        raise SignInFailed
    account = db.session.get(CardAccount, otp.account_id)
    assert account is not None
    usable = otp.used_at is None and otp.expires_at > now and not (
        account.signin_locked_until and account.signin_locked_until > now
    )
    # Count the attempt atomically before comparing, so parallel guesses cannot exceed
    # the limit between a read and a write.
    counted = db.session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.id == otp.id, OneTimeCode.attempts < MAX_CODE_ATTEMPTS)
        .values(attempts=OneTimeCode.attempts + 1)
    ).rowcount
    db.session.refresh(otp)
    actor = Actor("anonymous", ip=ip)
    if usable and counted and hmac.compare_digest(otp.code_hash, code_hash(code, account.id, settings.card_key)):
        otp.used_at = now
        forget_signin_codes(account.id)
        record(Actor("cardholder", str(account.id), ip), "signin.succeeded", ("card_account", account.id))
        db.session.commit()
        return account

    if counted and otp.attempts >= MAX_CODE_ATTEMPTS and usable:
        otp.used_at = now
        account.signin_locked_until = now + LOCK_DURATION
        record(actor, "signin.locked", ("card_account", account.id),
               after={"locked_until": account.signin_locked_until.isoformat()})
    else:
        record(actor, "signin.code_failed", ("card_account", account.id))
    db.session.commit()
    raise SignInFailed
