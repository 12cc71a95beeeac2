"""Rate limits in Redis, as production runs them (PORTAL_RATELIMIT_STORAGE_URL)."""

from __future__ import annotations

import os

from tests.conftest import CardholderAuth, make_account, make_app, need, reset_schema

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_sign_in_limits_are_shared_through_redis(tmp_path):
    need(redis_available(), "Redis at 127.0.0.1:6379 (apt-get install redis-server)")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    first, second = make_app(url, RATELIMIT_STORAGE_URI=REDIS_URL), make_app(url, RATELIMIT_STORAGE_URI=REDIS_URL)
    reset_schema(first)
    make_account(first)
    # Two app instances (two servers behind a load balancer) share one counter.
    statuses = [CardholderAuth(app.test_client()).start(dob="1970-01-01").status_code for app in [first, second] * 6]
    assert statuses[:10] == [302] * 10 and statuses[10:] == [429, 429]
    redis.Redis.from_url(REDIS_URL).flushdb()
