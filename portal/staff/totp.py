"""Authenticator (TOTP, RFC 6238) secrets: kept encrypted, codes checked once each.

The secret is encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA-256) under a key
derived from the deployment's ``SECRET_KEY`` with HKDF, so a copy of the database alone
does not let anyone produce codes. Rotating ``SECRET_KEY`` therefore needs staff to enrol
again (``flask --app wsgi portal staff reissue``).
"""

from __future__ import annotations

import base64
import hmac
from datetime import datetime

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

STEP_SECONDS = 30
VALID_WINDOW = 1  # one step either side: clocks drift and people type slowly
ISSUER = "Repayment portal"
_PREFIX = "f1:"


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"portal-staff-totp", info=b"totp-secret-v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def new_secret() -> str:
    """A fresh 160-bit base32 secret, as authenticator apps expect."""
    return pyotp.random_base32(32)


def seal(secret: str, secret_key: str) -> str:
    """The secret as stored: encrypted and tagged with the scheme."""
    return _PREFIX + _fernet(secret_key).encrypt(secret.encode()).decode()


def unseal(stored: str, secret_key: str) -> str:
    """The plain secret back. Raises ``ValueError`` when the key does not fit."""
    if not stored.startswith(_PREFIX):
        raise ValueError("unknown TOTP secret format")
    try:
        return _fernet(secret_key).decrypt(stored[len(_PREFIX) :].encode()).decode()
    except InvalidToken as error:
        raise ValueError("the TOTP secret cannot be decrypted with this SECRET_KEY") from error


def step_at(instant: datetime) -> int:
    return int(instant.timestamp()) // STEP_SECONDS


def code_at_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).at(step * STEP_SECONDS)


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The step whose code this is (within the window), if not already used; else None.

    A code is refused once its step, or a later one, has been accepted: a code seen over
    someone's shoulder or replayed from a log is worthless.
    """
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    current = step_at(now)
    found = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        # Compare every candidate so timing does not say which step matched.
        if hmac.compare_digest(code_at_step(secret, step), code) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def provisioning_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (typed or scanned)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str | None:
    """The URI as an inline SVG QR code (``data:`` URI, allowed by the CSP), or None."""
    try:
        import segno
    except ImportError:
        return None
    return segno.make(uri, error="m").svg_data_uri(scale=4, border=2)
