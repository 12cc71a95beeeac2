"""``/healthz`` and ``/readyz``, for the load balancer and the container orchestrator.

``/healthz`` says the process answers (200 ``ok``) and touches nothing. ``/readyz`` says
this node can serve: the database answers ``SELECT 1`` and, when the deployment shares
Redis, Redis answers PING; 200 when both do, else 503 with a JSON body naming what
failed (the kind of error only: no address or password leaves the node).

Both are answered by a WSGI middleware in front of the Flask app, not by a view: a probe
every few seconds from every balancer must not open a session, set a cookie, count
against a rate limit, need a CSRF token, run the policy-activation check, or write audit
or anything else — and a request hook that needs the database must not turn "the
database is down" into a 500 before the readiness check could say so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from flask import Flask
from sqlalchemy import text
from werkzeug.wrappers import Response

from portal import redis_store
from portal.extensions import db

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def shared_redis_url(config: Mapping[str, Any]) -> str | None:
    """The Redis this deployment shares between nodes (``PORTAL_REDIS_URL``), else the
    rate-limit storage when that alone is a Redis (``PORTAL_RATELIMIT_STORAGE_URL``)."""
    for url in (str(config.get("REDIS_URL") or ""), str(config.get("RATELIMIT_STORAGE_URI") or "")):
        if url.startswith(("redis://", "rediss://", "unix://")):
            return url
    return None


def _ping(client: Any) -> None:
    """PING a Redis client; raises when it does not answer (within the portal's timeouts)."""
    if not client.ping():
        raise ConnectionError("Redis did not answer PONG")


def ping_redis(url: str) -> None:
    """PING the Redis at ``url`` on a connection of its own."""
    client = redis_store.connect(url)
    try:
        _ping(client)
    finally:
        client.close()


def _ping_database() -> None:
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def readiness(app: Flask) -> dict[str, str]:
    """Each dependency checked, by name: ``ok`` or ``failed: <error kind>``."""
    checks: dict[str, Callable[[], None]] = {"database": _ping_database}
    shared = redis_store.client(app)  # the pooled client of PORTAL_REDIS_URL
    redis_url = shared_redis_url(app.config)
    if shared is not None:
        checks["redis"] = partial(_ping, shared)
    elif redis_url:  # a Redis for the rate limits alone
        checks["redis"] = lambda: ping_redis(redis_url)
    results = {}
    with app.app_context():
        for name, check in checks.items():
            try:
                check()
            except Exception as problem:  # any failure means "not ready", never a 500
                log.warning("readiness: %s failed (%s)", name, type(problem).__name__)
                results[name] = f"failed: {type(problem).__name__}"
            else:
                results[name] = "ok"
    return results


def _response(body: str, status: int, mimetype: str) -> Response:
    response = Response(body, status=status, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class HealthEndpoints:
    """WSGI middleware: answers the two probe paths itself, passes everything else on."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in ("/healthz", "/readyz"):
            return self.wsgi_app(environ, start_response)
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            response = _response("method not allowed\n", 405, "text/plain")
            response.headers["Allow"] = "GET, HEAD"
        elif path == "/healthz":
            response = _response("ok\n", 200, "text/plain")
        else:
            results = readiness(self.app)
            ready = all(result == "ok" for result in results.values())
            failed = sorted(name for name, result in results.items() if result != "ok")
            body = {"status": "ready" if ready else "unavailable", "checks": results, "failed": failed}
            response = _response(json.dumps(body) + "\n", 200 if ready else 503, "application/json")
        return response(environ, start_response)


def init_app(app: Flask) -> None:
    app.wsgi_app = HealthEndpoints(app, app.wsgi_app)  # type: ignore[method-assign]
