"""The shared Redis in tests: sessions and code counters of an app moved there for a test.

Tests that flush use their own database number (14; ``test_redis_rate_limits`` flushes
15), ``PORTAL_TEST_REDIS_STATE_URL`` to choose another.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask

from portal import redis_store
from portal.auth import server_sessions
from portal.auth.redis_sessions import SESSION
from tests.conftest import need

REDIS_STATE_URL = os.environ.get("PORTAL_TEST_REDIS_STATE_URL", "redis://127.0.0.1:6379/14")
NEED_REDIS = "Redis at 127.0.0.1:6379 (apt-get install redis-server)"


def redis_available(url: str = REDIS_STATE_URL) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@contextmanager
def shared_redis(app: Flask) -> Iterator[Any]:
    """Keep ``app``'s sessions and code attempts in the test Redis (emptied before and
    after), as ``PORTAL_REDIS_URL`` would; yield the client."""
    from portal.auth.redis_sessions import RedisSessions

    need(redis_available(), NEED_REDIS)
    client = redis_store.connect(REDIS_STATE_URL)
    client.flushdb()
    saved = {name: app.extensions[name] for name in (redis_store.EXTENSION, server_sessions.EXTENSION)}
    app.extensions[redis_store.EXTENSION] = client
    app.extensions[server_sessions.EXTENSION] = RedisSessions(client, app.config["PERMANENT_SESSION_LIFETIME"])
    try:
        yield client
    finally:
        app.extensions.update(saved)
        client.flushdb()
        client.close()


def redis_sessions(client: Any) -> list[dict[str, str]]:
    """Every session hash in Redis, oldest first."""
    found = [client.hgetall(key) for key in client.scan_iter(SESSION + "*")]
    return sorted(found, key=lambda s: int(s["created"]))
