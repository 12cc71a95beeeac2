"""The agreement-signing settings: a PKCS#12 key is required in production."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import NameOID

from portal.agreements.signing import SigningUnavailableError, _load_p12
from portal.config import ConfigError, load_config

PRODUCTION = {
    "PORTAL_ENV": "production",
    "PORTAL_SECRET_KEY": "kQ3v9XbT7mW2pL8rZ5nY1cH6fJ4sD0gA-uE_oI",
    "PORTAL_CARD_HASH_KEY": "Rt5Gh8Kp2Lq9Wz3Xc7Vb1Nm4Js6Df0Ae-Yu_Io",
    "PORTAL_DATABASE_URL": "postgresql://x/y",
    "PORTAL_REDIS_URL": "redis://redis:6379/0",
    "PORTAL_PUBLIC_URL": "https://cards.bank.example",
    "PORTAL_AUDIT_KEY": "Pz8Wq1Lm5Nx7Rt3Yk9Vb2Hc6Jd4Sg0Fa-Ue_Io",
}


def test_production_refuses_to_start_without_a_signing_key(tmp_path: Path):
    with pytest.raises(ConfigError, match="PORTAL_SIGNING_P12"):
        load_config(tmp_path, PRODUCTION)


def test_production_reads_the_signing_settings(tmp_path: Path):
    write_p12(tmp_path / "bank.p12", b"s3cret")
    config = load_config(
        tmp_path,
        {
            **PRODUCTION,
            "PORTAL_SIGNING_P12": str(tmp_path / "bank.p12"),
            "PORTAL_SIGNING_P12_PASSWORD": "s3cret",
            "PORTAL_TSA_URL": "http://tsa.example/",
        },
    )
    assert config["SIGNING_P12"] == str(tmp_path / "bank.p12")
    assert config["SIGNING_P12_PASSWORD"] == "s3cret"
    assert config["TSA_URL"] == "http://tsa.example/"


@pytest.mark.parametrize("password", ["wrong", None])
def test_production_refuses_to_start_with_an_unreadable_signing_key(tmp_path: Path, password: str | None):
    # Starting anyway would leave every agreement pending until someone read the logs.
    path = tmp_path / "bank.p12"
    if password is not None:
        write_p12(path, b"right")
    with pytest.raises(ConfigError, match="PORTAL_SIGNING_P12") as refused:
        load_config(tmp_path, {**PRODUCTION, "PORTAL_SIGNING_P12": str(path), "PORTAL_SIGNING_P12_PASSWORD": "wrong"})
    assert "wrong" not in str(refused.value)


def test_development_needs_no_signing_settings(tmp_path: Path):
    config = load_config(tmp_path, {})
    assert config["SIGNING_P12"] == "" and config["SIGNING_P12_PASSWORD"] == "" and config["TSA_URL"] == ""


def write_p12(path: Path, password: bytes) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Bank")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"bank", key, cert, None, BestAvailableEncryption(password)))


def test_a_pkcs12_file_loads_with_its_passphrase(tmp_path: Path):
    path = tmp_path / "bank.p12"
    write_p12(path, b"correct horse")
    key = _load_p12(str(path), "correct horse")
    assert key.source == "pkcs12" and "Example Bank" in key.subject
    with pytest.raises(SigningUnavailableError, match="PORTAL_SIGNING_P12_PASSWORD") as wrong:
        _load_p12(str(path), "wrong")
    assert "wrong" not in str(wrong.value)
    with pytest.raises(SigningUnavailableError, match="PORTAL_SIGNING_P12"):
        _load_p12(str(tmp_path / "missing.p12"), "")
