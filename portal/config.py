"""Deployment settings, read once from ``PORTAL_*`` environment variables.

Bank limits (offers) are policy data, not settings. What lives here is how this
deployment runs: where the database is, which secret signs sessions, where sessions and
rate-limit counters live (a shared Redis), which message channels it uses and its
market's legal contact rules.
Development defaults need no set-up; production refuses to start without the secrets
that must not have defaults.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import os
import re
from collections import Counter
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from portal.agreements.signing import SigningUnavailableError, check_p12
from portal.jurisdictions import DEFAULT_FILE, JurisdictionError, load_jurisdictions

DEV_SECRET = "dev-secret-key-not-for-production"  # noqa: S105 - intentional development-only key, never used in production


class ConfigError(RuntimeError):
    """The deployment is misconfigured; the message says which variable to set."""


def _earlier_certificates(path: str) -> str:
    """``PORTAL_SIGNING_EARLIER_CERTS``: a PEM file of the certificates the bank signed
    agreements with before its current key. Checked here, so that a wrong path or file
    stops the portal at start-up instead of making genuine old agreements look forged."""
    if not path:
        return ""
    from cryptography.x509 import load_pem_x509_certificates

    try:
        load_pem_x509_certificates(Path(path).read_bytes())
    except (OSError, ValueError) as problem:
        raise ConfigError(f"PORTAL_SIGNING_EARLIER_CERTS must name a PEM file of certificates: {problem}") from None
    return path


def _readable_signing_key(path: str, password: str) -> None:
    """Open the PKCS#12 signing key now: a file that cannot be read or opened would
    otherwise leave every agreement pending, found only when the first one is signed."""
    try:
        check_p12(path, password)
    except SigningUnavailableError as problem:
        raise ConfigError(str(problem)) from None


def _audit_key(env: dict[str, str], production: bool, secret: str, card_key: str) -> str:
    """``PORTAL_AUDIT_KEY``: the HMAC key of the audit chain. It lives outside the
    database so that someone who can only write rows cannot re-hash a changed chain.
    Required in production and distinct from the other keys; development derives one."""
    key = env.get("PORTAL_AUDIT_KEY", "")
    if production and (len(key) < 32 or key in {secret, card_key}):
        raise ConfigError(
            "PORTAL_AUDIT_KEY must be set to a random value of 32+ characters in production, "
            "distinct from PORTAL_SECRET_KEY and PORTAL_CARD_HASH_KEY"
        )
    if production:
        _strong_key("PORTAL_AUDIT_KEY", key)
    return key or hmac.new(secret.encode(), b"portal-audit-chain", hashlib.sha256).hexdigest()


def _clock_time(name: str, value: str) -> time:
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a time of day like 08:00, not {value!r}") from None


def _positive_int(name: str, value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)


def _approval_service_days(value: str) -> int:
    """``PORTAL_APPROVAL_SERVICE_DAYS``: business days (Monday to Friday, see
    ``portal.domain.business_time``) a request may wait for a supervisor before the
    approvals page marks it late. Default 1; at most 20 (four weeks)."""
    days = _positive_int("PORTAL_APPROVAL_SERVICE_DAYS", value or "1")
    if days > 20:
        raise ConfigError(f"PORTAL_APPROVAL_SERVICE_DAYS must be at most 20 business days, not {value!r}")
    return days


def _messaging(env: dict[str, str], production: bool) -> dict[str, Any]:
    """Message channels and contact rules (see portal/notifications and RULES.md).

    The contact window defaults to the stricter of the US rule (08:00-21:00, FDCPA) and
    the Chinese one (nothing 22:00-08:00); caps default to Regulation F's 7 in 7 days and
    3 a day (under the Chinese guidance's 6 attempts a day).
    """
    smtp_host = env.get("PORTAL_SMTP_HOST", "").strip()
    sms_url = env.get("PORTAL_SMS_URL", "").strip()
    # Production never falls back to the development channel silently: without a channel
    # configured there, messages fail visibly ("channel not configured").
    live = production or smtp_host or sms_url
    backend = env.get("PORTAL_MESSAGE_BACKEND", "").strip().lower() or ("live" if live else "dev")
    if backend not in {"dev", "live"}:
        raise ConfigError(f"PORTAL_MESSAGE_BACKEND must be dev or live, not {backend!r}")
    if production and backend == "live":
        if sms_url and not env.get("PORTAL_SMS_KEY"):
            raise ConfigError("PORTAL_SMS_KEY must be set when PORTAL_SMS_URL is set in production")
        if smtp_host and not env.get("PORTAL_SMTP_FROM"):
            raise ConfigError("PORTAL_SMTP_FROM must be set when PORTAL_SMTP_HOST is set in production")
        if (sms_url or smtp_host) and not env.get("PORTAL_PUBLIC_URL", "").startswith("https://"):
            raise ConfigError("PORTAL_PUBLIC_URL must be the portal's https:// address (links in messages use it)")
    smtp_tls = _smtp_tls(env)
    start = _clock_time("PORTAL_CONTACT_START", env.get("PORTAL_CONTACT_START", "") or "08:00")
    end = _clock_time("PORTAL_CONTACT_END", env.get("PORTAL_CONTACT_END", "") or "21:00")
    if not start < end:
        raise ConfigError("PORTAL_CONTACT_START must be earlier than PORTAL_CONTACT_END")
    return {
        "MESSAGE_BACKEND": backend,
        "PUBLIC_URL": (env.get("PORTAL_PUBLIC_URL", "") or "http://localhost:5000").rstrip("/"),
        "SMTP_HOST": smtp_host,
        "SMTP_PORT": _positive_int(
            "PORTAL_SMTP_PORT", env.get("PORTAL_SMTP_PORT", "") or ("465" if smtp_tls == "implicit" else "587")
        ),
        "SMTP_USER": env.get("PORTAL_SMTP_USER", ""),
        "SMTP_PASSWORD": env.get("PORTAL_SMTP_PASSWORD", ""),
        "SMTP_TLS": smtp_tls,
        "SMTP_CA_FILE": _ca_file(env.get("PORTAL_SMTP_CA_FILE", "").strip()),
        "SMTP_FROM": env.get("PORTAL_SMTP_FROM", "") or "cards@example.com",
        "SMS_URL": sms_url,
        "SMS_KEY": env.get("PORTAL_SMS_KEY", ""),
        # The key the provider sends with inbound texts and delivery reports.
        "SMS_INBOUND_KEY": env.get("PORTAL_SMS_INBOUND_KEY", "") or env.get("PORTAL_SMS_KEY", ""),
        "CONTACT_START": start,
        "CONTACT_END": end,
        "CONTACT_WEEKLY_CAP": _positive_int("PORTAL_CONTACT_WEEKLY_CAP", env.get("PORTAL_CONTACT_WEEKLY_CAP") or "7"),
        "CONTACT_DAILY_CAP": _positive_int("PORTAL_CONTACT_DAILY_CAP", env.get("PORTAL_CONTACT_DAILY_CAP") or "3"),
        # Unanswered phone calls to one cardholder per local day (China: at most 6).
        "CONTACT_DAILY_CALL_CAP": _positive_int(
            "PORTAL_CONTACT_DAILY_CALL_CAP", env.get("PORTAL_CONTACT_DAILY_CALL_CAP") or "6"
        ),
        # How long "next case" holds a case for the agent who drew it, and how long a
        # case just called rests before "next case" offers it again.
        "CARE_LEASE_MINUTES": _positive_int("PORTAL_CARE_LEASE_MINUTES", env.get("PORTAL_CARE_LEASE_MINUTES") or "30"),
        "CARE_REST_HOURS": _positive_int("PORTAL_CARE_REST_HOURS", env.get("PORTAL_CARE_REST_HOURS") or "4"),
    }


SMTP_TLS_MODES = ("starttls", "implicit", "off")


def _ca_file(path: str) -> str:
    """``PORTAL_SMTP_CA_FILE``, checked now: a wrong file found only at send time would
    look like a passing network fault and retry every e-mail until it gives up."""
    if path:
        import ssl

        try:
            ssl.create_default_context(cafile=path)
        except (OSError, ssl.SSLError) as problem:
            raise ConfigError(f"PORTAL_SMTP_CA_FILE must name a PEM file of CA certificates: {problem}") from None
    return path


def _smtp_tls(env: dict[str, str]) -> str:
    """``PORTAL_SMTP_TLS``: starttls (port 587, the default), implicit (TLS from the first
    byte, port 465) or off. Port 465 alone means implicit; ``PORTAL_SMTP_STARTTLS=off``
    (the older setting) means off."""
    mode = env.get("PORTAL_SMTP_TLS", "").strip().lower()
    if not mode:
        if env.get("PORTAL_SMTP_PORT", "").strip() == "465":
            mode = "implicit"
        else:
            mode = "starttls" if _bool(env.get("PORTAL_SMTP_STARTTLS"), True) else "off"
    if mode not in SMTP_TLS_MODES:
        raise ConfigError(f"PORTAL_SMTP_TLS must be one of {', '.join(SMTP_TLS_MODES)}, not {mode!r}")
    return mode


MIN_KEY_LENGTH = 32
MIN_KEY_BITS = 80
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
MIN_WEBHOOK_SECRET_BYTES = 24


def _core_webhook(env: dict[str, str], production: bool) -> dict[str, str]:
    """``PORTAL_CORE_WEBHOOK_URL`` and ``PORTAL_CORE_WEBHOOK_SECRET``: where plan events go
    as signed webhooks (Standard Webhooks), and the shared secret, ``whsec_`` + base64 of
    24 to 64 random bytes. No URL: events are only recorded (and exported as a daily file).
    Checked now, so a mistyped secret stops the portal instead of every delivery failing."""
    import base64
    import binascii

    url = env.get("PORTAL_CORE_WEBHOOK_URL", "").strip()
    secret = env.get("PORTAL_CORE_WEBHOOK_SECRET", "").strip()
    if not url:
        return {"CORE_WEBHOOK_URL": "", "CORE_WEBHOOK_SECRET": secret}
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or len(url) > 254:
        raise ConfigError(f"PORTAL_CORE_WEBHOOK_URL must be an http(s) address of at most 254 characters, not {url!r}")
    if production and parts.scheme != "https":
        raise ConfigError("PORTAL_CORE_WEBHOOK_URL must be an https:// address in production")
    try:
        key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not secret.startswith(WEBHOOK_SECRET_PREFIX) or not MIN_WEBHOOK_SECRET_BYTES <= len(key) <= 64:
        raise ConfigError(
            "PORTAL_CORE_WEBHOOK_SECRET must be set when PORTAL_CORE_WEBHOOK_URL is: whsec_ followed by the base64 "
            "of 24 to 64 random bytes; make one with: python -c 'import base64, secrets; "
            'print("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())\''
        )
    return {"CORE_WEBHOOK_URL": url, "CORE_WEBHOOK_SECRET": secret}


def estimated_bits(key: str) -> float:
    """A rough entropy estimate: length × Shannon entropy of the key's own characters.

    It cannot prove a key random, but it catches the usual mistakes: ``aaaa…``, a word
    typed several times, a short alphabet. 32 random hex digits score at least ~88.
    """
    if not key:
        return 0.0
    counts = Counter(key)
    return -len(key) * sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())


def _strong_key(name: str, key: str) -> None:
    """Refuse a production key that is short, low in entropy or a repeated pattern."""
    repeated = key in (key + key)[1:-1]
    if len(key) < MIN_KEY_LENGTH or estimated_bits(key) < MIN_KEY_BITS or repeated or key == DEV_SECRET:
        raise ConfigError(
            f"{name} must be a random value of {MIN_KEY_LENGTH}+ characters in production (this one is too short "
            "or too predictable); make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}  # noqa: S104 - a list of hosts to refuse


def _public_url(url: str) -> None:
    """Links in messages and agreements must reach the cardholder, safely: https, a real host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or host in _LOCAL_HOSTS or host.startswith("127.") or host.endswith(".localhost"):
        raise ConfigError(
            "PORTAL_PUBLIC_URL must be the portal's public https:// address in production "
            f"(links in messages and agreements use it), not {url!r}"
        )


def _production_switches(env: dict[str, str]) -> None:
    """Development conveniences that production refuses outright instead of obeying."""
    if _bool(env.get("PORTAL_DEV_OUTBOX"), False):
        raise ConfigError("PORTAL_DEV_OUTBOX must not be on in production: the page shows every message sent")
    if not _bool(env.get("PORTAL_CSRF_ENABLED"), True):
        raise ConfigError("PORTAL_CSRF_ENABLED must not be off in production")
    if not _bool(env.get("PORTAL_RATELIMIT_ENABLED"), True):
        raise ConfigError("PORTAL_RATELIMIT_ENABLED must not be off in production")


def _trusted_proxies(value: str) -> int:
    """``PORTAL_TRUSTED_PROXIES``: how many reverse proxies in front of the portal append
    to ``X-Forwarded-For``/``-Proto``. 0 (the default) trusts no such header."""
    value = value.strip() or "0"
    if not value.isdigit() or int(value) > 10:
        raise ConfigError(f"PORTAL_TRUSTED_PROXIES must be a whole number from 0 to 10, not {value!r}")
    return int(value)


def _jurisdictions(env: dict[str, str]) -> dict[str, Any]:
    """Per-jurisdiction regulator, rules, phones and debt advice (``portal.jurisdictions``),
    from ``PORTAL_JURISDICTIONS_FILE`` or the shipped defaults for CN and HK."""
    if env.get("PORTAL_CARE_PHONE", "").strip():
        raise ConfigError(
            "PORTAL_CARE_PHONE is no longer read: set care_phone per jurisdiction in PORTAL_JURISDICTIONS_FILE"
        )
    path = env.get("PORTAL_JURISDICTIONS_FILE", "").strip()
    try:
        known = load_jurisdictions(Path(path) if path else DEFAULT_FILE)
    except JurisdictionError as problem:
        raise ConfigError(f"PORTAL_JURISDICTIONS_FILE: {problem}") from None
    default = env.get("PORTAL_DEFAULT_JURISDICTION", "").strip().upper() or next(iter(known))
    if default not in known:
        raise ConfigError(f"PORTAL_DEFAULT_JURISDICTION must be one of {', '.join(known)}, not {default!r}")
    return {"JURISDICTIONS": known, "DEFAULT_JURISDICTION": default, "CARE_PHONE": known[default].care_phone}


API_SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of a Standard Webhooks secret, not a secret
API_SECRET_BYTES = (24, 64)  # what the Standard Webhooks specification asks of a secret


def _api_secrets(value: str) -> tuple[str, ...]:
    """``PORTAL_API_SECRET``: the core banking system's signing secrets, ``whsec_`` and
    base64 of 24 to 64 random bytes (Standard Webhooks), separated by spaces. Several are
    accepted at once so a secret can be rotated without refusing a request; unset, the
    API answers 503 to every signed call."""
    secrets_: list[str] = []
    for secret in value.split():
        raw = secret.removeprefix(API_SECRET_PREFIX)
        try:
            key = base64.b64decode(raw, validate=True) if secret.startswith(API_SECRET_PREFIX) else b""
        except binascii.Error:
            key = b""
        if not API_SECRET_BYTES[0] <= len(key) <= API_SECRET_BYTES[1]:
            raise ConfigError(
                "PORTAL_API_SECRET must be one or more secrets separated by spaces, each whsec_ followed by the "
                "base64 of 24 to 64 random bytes; make one with: python -c 'import base64, secrets; "
                'print("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())\''
            )
        secrets_.append(secret)
    return tuple(secrets_)


def _rate_limit(name: str, value: str) -> str:
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must be a rate limit like '1200 per minute', not {value!r}") from None
    return value


def _shared_state(env: dict[str, str], production: bool) -> dict[str, Any]:
    """``PORTAL_REDIS_URL``: the Redis every node shares (``redis://``, ``rediss://`` or
    ``unix://``). When set, server-side sessions, one-time-code attempt counters and rate
    limits live there, so they hold across nodes and workers (``portal.redis_store``);
    unset, sessions and counters live in the database and rate limits in each process.

    ``PORTAL_RATELIMIT_STORAGE_URL`` still chooses the rate-limit storage on its own
    (any ``limits`` storage URL). Production refuses to count rate limits in process
    memory by default (each gunicorn worker would count on its own, multiplying every
    limit): it takes them from ``PORTAL_REDIS_URL``, or from an explicit
    ``PORTAL_RATELIMIT_STORAGE_URL=memory://`` for a one-worker installation, but never
    memory beside a shared Redis, which says the portal runs on several nodes."""
    from redis.connection import parse_url

    from portal.redis_store import TIMEOUT

    url = env.get("PORTAL_REDIS_URL", "").strip()
    if url:
        try:
            parse_url(url)
        except ValueError as problem:
            raise ConfigError(f"PORTAL_REDIS_URL must be a redis://, rediss:// or unix:// URL: {problem}") from None
    explicit = env.get("PORTAL_RATELIMIT_STORAGE_URL", "").strip()
    if production and not explicit and not url:
        raise ConfigError(
            "PORTAL_REDIS_URL must be set in production (rate limits, sessions and code attempts shared by every "
            "worker and node), or PORTAL_RATELIMIT_STORAGE_URL=memory:// for a single worker on a single machine"
        )
    if production and url and explicit.startswith("memory://"):
        raise ConfigError(
            "PORTAL_RATELIMIT_STORAGE_URL must not be memory:// when PORTAL_REDIS_URL is set: every node and "
            "worker would count its own limits"
        )
    # The limits library names a Redis socket redis+unix://.
    shared = "redis+unix://" + url.removeprefix("unix://") if url.startswith("unix://") else url
    storage = explicit or shared or "memory://"
    # A Redis that stops answering fails a request in seconds instead of holding a worker.
    timeouts = {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT} if storage.startswith("redis") else {}
    return {"REDIS_URL": url, "RATELIMIT_STORAGE_URI": storage, "RATELIMIT_STORAGE_OPTIONS": timeouts}


def _replica_url(value: str, primary: str) -> str:
    """``PORTAL_DATABASE_REPLICA_URL``: a read replica for report reads (``portal.replica``);
    unset, reports read from the primary. A URL SQLAlchemy cannot read stops the start."""
    value = value.strip()
    if not value:
        return ""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url, main = make_url(value), make_url(primary)
    except ArgumentError:
        raise ConfigError("PORTAL_DATABASE_REPLICA_URL must be a database URL like the primary's") from None
    if url.get_backend_name() != main.get_backend_name():
        raise ConfigError("PORTAL_DATABASE_REPLICA_URL must name a database of the same kind as PORTAL_DATABASE_URL")
    return value


AGREEMENT_STORES = ("database", "s3")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _agreement_store(env: dict[str, str], production: bool) -> dict[str, str]:
    """Where signed agreement PDFs are kept (``portal.integrations.storage``):
    ``PORTAL_AGREEMENT_STORE`` ``database`` (the default) or ``s3``, with the bucket,
    an optional endpoint for S3-compatible servers, region, key prefix and keys
    (without keys, boto3 finds credentials as AWS tools do: an instance role, AWS_*).
    Checked now, so a mistyped bucket or endpoint stops the portal instead of leaving
    every new agreement pending."""
    store = env.get("PORTAL_AGREEMENT_STORE", "").strip().lower() or "database"
    if store not in AGREEMENT_STORES:
        raise ConfigError(f"PORTAL_AGREEMENT_STORE must be one of {', '.join(AGREEMENT_STORES)}, not {store!r}")
    bucket = env.get("PORTAL_S3_BUCKET", "").strip()
    endpoint = env.get("PORTAL_S3_ENDPOINT_URL", "").strip().rstrip("/")
    prefix = env.get("PORTAL_S3_PREFIX", "").strip() or "agreements/"
    key_id = env.get("PORTAL_S3_ACCESS_KEY_ID", "").strip()
    secret = env.get("PORTAL_S3_SECRET_ACCESS_KEY", "").strip()
    if store == "s3" and not bucket:
        raise ConfigError("PORTAL_S3_BUCKET must be set when PORTAL_AGREEMENT_STORE is s3")
    if bucket and (not _BUCKET.fullmatch(bucket) or ".." in bucket):
        raise ConfigError(f"PORTAL_S3_BUCKET must be an S3 bucket name (3-63 of a-z 0-9 . -), not {bucket!r}")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError(f"PORTAL_S3_ENDPOINT_URL must be an http(s) address, not {endpoint!r}")
        if production and parts.scheme != "https":
            raise ConfigError("PORTAL_S3_ENDPOINT_URL must be an https:// address in production")
    if bool(key_id) != bool(secret):
        raise ConfigError("PORTAL_S3_ACCESS_KEY_ID and PORTAL_S3_SECRET_ACCESS_KEY must be set together (or neither)")
    if len(prefix) > 100 or prefix.startswith("/") or any(ord(ch) < 32 for ch in prefix):
        raise ConfigError(f"PORTAL_S3_PREFIX must be a relative key prefix of at most 100 characters, not {prefix!r}")
    return {
        "AGREEMENT_STORE": store,
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": env.get("PORTAL_S3_REGION", "").strip(),
        "S3_PREFIX": prefix,
        "S3_ACCESS_KEY_ID": key_id,
        "S3_SECRET_ACCESS_KEY": secret,
    }


def _switch(name: str, value: str | None, default: bool) -> bool:
    """An on/off setting, refused unless it says clearly which (a typo must not pass as off)."""
    text = (value or "").strip().lower()
    if not text:
        return default
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


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
        _strong_key("PORTAL_SECRET_KEY", secret)
        if not database_url:
            raise ConfigError("PORTAL_DATABASE_URL must be set in production")
        _production_switches(env)
    secret = secret or DEV_SECRET
    database_url = database_url or f"sqlite:///{instance_path / 'portal.sqlite3'}"
    # The card-number hash key is separate from the session key so that rotating one
    # does not invalidate the other; in development it is derived from the secret.
    card_key = env.get("PORTAL_CARD_HASH_KEY", "") or secret
    if production and card_key == secret:
        raise ConfigError("PORTAL_CARD_HASH_KEY must be set (and differ from the secret key) in production")
    if production:
        _strong_key("PORTAL_CARD_HASH_KEY", card_key)
    # The bank's agreement-signing key; development generates one under instance/ instead.
    signing_p12 = env.get("PORTAL_SIGNING_P12", "").strip()
    if production and not signing_p12:
        raise ConfigError("PORTAL_SIGNING_P12 must name the bank's PKCS#12 signing key file in production")
    if production:
        _readable_signing_key(signing_p12, env.get("PORTAL_SIGNING_P12_PASSWORD", ""))
    earlier_certs = _earlier_certificates(env.get("PORTAL_SIGNING_EARLIER_CERTS", "").strip())
    audit_key = _audit_key(env, production, secret, card_key)

    messaging = _messaging(env, production)
    if production:
        _public_url(messaging["PUBLIC_URL"])

    return {
        **messaging,
        **_core_webhook(env, production),
        **_jurisdictions(env),
        **_agreement_store(env, production),
        # The bank's own web address, named in the scam guide as the only place the portal
        # asks for a card number and birth date.
        "BANK_WEB_ADDRESS": (env.get("PORTAL_BANK_WEB_ADDRESS", "") or messaging["PUBLIC_URL"]).rstrip("/"),
        "PORTAL_ENV": mode,
        "SECRET_KEY": secret,
        "CARD_HASH_KEY": card_key,
        "AUDIT_KEY": audit_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "DATABASE_REPLICA_URL": _replica_url(env.get("PORTAL_DATABASE_REPLICA_URL", ""), database_url),
        # hide_parameters: a failed statement's error (and so the error log) never carries
        # its bound values: card hashes, dates of birth, names searched for. No
        # pool_pre_ping: portal.connections checks a pooled connection without a round trip.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        "TRUSTED_PROXIES": _trusted_proxies(env.get("PORTAL_TRUSTED_PROXIES", "")),
        **_shared_state(env, production),
        "RATELIMIT_ENABLED": _bool(env.get("PORTAL_RATELIMIT_ENABLED"), True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_NAME": "portal_session",
        # A signed-in cookie is written when the session changes (sign-in, a new form
        # token, a message), not re-signed and re-sent on every request: it keeps the
        # expiry it was given, the absolute lifetime, which the server enforces anyway.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "CARDHOLDER_IDLE_TIMEOUT": timedelta(minutes=int(env.get("PORTAL_IDLE_MINUTES", "15"))),
        "STAFF_IDLE_TIMEOUT": timedelta(minutes=int(env.get("PORTAL_STAFF_IDLE_MINUTES", "30"))),
        # The absolute lifetime of a signed-in session, however busy (portal.sessions).
        "PERMANENT_SESSION_LIFETIME": timedelta(
            hours=_positive_int("PORTAL_SESSION_HOURS", env.get("PORTAL_SESSION_HOURS") or "8")
        ),
        "WTF_CSRF_TIME_LIMIT": None,  # the session's own idle limit bounds the token
        "WTF_CSRF_ENABLED": _bool(env.get("PORTAL_CSRF_ENABLED"), True),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parent.parent / "translations"),
        "DEV_OUTBOX_PAGE": _bool(env.get("PORTAL_DEV_OUTBOX"), not production),
        "SMS_SENDER_NAME": env.get("PORTAL_SMS_SENDER", "Card Services"),
        "BANK_NAME": env.get("PORTAL_BANK_NAME", "Example Bank"),
        # Where cardholders send payments; shown on the plan confirmation page.
        "PAYMENT_ACCOUNT_NAME": env.get("PORTAL_PAYMENT_ACCOUNT_NAME", "Example Bank Card Repayments"),
        "PAYMENT_ACCOUNT_NUMBER": env.get("PORTAL_PAYMENT_ACCOUNT_NUMBER", "6222 0000 0000 0000 888"),
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Compress responses (brotli, gzip; portal.compression). Off behind a proxy that does it.
        "COMPRESS": _switch("PORTAL_COMPRESS", env.get("PORTAL_COMPRESS"), True),
        # How long a worker trusts what it knows about the active policy versions before it
        # asks the database again: a version approved on another worker or node is seen
        # within this many seconds (portal.policies.cache).
        "POLICY_CACHE_SECONDS": _positive_int(
            "PORTAL_POLICY_CACHE_SECONDS", env.get("PORTAL_POLICY_CACHE_SECONDS") or "5"
        ),
        "APPROVAL_SERVICE_DAYS": _approval_service_days(env.get("PORTAL_APPROVAL_SERVICE_DAYS", "").strip()),
        "SIGNING_P12": signing_p12,
        "SIGNING_P12_PASSWORD": env.get("PORTAL_SIGNING_P12_PASSWORD", ""),
        "TSA_URL": env.get("PORTAL_TSA_URL", "").strip(),
        "SIGNING_EARLIER_CERTS": earlier_certs,
        # The core banking system's API (portal.api): its signing secrets and its rate limit.
        "API_SECRETS": _api_secrets(env.get("PORTAL_API_SECRET", "")),
        # The scheduler's times (portal.scheduler.jobs), in UTC.
        "SCHEDULER_SERVICING_AT": _clock_time(
            "PORTAL_SCHEDULER_SERVICING_AT", env.get("PORTAL_SCHEDULER_SERVICING_AT", "") or "00:30"
        ),
        "SCHEDULER_SEAL_MINUTES": _positive_int(
            "PORTAL_SCHEDULER_SEAL_MINUTES", env.get("PORTAL_SCHEDULER_SEAL_MINUTES") or "1"
        ),
        "SCHEDULER_PRUNE_MINUTES": _positive_int(
            "PORTAL_SCHEDULER_PRUNE_MINUTES", env.get("PORTAL_SCHEDULER_PRUNE_MINUTES") or "60"
        ),
        # How long questions asked in the answers box are kept (portal.answers; pruned by
        # ``flask portal answers prune``): long enough to see which questions keep coming.
        "QUESTION_RETENTION_DAYS": _positive_int(
            "PORTAL_QUESTION_RETENTION_DAYS", env.get("PORTAL_QUESTION_RETENTION_DAYS") or "180"
        ),
        "API_RATE_LIMIT": _rate_limit(
            "PORTAL_API_RATE_LIMIT", env.get("PORTAL_API_RATE_LIMIT", "").strip() or "1200 per minute"
        ),
    }
