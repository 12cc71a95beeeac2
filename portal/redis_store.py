"""The Redis every node shares, when ``PORTAL_REDIS_URL`` names one.

Several stateless web nodes behind a load balancer must agree on what is not in the
database: who is signed in (``portal.auth.server_sessions``), how many codes a pending
sign-in has tried (``portal.auth.attempts``) and the rate limits (Flask-Limiter reads
the same URL, see ``portal.config``). Without the setting all of it stays in the
database and in each process, as one machine needs.

One client per app and process: redis-py's connection pool notices a fork (gunicorn's
workers) and opens its own connections in the child. Short timeouts, so a Redis that
went away fails a request quickly instead of holding a worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from redis import Redis

PREFIX = "portal:"  # every key this portal writes; the rate limiter uses its own ("LIMITS")
EXTENSION = "redis"
TIMEOUT = 2.0  # seconds, to connect and for each answer


def connect(url: str) -> Redis:
    """A client for ``url`` with the portal's timeouts."""
    from redis import Redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    return Redis.from_url(
        url,
        socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT,
        # One quick retry: a pooled connection the server closed (restart, fail-over) is
        # replaced, but a Redis that is down is reported within a few seconds.
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), 1),
        health_check_interval=30,
        decode_responses=True,
    )


def init_app(app: Flask) -> None:
    """Make the app's client from ``REDIS_URL`` (no connection is opened yet)."""
    url = app.config.get("REDIS_URL", "")
    app.extensions[EXTENSION] = connect(url) if url else None


def client(app: Flask | None = None) -> Redis | None:
    """The shared Redis of ``app`` (default: the current one), or None when not configured."""
    return (app or current_app).extensions.get(EXTENSION)
