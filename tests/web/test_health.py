"""/healthz and /readyz: what a load balancer and a container orchestrator probe."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import request
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.conftest import make_app, need
from tests.db.test_redis_rate_limits import REDIS_URL, redis_available


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def other_app(database_url: str, **config) -> Iterator:
    """An app of its own (another node's settings); its connections closed afterwards."""
    made = make_app(database_url, **config)
    try:
        yield made
    finally:
        with made.app_context():
            db.engine.dispose()


def audit_events(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def test_healthz_answers_ok_and_touches_nothing(app):
    client = app.test_client()
    before = audit_events(app)
    client.set_cookie("portal_session", "not-a-valid-session")
    response = client.get("/healthz")
    assert response.status_code == 200 and response.data == b"ok\n"
    assert response.mimetype == "text/plain" and response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers  # no session opened, touched or cleared
    assert not any(name.startswith("X-RateLimit") for name, _value in response.headers)
    assert client.post("/healthz").status_code == 405  # no CSRF token asked, nothing done
    assert audit_events(app) == before


def test_healthz_needs_no_database():
    with other_app(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/portal") as broken:
        assert broken.test_client().get("/healthz").status_code == 200


def test_readyz_is_200_when_the_database_answers(app):
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.data
    assert response.json == {"status": "ready", "checks": {"database": "ok"}, "failed": []}
    assert "Set-Cookie" not in response.headers


def test_readyz_is_503_naming_the_database_when_its_port_is_closed():
    with other_app(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/portal") as broken:
        response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    body = json.loads(response.data)
    assert body["status"] == "unavailable" and body["failed"] == ["database"]
    assert body["checks"]["database"].startswith("failed: ")
    assert "127.0.0.1" not in response.get_data(as_text=True)  # no address leaves the node


@pytest.mark.parametrize("setting", ["REDIS_URL", "RATELIMIT_STORAGE_URI"])
def test_readyz_checks_the_shared_redis(app, database_url, setting):
    """The Redis of PORTAL_REDIS_URL, or of PORTAL_RATELIMIT_STORAGE_URL alone."""
    need(redis_available(), "Redis at 127.0.0.1:6379 (apt-get install redis-server)")
    with other_app(database_url, **{setting: REDIS_URL}) as shared:
        response = shared.test_client().get("/readyz")
    assert response.status_code == 200, response.data
    assert response.json["checks"] == {"database": "ok", "redis": "ok"}

    with other_app(database_url, **{setting: f"redis://127.0.0.1:{closed_port()}/15"}) as gone:
        response = gone.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["redis"] and response.json["checks"]["database"] == "ok"


def test_probes_run_none_of_the_request_hooks(database_url):
    """Rate limits, CSRF, the session check and the policy-activation check are all
    request hooks: a probe is answered before any of them runs (a hook of the test's
    own, added last, sees only the page)."""
    with other_app(database_url) as made:
        seen: list[str] = []
        made.before_request(lambda: seen.append(request.path))
        client = made.test_client()
        assert {client.get(path).status_code for path in ["/healthz", "/readyz"] * 10} == {200}
        assert client.get("/verify").status_code == 200
        assert seen == ["/verify"]
