from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import pytest

from portal.config import DEV_SECRET, MIN_KEY_BITS, ConfigError, estimated_bits, load_config


def test_development_defaults_need_nothing(tmp_path: Path):
    config = load_config(tmp_path, {})
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["SESSION_COOKIE_SECURE"] is False


SECRET = secrets.token_hex(16)  # the shortest random key production must accept
CARD_KEY = secrets.token_urlsafe(32)
PRODUCTION = {
    "PORTAL_ENV": "production",
    "PORTAL_SECRET_KEY": SECRET,
    "PORTAL_CARD_HASH_KEY": CARD_KEY,
    "PORTAL_DATABASE_URL": "postgresql://x/y",
    "PORTAL_REDIS_URL": "redis://redis:6379/0",
    "PORTAL_SIGNING_P12": "/run/secrets/bank-signing.p12",
    "PORTAL_PUBLIC_URL": "https://cards.bank.example",
    "PORTAL_AUDIT_KEY": secrets.token_urlsafe(32),
}


@pytest.fixture(autouse=True, scope="module")
def _readable_signing_key(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Production refuses an unreadable signing key, so PRODUCTION names a real one."""
    from tests.unit.test_config_signing import write_p12

    path = tmp_path_factory.mktemp("signing") / "bank-signing.p12"
    write_p12(path, b"pass")
    PRODUCTION.update({"PORTAL_SIGNING_P12": str(path), "PORTAL_SIGNING_P12_PASSWORD": "pass"})


def test_production_refuses_to_start_without_secrets(tmp_path: Path):
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY"):
        load_config(tmp_path, {"PORTAL_ENV": "production", "PORTAL_DATABASE_URL": "postgresql://x/y"})
    with pytest.raises(ConfigError, match="PORTAL_DATABASE_URL"):
        load_config(tmp_path, {"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": SECRET})
    with pytest.raises(ConfigError, match="PORTAL_CARD_HASH_KEY"):
        load_config(
            tmp_path,
            {"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": SECRET, "PORTAL_DATABASE_URL": "postgresql://x/y"},
        )
    from tests.unit.test_config_signing import write_p12

    write_p12(tmp_path / "bank-signing.p12", b"pass")
    config = load_config(
        tmp_path,
        {
            **PRODUCTION,
            "PORTAL_SIGNING_P12": str(tmp_path / "bank-signing.p12"),
            "PORTAL_SIGNING_P12_PASSWORD": "pass",
            "PORTAL_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0",
        },
    )
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    "weak",
    [
        "a" * 32,
        "x" * 40,
        "ab" * 20,
        "password" * 4,
        "0123456789abcdef" * 2,
        "short-but-random-Q7#",
        DEV_SECRET,
    ],
)
@pytest.mark.parametrize("variable", ["PORTAL_SECRET_KEY", "PORTAL_CARD_HASH_KEY"])
def test_production_refuses_low_entropy_keys(tmp_path: Path, weak: str, variable: str):
    with pytest.raises(ConfigError, match=variable):
        load_config(tmp_path, {**PRODUCTION, variable: weak})


def test_random_keys_pass_the_entropy_check():
    for _ in range(2000):
        assert estimated_bits(secrets.token_hex(16)) >= MIN_KEY_BITS
    assert estimated_bits("a" * 32) == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORTAL_DEV_OUTBOX", "1"),
        ("PORTAL_DEV_OUTBOX", "on"),
        ("PORTAL_CSRF_ENABLED", "0"),
        ("PORTAL_CSRF_ENABLED", "false"),
        ("PORTAL_RATELIMIT_ENABLED", "0"),
        ("PORTAL_RATELIMIT_ENABLED", "off"),
    ],
)
def test_production_refuses_development_switches(tmp_path: Path, variable: str, value: str):
    with pytest.raises(ConfigError, match=variable):
        load_config(tmp_path, {**PRODUCTION, variable: value})
    # The same switch is fine where it belongs.
    load_config(tmp_path, {variable: value})


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://localhost:5000",
        "http://127.0.0.1:5000",
        "https://127.0.0.1",
        "https://127.0.1.1:8443",
        "https://localhost",
        "https://[::1]:8443",
        "https://0.0.0.0",
        "http://cards.bank.example",
        "https://app.localhost",
    ],
)
def test_production_refuses_links_on_a_local_or_plain_http_address(tmp_path: Path, url: str):
    with pytest.raises(ConfigError, match="PORTAL_PUBLIC_URL"):
        load_config(tmp_path, {**PRODUCTION, "PORTAL_PUBLIC_URL": url})


def test_trusted_proxies_is_off_by_default_and_bounded(tmp_path: Path):
    assert load_config(tmp_path, {})["TRUSTED_PROXIES"] == 0
    assert load_config(tmp_path, {"PORTAL_TRUSTED_PROXIES": "2"})["TRUSTED_PROXIES"] == 2
    for bad in ("-1", "two", "1.5", "99"):
        with pytest.raises(ConfigError, match="PORTAL_TRUSTED_PROXIES"):
            load_config(tmp_path, {"PORTAL_TRUSTED_PROXIES": bad})


def test_unknown_mode_is_refused(tmp_path: Path):
    with pytest.raises(ConfigError):
        load_config(tmp_path, {"PORTAL_ENV": "staging"})


def test_production_needs_its_own_audit_key(tmp_path: Path):
    from tests.unit.test_config_signing import write_p12

    write_p12(tmp_path / "bank.p12", b"pass")
    settings = {**PRODUCTION, "PORTAL_SIGNING_P12": str(tmp_path / "bank.p12"), "PORTAL_SIGNING_P12_PASSWORD": "pass"}
    for key in (None, "short", "a" * 40, SECRET, CARD_KEY):  # missing, short, predictable, the other keys
        env = {k: v for k, v in settings.items() if k != "PORTAL_AUDIT_KEY"}
        if key is not None:
            env["PORTAL_AUDIT_KEY"] = key
        with pytest.raises(ConfigError, match="PORTAL_AUDIT_KEY"):
            load_config(tmp_path, env)
    assert load_config(tmp_path, settings)["AUDIT_KEY"] == PRODUCTION["PORTAL_AUDIT_KEY"]


def test_development_derives_an_audit_key_from_the_secret(tmp_path: Path):
    one, other = load_config(tmp_path, {}), load_config(tmp_path, {"PORTAL_SECRET_KEY": "another secret"})
    assert one["AUDIT_KEY"] and one["AUDIT_KEY"] != other["AUDIT_KEY"]
    assert one["AUDIT_KEY"] not in (one["SECRET_KEY"], one["CARD_HASH_KEY"])


def test_session_lifetime_is_eight_hours_unless_set(tmp_path: Path):
    assert load_config(tmp_path, {})["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=8)
    assert load_config(tmp_path, {"PORTAL_SESSION_HOURS": "2"})["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=2)
    with pytest.raises(ConfigError, match="PORTAL_SESSION_HOURS"):
        load_config(tmp_path, {"PORTAL_SESSION_HOURS": "0"})


def test_one_redis_url_serves_sessions_counters_and_rate_limits(tmp_path: Path):
    config = load_config(tmp_path, {"PORTAL_REDIS_URL": "redis://cache.internal:6379/2"})
    assert config["REDIS_URL"] == "redis://cache.internal:6379/2"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6379/2"
    assert config["RATELIMIT_STORAGE_OPTIONS"] == {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}
    # A socket: the limits library spells it redis+unix://.
    config = load_config(tmp_path, {"PORTAL_REDIS_URL": "unix:///run/redis.sock?db=1"})
    assert config["RATELIMIT_STORAGE_URI"] == "redis+unix:///run/redis.sock?db=1"
    # The rate limits' own setting still wins.
    config = load_config(
        tmp_path, {"PORTAL_REDIS_URL": "redis://a:6379/0", "PORTAL_RATELIMIT_STORAGE_URL": "redis://b:6379/3"}
    )
    assert config["RATELIMIT_STORAGE_URI"] == "redis://b:6379/3"
    assert load_config(tmp_path, {})["REDIS_URL"] == ""


@pytest.mark.parametrize("url", ["http://cache:6379", "redis://cache:port/0", "cache:6379"])
def test_a_malformed_redis_url_stops_the_portal(tmp_path: Path, url: str):
    with pytest.raises(ConfigError, match="PORTAL_REDIS_URL"):
        load_config(tmp_path, {"PORTAL_REDIS_URL": url})


def test_production_will_not_count_rate_limits_per_process_unless_told(tmp_path: Path):
    without_redis = {k: v for k, v in PRODUCTION.items() if k != "PORTAL_REDIS_URL"}
    with pytest.raises(ConfigError, match="PORTAL_REDIS_URL must be set in production"):
        load_config(tmp_path, without_redis)
    # A single worker on a single machine may say so.
    single = load_config(tmp_path, {**without_redis, "PORTAL_RATELIMIT_STORAGE_URL": "memory://"})
    assert single["RATELIMIT_STORAGE_URI"] == "memory://" and single["REDIS_URL"] == ""
    # But not beside a shared Redis: that means several nodes, each counting on its own.
    with pytest.raises(ConfigError, match="must not be memory://"):
        load_config(tmp_path, {**PRODUCTION, "PORTAL_RATELIMIT_STORAGE_URL": "memory://"})
    assert load_config(tmp_path, PRODUCTION)["RATELIMIT_STORAGE_URI"] == "redis://redis:6379/0"
