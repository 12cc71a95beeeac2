from __future__ import annotations

from pathlib import Path

import pytest

from portal.config import ConfigError, load_config


def test_development_defaults_need_nothing(tmp_path: Path):
    config = load_config(tmp_path, {})
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["SESSION_COOKIE_SECURE"] is False


def test_production_refuses_to_start_without_secrets(tmp_path: Path):
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY"):
        load_config(tmp_path, {"PORTAL_ENV": "production", "PORTAL_DATABASE_URL": "postgresql://x/y"})
    with pytest.raises(ConfigError, match="PORTAL_DATABASE_URL"):
        load_config(tmp_path, {"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": "x" * 40})
    with pytest.raises(ConfigError, match="PORTAL_CARD_HASH_KEY"):
        load_config(tmp_path, {"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": "x" * 40,
                               "PORTAL_DATABASE_URL": "postgresql://x/y"})
    from tests.unit.test_config_signing import write_p12

    write_p12(tmp_path / "bank-signing.p12", b"pass")
    config = load_config(tmp_path, {"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": "x" * 40,
                                    "PORTAL_CARD_HASH_KEY": "y" * 40, "PORTAL_DATABASE_URL": "postgresql://x/y",
                                    "PORTAL_SIGNING_P12": str(tmp_path / "bank-signing.p12"),
                                    "PORTAL_SIGNING_P12_PASSWORD": "pass", "PORTAL_AUDIT_KEY": "z" * 40,
                                    "PORTAL_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0"})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


def test_unknown_mode_is_refused(tmp_path: Path):
    with pytest.raises(ConfigError):
        load_config(tmp_path, {"PORTAL_ENV": "staging"})


def test_production_needs_its_own_audit_key(tmp_path: Path):
    from tests.unit.test_config_signing import PRODUCTION, write_p12

    write_p12(tmp_path / "bank.p12", b"pass")
    settings = {**PRODUCTION, "PORTAL_SIGNING_P12": str(tmp_path / "bank.p12"), "PORTAL_SIGNING_P12_PASSWORD": "pass"}
    for key in (None, "short", "x" * 40, "y" * 40):  # missing, weak, the secret key, the card key
        env = {k: v for k, v in settings.items() if k != "PORTAL_AUDIT_KEY"}
        if key is not None:
            env["PORTAL_AUDIT_KEY"] = key
        with pytest.raises(ConfigError, match="PORTAL_AUDIT_KEY"):
            load_config(tmp_path, env)
    assert load_config(tmp_path, settings)["AUDIT_KEY"] == "z" * 40


def test_development_derives_an_audit_key_from_the_secret(tmp_path: Path):
    one, other = load_config(tmp_path, {}), load_config(tmp_path, {"PORTAL_SECRET_KEY": "another secret"})
    assert one["AUDIT_KEY"] and one["AUDIT_KEY"] != other["AUDIT_KEY"]
    assert one["AUDIT_KEY"] not in (one["SECRET_KEY"], one["CARD_HASH_KEY"])
