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
    config = load_config(tmp_path, {"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": "x" * 40,
                                    "PORTAL_CARD_HASH_KEY": "y" * 40, "PORTAL_DATABASE_URL": "postgresql://x/y",
                                    "PORTAL_SIGNING_P12": "/run/secrets/bank-signing.p12",
                                    "PORTAL_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0"})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


def test_unknown_mode_is_refused(tmp_path: Path):
    with pytest.raises(ConfigError):
        load_config(tmp_path, {"PORTAL_ENV": "staging"})
