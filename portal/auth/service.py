"""Cardholder sign-in: card number and date of birth, then a one-time code by SMS.

Every failure looks the same from outside (:class:`SignInFailed`), whether the card is
unknown, the date is wrong, the code is wrong or expired, or the card is locked, so
sign-in never tells a stranger whether a card exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update

from portal.accounts.models import CardAccount, Cardholder
from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.auth.attempts import count_attempt
from portal.auth.models import OneTimeCode
from portal.auth.server_sessions import end_sessions
from portal.db_types import rowcount, utcnow
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.notifications.secrets import forget_signin_codes
from portal.notifications.service import queue_signin_code, signin_code_text
from portal.security import birth_date_matches, card_hash, code_hash, new_code
from portal.unit_of_work import keep_on_refusal

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


def find_cardholder(card_number: str, date_of_birth: date, card_key: str) -> CardAccount | None:
    """The account whose card number and holder's date of birth both match, or None.

    The one place the first sign-in step compares identity, so that how dates of birth
    are stored can change here alone.
    """
    account = find_account(card_number, card_key)
    if account is None or not birth_date_matches(account.cardholder.date_of_birth_hash, date_of_birth, card_key):
        return None
    return account


def challenge_hash(challenge: str) -> str:
    """What the server keeps of a challenge token the browser holds."""
    return hashlib.sha256(challenge.encode()).hexdigest()


def start_sign_in(card_number: str, date_of_birth: date, settings: SignInSettings, ip: str | None) -> str:
    """Check card and date of birth and open a pending sign-in; return its challenge.

    Every outcome does the same work and returns a challenge: a pending row with a code
    hash is written whether or not the details match an unlocked account, so neither
    the next page, its rate-limit bucket nor the time taken tells them apart. Only a
    match queues the text message; a non-matching challenge can never succeed.
    """
    now = utcnow()
    found = find_cardholder(card_number, date_of_birth, settings.card_key)
    account = found if found is not None and not _locked(found, now) else None
    # A new code replaces any earlier unused one, so only the latest SMS works.
    if account is not None:
        forget_signin_codes(account.id)
    db.session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.account_id == (account.id if account else -1), OneTimeCode.used_at.is_(None))
        .values(used_at=now)
    )
    code = new_code()
    challenge = secrets.token_urlsafe(32)
    otp = OneTimeCode(
        account_id=account.id if account else None,
        challenge_hash=challenge_hash(challenge),
        code_hash=code_hash(code, account.id if account else 0, settings.card_key),
        created_at=now,
        expires_at=now + CODE_LIFETIME,
        attempts=0,
    )
    db.session.add(otp)
    actor = Actor.anonymous(ip)
    if account is None:
        _work_like_sending(card_number, settings)
        db.session.flush()
        record(actor, Action.SignIn.IDENTITY_FAILED, ("card_account", found.id) if found else None)
    else:
        message = queue_signin_code(account, code, settings.bank_name, otp.expires_at)
        db.session.flush()
        record(actor, Action.SignIn.CODE_SENT, ("card_account", account.id), after={"outbox_message": message.id})
    db.session.flush()
    return challenge


def _work_like_sending(card_number: str, settings: SignInSettings) -> None:
    """What a match costs beyond this path, done without effect: the holder look-up a
    known card makes, the message text, and a database round trip in place of queueing
    it. It keeps the time of a non-matching first step close to a matching one."""
    db.session.execute(select(Cardholder.id).where(Cardholder.id == -1))
    signin_code_text("en", settings.bank_name)  # the text queue_signin_code renders
    db.session.execute(select(OutboxMessage.id).where(OutboxMessage.id == -1))
    card_hash(card_number[::-1], settings.card_key)


def _locked(account: CardAccount, now: datetime) -> bool:
    return bool(account.signin_locked_until and account.signin_locked_until > now)


def _use_up(otp: OneTimeCode, now: datetime) -> bool:
    """Mark the challenge used; True for the one request that did."""
    used = update(OneTimeCode).where(OneTimeCode.id == otp.id, OneTimeCode.used_at.is_(None)).values(used_at=now)
    return rowcount(db.session.execute(used)) == 1


def verify_code(challenge: str | None, code: str, settings: SignInSettings, ip: str | None) -> CardAccount:
    """Check a one-time code against the pending sign-in ``challenge``.

    Five wrong tries end the challenge; when it belongs to a card, they also lock
    sign-in for that card for 15 minutes and end its open sessions. A challenge that
    matched nobody counts and ends the same way, and never succeeds.
    """
    now = utcnow()
    otp = None
    if challenge:
        query = select(OneTimeCode).where(OneTimeCode.challenge_hash == challenge_hash(challenge))
        otp = db.session.execute(query).scalar_one_or_none()
    if otp is None:
        raise SignInFailed  # nothing written: nothing to keep
    # The same look-up either way (no account has id -1), so both take the same time.
    account = db.session.get(CardAccount, otp.account_id if otp.account_id is not None else -1)
    usable = otp.used_at is None and otp.expires_at > now and not (account and _locked(account, now))
    # Count the attempt atomically before comparing, so parallel guesses on any worker or
    # node cannot exceed the limit between a read and a write (portal.auth.attempts).
    attempts = count_attempt(otp, MAX_CODE_ATTEMPTS, CODE_LIFETIME)
    counted = attempts is not None
    actor = Actor.anonymous(ip)
    matches = hmac.compare_digest(otp.code_hash, code_hash(code, otp.account_id or 0, settings.card_key))
    # Success and the lockout both use the challenge up, and only one request can: a right
    # code cannot sign in while a parallel wrong one locks the card, nor sign in twice.
    if account is not None and usable and counted and matches and _use_up(otp, now):
        forget_signin_codes(account.id)
        record(Actor.cardholder(account.id, ip), Action.SignIn.SUCCEEDED, ("card_account", account.id))
        db.session.flush()
        return account

    target = ("card_account", account.id) if account else None
    if attempts == MAX_CODE_ATTEMPTS and usable and _use_up(otp, now):  # one try reaches the limit
        otp.attempts = MAX_CODE_ATTEMPTS  # counted in Redis, if there; recorded on the row
        if account is not None:
            account.signin_locked_until = now + LOCK_DURATION
            end_sessions(f"c:{account.id}", "locked")
            record(actor, Action.SignIn.LOCKED, target, after={"locked_until": account.signin_locked_until.isoformat()})
        else:
            record(actor, Action.SignIn.CODE_FAILED, target)
    else:
        record(actor, Action.SignIn.CODE_FAILED, target)
    db.session.flush()
    # The counted attempt, a used-up challenge and a lockout must outlive the refusal.
    keep_on_refusal()
    raise SignInFailed
