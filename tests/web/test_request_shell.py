"""The work every request pays (issue 15): what the shell around a view skips, it skips
without changing an answer.

- Rate limits are resolved only for requests a declared limit can count: a GET of the
  sign-in form (whose limits count POSTs) or of a guide resolves none, a POST still
  counts and gets its headers. CSRF exemptions are looked up only for a POST.
- A pooled database connection is pinged only when in doubt, and one the server ended is
  still replaced before a request uses it.
- A signed-in cookie is sent again only when the session changed.
- A worker's startup objects are kept out of garbage collection.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, request

from portal import connections
from portal.extensions import csrf, db, limiter
from tests.conftest import PG_ADMIN_URL, ROOT, csrf_token, make_account, make_app

COOKIE = "portal_session"


@pytest.fixture
def resolved(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Every endpoint Flask-Limiter resolves limits for, in order (its own resolver, watched)."""
    seen: list[str | None] = []
    real = limiter.limit_manager.resolve_limits

    def watched(app: Flask, endpoint: str | None = None, *args: Any, **kwargs: Any) -> Any:
        seen.append(endpoint)
        return real(app, endpoint, *args, **kwargs)

    monkeypatch.setattr(limiter.limit_manager, "resolve_limits", watched)
    return seen


def test_pages_no_limit_counts_resolve_no_limits(app, client, resolved):
    assert client.get("/learn/annualised-rate").status_code == 200
    assert client.get("/sign-in").status_code == 200  # its limits count POSTs only
    assert resolved == []


def test_a_post_a_limit_counts_is_still_counted_with_its_headers(app, client, resolved):
    token = csrf_token(client.get("/sign-in").data)
    response = client.post("/sign-in", data={"csrf_token": token, "card_number": "1", "date_of_birth": ""})
    assert response.status_code == 422
    assert "auth.sign_in" in resolved
    assert int(response.headers["X-RateLimit-Remaining"]) < int(response.headers["X-RateLimit-Limit"])
    assert not any(name.startswith("X-RateLimit") for name, _ in client.get("/sign-in").headers)


def test_a_get_is_let_through_before_csrf_exemptions_are_looked_up(app, client, monkeypatch):
    looked_up: list[str | None] = []
    real = csrf._is_exempt

    def watched() -> bool:
        looked_up.append(request.endpoint)
        return bool(real())

    monkeypatch.setattr(csrf, "_is_exempt", watched)
    assert client.get("/sign-in").status_code == 200
    assert looked_up == []
    refused = client.post("/sign-in", data={"card_number": "4111111111111111", "date_of_birth": "1980-01-01"})
    assert refused.status_code == 400 and looked_up == ["auth.sign_in"]  # no token: still refused


def test_a_signed_in_page_does_not_send_the_cookie_again(app, client, auth):
    make_account(app)
    auth.sign_in()
    assert "Set-Cookie" in client.get("/account").headers  # the first form token is kept in the session
    signed_in = client.get_cookie(COOKIE)
    assert signed_in is not None and signed_in.expires is not None  # permanent: it has its own end
    response = client.get("/account")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers  # unchanged: not re-signed and sent again
    client.get("/language/zh_Hans?next=/account")  # a change to the session is sent
    assert client.get_cookie(COOKIE).value != signed_in.value


# --- pooled connections (PostgreSQL) ------------------------------------------------------


@pytest.fixture
def pg_app(database_url: str) -> Iterator[Flask]:
    """An app of its own on the test database, so that its pool holds one connection."""
    made = make_app(database_url)
    yield made
    with made.app_context():
        db.engine.dispose()


def backend_pid(app: Flask) -> int:
    with app.app_context(), db.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


@pytest.fixture
def pings(pg_app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per ping the pool sends (the dialect's own ping, watched)."""
    with pg_app.app_context():
        dialect = db.engine.dialect
    sent: list[int] = []
    real = dialect.do_ping

    def watched(dbapi_connection: Any) -> bool:
        sent.append(1)
        return bool(real(dbapi_connection))

    monkeypatch.setattr(dialect, "do_ping", watched)
    return sent


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.real_commits
def test_a_connection_in_use_is_taken_without_a_ping(pg_app, pings, monkeypatch):
    first = backend_pid(pg_app)
    assert [backend_pid(pg_app) for _ in range(5)] == [first] * 5
    assert pings == []
    monkeypatch.setattr(connections, "PING_AFTER_IDLE", 0.0)  # as if it had waited long in the pool
    assert backend_pid(pg_app) == first
    assert pings == [1]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.real_commits
def test_a_connection_the_server_ended_is_replaced_before_use(pg_app, pings):
    ended = backend_pid(pg_app)
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": ended}).scalar()
    admin.dispose()
    fresh = backend_pid(pg_app)  # no error: the pool noticed and opened another connection
    assert fresh != ended and pings == [1]
    assert pg_app.test_client().get("/readyz").status_code == 200


def test_the_served_app_keeps_what_it_loaded_out_of_garbage_collection(tmp_path):
    """A worker imports ``wsgi``: what the app loaded is frozen out of the collector's
    generations, so no full collection walks it during a request."""
    script = "import gc; before = gc.get_freeze_count(); import wsgi; print(before, gc.get_freeze_count())"
    env = {**os.environ, "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'wsgi.sqlite3'}"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    before, after = (int(n) for n in done.stdout.split())
    assert before == 0 and after > 10_000  # the app's models, templates and locale data


def test_the_cookie_serializer_is_made_once_per_set_of_keys(app, client, auth):
    sessions = app.session_interface
    make_account(app)
    auth.sign_in()  # cookies written and read with the one serializer
    assert client.get("/account").status_code == 200
    first = sessions.get_signing_serializer(app)
    assert sessions.get_signing_serializer(app) is first
    saved = app.secret_key
    try:
        app.secret_key = "another-key-for-this-test"
        assert sessions.get_signing_serializer(app) is not first  # a rotated key signs with itself
        assert client.get("/account").status_code == 302  # the old cookie no longer verifies
    finally:
        app.secret_key = saved


def test_flask_asks_once_whether_a_hook_is_a_coroutine_function_and_still_wraps_one(app, monkeypatch):
    def plain() -> None:
        return None

    async def coroutine() -> None:
        return None

    assert app.ensure_sync(plain) is plain
    assert plain in app._plain_functions  # the answer is kept
    assert app.ensure_sync(plain) is plain
    monkeypatch.setattr(app, "async_to_sync", lambda func: ("wrapped", func))  # asgiref's part
    assert app.ensure_sync(coroutine) == ("wrapped", coroutine)
    assert coroutine not in app._plain_functions
