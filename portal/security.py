"""Card numbers, dates of birth and one-time codes: checked, hashed with a server key, never
stored plain. And the forms' CSRF tokens, as Flask-WTF makes them (:func:`csrf_token`)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import unicodedata
import zlib
from datetime import date
from typing import Any, TypeVar

from flask import Flask
from flask.globals import _cv_app, _cv_request
from itsdangerous import Serializer, TimestampSigner, URLSafeTimedSerializer, base64_encode, want_bytes
from itsdangerous.signer import HMACAlgorithm


def normalise_digits(text: str) -> str:
    """Digits only, with full-width digits folded (people type on Chinese keyboards)."""
    folded = unicodedata.normalize("NFKC", text or "")
    return "".join(ch for ch in folded if ch not in " -\u00a0")


def luhn_valid(number: str) -> bool:
    """True when ``number`` is 12–19 ASCII digits that pass the Luhn check."""
    if not (12 <= len(number) <= 19) or not number.isascii() or not number.isdigit():
        return False
    total = 0
    for index, digit in enumerate(reversed(number)):
        value = int(digit)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# A run of digits, single spaces, no-break spaces or dashes allowed between them
# ("4111 1111 1111 1111", "4111-1111-1111-1111"); full-width digits too (\d is Unicode).
_DIGIT_RUN = re.compile(r"\d(?:[ \-\u00a0]?\d)*")
_GROUP_SEPARATOR = re.compile(r"[ \-\u00a0]")
# No card number without 13 digits in one run: most texts (every import entry's) stop here.
_LONG_ENOUGH = re.compile(r"\d(?:[ \-\u00a0]?\d){12}")


def mask_card_numbers(text: str) -> str:
    """``text`` with every card number in it masked but its last four digits:
    ``"4111 1111 1111 1111 DEMO0001"`` → ``"************1111 DEMO0001"``.

    A card number is 13–19 digits passing the Luhn check, written in one run or in
    groups. Within a longer run of groups, any consecutive groups that form one are
    masked ("4111 1111 1111 1111 2026" too); other digits (amounts, phone numbers,
    dates, account references) are left as they are.
    """
    if not text or _LONG_ENOUGH.search(text) is None:
        return text
    return _DIGIT_RUN.sub(_mask_run, text)


def _mask_run(found: re.Match[str]) -> str:
    run = found.group()
    groups = _GROUP_SEPARATOR.split(run)
    separators = _GROUP_SEPARATOR.findall(run)
    parts: list[str] = []
    start = 0
    while start < len(groups):
        longest = min(len(groups), start + 19)  # every group has a digit: 19 at most
        end = next((end for end in range(longest, start, -1) if _is_card(groups[start:end])), None)
        if end is None:
            parts.append(groups[start])
            if start < len(separators):
                parts.append(separators[start])
            start += 1
            continue
        digits = _ascii_digits("".join(groups[start:end]))
        parts.append("*" * (len(digits) - 4) + digits[-4:])
        if end - 1 < len(separators):
            parts.append(separators[end - 1])
        start = end
    return "".join(parts)


def _is_card(groups: list[str]) -> bool:
    digits = _ascii_digits("".join(groups))
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _ascii_digits(digits: str) -> str:
    return "".join(str(unicodedata.digit(ch)) for ch in digits)


def card_hash(number: str, key: str) -> str:
    """The keyed look-up hash of a full card number (HMAC-SHA-256, hex)."""
    return hmac.new(key.encode(), b"card:" + number.encode(), hashlib.sha256).hexdigest()


def birth_date_hash(born: date, key: str) -> str:
    """The keyed hash of a date of birth (HMAC-SHA-256, hex), keyed like card numbers.

    There are only some 40,000 plausible dates: a plain hash would be reversed by trying
    them all, so without the key a database copy reveals nothing about them.
    """
    return hmac.new(key.encode(), b"dob:" + born.isoformat().encode(), hashlib.sha256).hexdigest()


def birth_date_matches(stored_hash: str | None, born: date, key: str) -> bool:
    """Whether ``born`` is the date whose keyed hash is stored (constant-time compare)."""
    return hmac.compare_digest(stored_hash or "", birth_date_hash(born, key))


def code_hash(code: str, account_id: int, key: str) -> str:
    """The keyed hash of a one-time code, bound to the account it was sent for."""
    return hmac.new(key.encode(), f"otp:{account_id}:{code}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    """A uniformly random 6-digit code."""
    return f"{secrets.randbelow(1_000_000):06d}"


def mask_name(name: str) -> str:
    """``Wang Xiaoming`` → ``W*** X*******``; ``王小明`` → ``王**``."""
    parts = name.split()
    if len(parts) <= 1:
        return name[:1] + "*" * max(len(name) - 1, 0)
    return " ".join(part[:1] + "*" * (len(part) - 1) for part in parts)


_T = TypeVar("_T")
CSRF_SALT = "wtf-csrf-token"  # Flask-WTF's: the tokens below are the ones it checks


def csrf_token() -> str:
    """The request's CSRF token, as Flask-WTF's ``generate_csrf()`` makes it: the same
    token by the same rules (a random value kept in the session, signed with the secret
    key and a timestamp, and kept for the rest of the request in ``g``), so that
    ``validate_csrf`` and a form's own ``csrf_token`` field agree with it.

    Without what ``generate_csrf`` redoes on every call, most of its cost on every
    signed-out sign-in page: a serializer made anew (itsdangerous serialises once to
    learn what it makes), a zlib attempt on the payload (:class:`SmallPayloadSerializer`)
    and an HMAC through the standard library's pure-Python path (its default SHA-1 is a
    lazy wrapper, not OpenSSL's constructor; the signature is the same), found through
    eleven context proxies. The serializer is kept on the app beside the key it signs
    with, and made again when that key changes."""
    app_context = _cv_app.get()
    app, g = app_context.app, app_context.g
    field = _required(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), "A field name is required to use CSRF.")
    if field not in g:
        secret = _required(
            app.config.get("WTF_CSRF_SECRET_KEY", app.secret_key), "A secret key is required to use CSRF."
        )
        session = _cv_request.get().session
        if field not in session:
            session[field] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - Flask-WTF's random value, not a digest of anything
        serializer = _csrf_serializer(app, secret)
        try:
            token = serializer.dumps(session[field])
        except TypeError:  # a value JSON cannot hold: started afresh, as Flask-WTF does
            session[field] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - as above
            token = serializer.dumps(session[field])
        setattr(g, field, token)
    found: str = g.get(field)
    return found


def made_csrf_token() -> str | None:
    """The token :func:`csrf_token` has made for this request so far, if any (kept in ``g``
    under the form field's name). Read, not made: making one would start a session to
    hold its secret for a reader whose page shows no form."""
    request_context = _cv_request.get(None)
    if request_context is None:
        return None
    app = request_context.app
    found = _cv_app.get().g.get(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    return found if isinstance(found, str) else None


def _required(value: _T | None, message: str) -> _T:
    if value is None:
        raise RuntimeError(message)  # what Flask-WTF raises
    return value


def _csrf_serializer(app: Flask, secret: str | bytes) -> URLSafeTimedSerializer:
    """Flask-WTF's serializer (``URLSafeTimedSerializer(secret, salt=…)``), on OpenSSL's
    SHA-1 and without the zlib attempt on its 42-byte payloads."""
    kept = app.extensions.get("portal_csrf_serializer")
    if kept is None or kept[0] != secret:
        serializer = SmallPayloadSerializer(secret, salt=CSRF_SALT, signer_kwargs={"digest_method": hashlib.sha1})
        kept = app.extensions["portal_csrf_serializer"] = (secret, serializer)
    found: URLSafeTimedSerializer = kept[1]
    return found


SMALL_PAYLOAD = 96  # bytes of JSON below which a signed value is not worth compressing


class _OneShotHMAC(HMACAlgorithm):
    """itsdangerous's HMAC signature, made by OpenSSL's one-shot ``hmac.digest``: the
    same bytes, without ``hmac.new``'s Python object and its fallback for a digest
    function OpenSSL does not recognise (itsdangerous passes a function, which for
    Flask's lazy SHA-1 takes the pure-Python path)."""

    def __init__(self, name: str) -> None:
        super().__init__(getattr(hashlib, name))
        self.name = name

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hmac.digest(key, value, self.name)


_ALGORITHMS: dict[Any, _OneShotHMAC] = {}  # by digest function
_DERIVED: dict[tuple[Any, ...], bytes] = {}  # derived keys by secret, salt, derivation and digest
_DERIVED_KEPT = 64  # a deployment has a key or two per signer (and fallbacks while rotating)


class KeptKeySigner(TimestampSigner):
    """itsdangerous's timestamp signer, which derives its signing key from the secret and
    salt (a hash or an HMAC) on every signature and check: the key is derived once per
    secret, salt, derivation and digest, and the HMAC is OpenSSL's one-shot. Same
    signatures, byte for byte."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if type(self.algorithm) is HMACAlgorithm:
            digest = self.digest_method
            algorithm = _ALGORITHMS.get(digest)
            if algorithm is None:
                algorithm = _ALGORITHMS[digest] = _OneShotHMAC(digest().name)
            self.algorithm = algorithm

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        key = (secret, self.salt, self.key_derivation, self.digest_method)
        found = _DERIVED.get(key)
        if found is None:
            if len(_DERIVED) >= _DERIVED_KEPT:
                _DERIVED.clear()
            found = _DERIVED[key] = super().derive_key(secret)
        return found


class SmallPayloadSerializer(URLSafeTimedSerializer):
    """itsdangerous's URL-safe timed serializer, which zlib-compresses every payload and
    keeps the result when it is at least two bytes shorter. A small payload of mostly
    random hex (a CSRF secret, a new visitor's session: 40-60 bytes of JSON) almost never
    is (0 of 20,000 tried): zlib's header and checksum alone are six bytes, and each
    attempt costs some 12 µs (zlib sets up its state). Such a payload is written plain, a
    few bytes longer at worst; a larger one as itsdangerous writes it. Reading is
    unchanged: the loader takes either form. Used for the session cookie
    (``portal.sessions``) and the CSRF token, signed by :class:`KeptKeySigner`."""

    default_signer = KeptKeySigner

    def dump_payload(self, obj: Any) -> bytes:
        plain = Serializer.dump_payload(self, obj)
        if len(plain) >= SMALL_PAYLOAD:
            compressed = zlib.compress(plain)
            if len(compressed) < len(plain) - 1:  # as URLSafeSerializerMixin.dump_payload decides
                return b"." + base64_encode(compressed)
        return base64_encode(plain)
