"""Authenticator secrets at rest and one-time use of codes (no app needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from portal.staff import totp

NOW = datetime(2026, 11, 28, 4, 0, 10, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_secret_is_encrypted_and_needs_the_same_key():
    sealed = totp.seal(SECRET, "key one")
    assert SECRET not in sealed and sealed.startswith("f1:")
    assert totp.unseal(sealed, "key one") == SECRET
    assert totp.seal(SECRET, "key one") != sealed  # a fresh nonce each time
    with pytest.raises(ValueError, match="cannot be decrypted"):
        totp.unseal(sealed, "another key")
    with pytest.raises(ValueError, match="unknown"):
        totp.unseal(SECRET, "key one")


def test_new_secrets_are_160_bits_of_base32():
    secret = totp.new_secret()
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert totp.new_secret() != secret


def test_codes_one_step_either_side_are_accepted():
    step = totp.step_at(NOW)
    for offset in (-1, 0, 1):
        code = pyotp.TOTP(SECRET).at(NOW + timedelta(seconds=30 * offset))
        assert totp.matching_step(SECRET, code, NOW, None) == step + offset
    far = pyotp.TOTP(SECRET).at(NOW - timedelta(seconds=90))
    assert totp.matching_step(SECRET, far, NOW, None) is None


def test_a_used_step_and_earlier_ones_are_refused():
    step = totp.step_at(NOW)
    code = pyotp.TOTP(SECRET).at(NOW)
    assert totp.matching_step(SECRET, code, NOW, step) is None
    assert totp.matching_step(SECRET, code, NOW, step - 1) == step
    earlier = pyotp.TOTP(SECRET).at(NOW - timedelta(seconds=30))
    assert totp.matching_step(SECRET, earlier, NOW, step) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "１２３４５６", "12 456"])
def test_malformed_codes_never_match(code):
    assert totp.matching_step(SECRET, code, NOW, None) is None


def test_provisioning_uri_and_inline_qr():
    uri = totp.provisioning_uri(SECRET, "ada@bank.example")
    assert uri.startswith("otpauth://totp/") and f"secret={SECRET}" in uri and "ada%40bank.example" in uri
    qr = totp.qr_data_uri(uri)
    assert qr is None or qr.startswith("data:image/svg+xml")
