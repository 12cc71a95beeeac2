"""Deployment settings, read once from ``PORTAL_*`` environment variables.

Bank limits (offers, contact rules) are policy data, not settings. What lives here is
how this deployment runs: where the database is, which secret signs sessions, where
rate-limit counters live. Development defaults need no set-up; production refuses to
start without the secrets that must not have defaults.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

DEV_SECRET = "dev-secret-key-not-for-production"


class ConfigError(RuntimeError):
    """The deployment is misconfigured; the message says which variable to set."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(instance_path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask configuration from ``env`` (default: ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    mode = env.get("PORTAL_ENV", "development").strip().lower()
    if mode not in {"development", "production", "testing"}:
        raise ConfigError(f"PORTAL_ENV must be development, production or testing, not {mode!r}")
    production = mode == "production"

    secret = env.get("PORTAL_SECRET_KEY", "")
    database_url = env.get("PORTAL_DATABASE_URL", "")
    if production:
        if len(secret) < 32 or secret == DEV_SECRET:
            raise ConfigError("PORTAL_SECRET_KEY must be set to a random value of 32+ characters in production")
        if not database_url:
            raise ConfigError("PORTAL_DATABASE_URL must be set in production")
    secret = secret or DEV_SECRET
    database_url = database_url or f"sqlite:///{instance_path / 'portal.sqlite3'}"
    # The card-number hash key is separate from the session key so that rotating one
    # does not invalidate the other; in development it is derived from the secret.
    card_key = env.get("PORTAL_CARD_HASH_KEY", "") or secret
    if production and card_key == secret:
        raise ConfigError("PORTAL_CARD_HASH_KEY must be set (and differ from the secret key) in production")

    return {
        "PORTAL_ENV": mode,
        "SECRET_KEY": secret,
        "CARD_HASH_KEY": card_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "RATELIMIT_STORAGE_URI": env.get("PORTAL_RATELIMIT_STORAGE_URL", "") or "memory://",
        "RATELIMIT_ENABLED": _bool(env.get("PORTAL_RATELIMIT_ENABLED"), True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_NAME": "portal_session",
        "CARDHOLDER_IDLE_TIMEOUT": timedelta(minutes=int(env.get("PORTAL_IDLE_MINUTES", "15"))),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "WTF_CSRF_TIME_LIMIT": None,  # the session's own idle limit bounds the token
        "WTF_CSRF_ENABLED": _bool(env.get("PORTAL_CSRF_ENABLED"), True),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parent.parent / "translations"),
        "DEV_OUTBOX_PAGE": _bool(env.get("PORTAL_DEV_OUTBOX"), not production),
        "SMS_SENDER_NAME": env.get("PORTAL_SMS_SENDER", "Card Services"),
        "BANK_NAME": env.get("PORTAL_BANK_NAME", "Example Bank"),
        "CARE_PHONE": env.get("PORTAL_CARE_PHONE", "400 000 0000"),
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    }
