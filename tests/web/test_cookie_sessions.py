"""The session cookie's verification is kept per cookie (issue 15), without changing what
a cookie is worth: the same session every time, never a kept one past its age, under
other keys or with another signature, and each request's changes its own."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface

from portal.sessions import CookieSessions

COOKIE = "session"


def cookie_app(secret: str = "s" * 32) -> Flask:
    app = Flask("cookies")
    app.secret_key = secret
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=1)
    app.session_interface = CookieSessions()

    @app.post("/write")
    def write() -> str:
        session["who"] = "c:1"
        session["_flashes"] = [("info", "first")]
        return "ok"

    @app.get("/read")
    def read() -> dict[str, Any]:
        flashes = session.get("_flashes", [])
        seen = {"who": session.get("who"), "flashes": [list(f) for f in flashes]}
        flashes.append(("info", "changed in place"))  # what flash() does to the list
        return seen

    return app


def signed_cookie(app: Flask) -> str:
    client = app.test_client()
    client.post("/write")
    found = client.get_cookie(COOKIE)
    assert found is not None
    return found.value


def read_with(app: Flask, cookie: str) -> dict[str, Any]:
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    data: dict[str, Any] = client.get("/read").get_json()
    return data


def test_a_kept_cookie_gives_each_request_the_session_it_was_signed_with() -> None:
    app = cookie_app()
    cookie = signed_cookie(app)
    first, second = read_with(app, cookie), read_with(app, cookie)
    assert first == second == {"who": "c:1", "flashes": [["info", "first"]]}


def test_a_kept_cookie_past_its_age_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    app = cookie_app()
    cookie = signed_cookie(app)
    assert read_with(app, cookie)["who"] == "c:1"  # verified and kept
    later = time.time() + 3601
    monkeypatch.setattr(time, "time", lambda: later)
    assert read_with(app, cookie)["who"] is None


def test_a_kept_cookie_counts_for_nothing_under_other_keys_or_with_another_signature() -> None:
    app = cookie_app()
    cookie = signed_cookie(app)
    assert read_with(app, cookie)["who"] == "c:1"
    interface = app.session_interface
    other = cookie_app("t" * 32)
    other.session_interface = interface  # the same kept cookies, another key
    assert read_with(other, cookie)["who"] is None
    payload, _, signature = cookie.rpartition(".")
    forged = f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert read_with(app, forged)["who"] is None


@pytest.mark.parametrize(
    ("value", "compressed"),
    [
        ("5f3a" * 10, False),  # a visitor's CSRF secret: written plain, without a zlib attempt
        ("a" * 300, True),  # a large session that compresses: as itsdangerous writes it
        ("a" * 60, False),  # small: plain even though zlib would shorten it, a few bytes longer at worst
    ],
)
def test_a_cookie_is_compressed_only_when_large_and_shorter_so_and_reads_back_either_way(
    value: str, compressed: bool
) -> None:
    app = Flask("cookies")
    app.secret_key = "s" * 32
    app.session_interface = CookieSessions()
    serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    written = serializer.dumps({"v": value})
    assert written.startswith(".") is compressed
    assert serializer.loads(written) == {"v": value}
    # What Flask's own serializer writes reads back the same, and the reverse.
    stock = SecureCookieSessionInterface().get_signing_serializer(app)
    assert stock is not None
    assert serializer.loads(stock.dumps({"v": value})) == stock.loads(written) == {"v": value}
