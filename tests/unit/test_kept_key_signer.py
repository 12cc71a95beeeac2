"""``portal.security.KeptKeySigner`` signs exactly as itsdangerous's own timestamp signer
does, for every key derivation and digest, and checks what that signer signed."""

from __future__ import annotations

import hashlib

import pytest
from flask.sessions import _lazy_sha1
from itsdangerous import BadSignature, TimestampSigner

from portal.security import KeptKeySigner


@pytest.mark.parametrize("derivation", ["concat", "django-concat", "hmac", "none"])
@pytest.mark.parametrize("digest", [hashlib.sha1, hashlib.sha256, _lazy_sha1])
@pytest.mark.parametrize("secret", ["s3cret", b"another key", ["old key", "new key"]])
def test_the_same_signatures_as_itsdangerous(derivation, digest, secret, monkeypatch) -> None:
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_764_590_400)
    for salt in ("wtf-csrf-token", b"cookie-session"):
        ours = KeptKeySigner(secret, salt=salt, key_derivation=derivation, digest_method=digest)
        theirs = TimestampSigner(secret, salt=salt, key_derivation=derivation, digest_method=digest)
        for _ in range(2):  # the key derived, then kept
            for value in (b"", b"payload", "\u4f60\u597d".encode()):
                assert ours.sign(value) == theirs.sign(value)
                assert ours.unsign(theirs.sign(value)) == value
                with pytest.raises(BadSignature):
                    ours.unsign(b"x" + theirs.sign(value))  # another value, the same signature


def test_a_key_is_derived_per_secret_and_salt() -> None:
    first = KeptKeySigner("one", salt="a")
    assert first.derive_key() != KeptKeySigner("two", salt="a").derive_key()
    assert first.derive_key() != KeptKeySigner("one", salt="b").derive_key()
    assert first.derive_key() == TimestampSigner("one", salt="a").derive_key()
