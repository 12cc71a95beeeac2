"""Headers, cookies, CSRF and error pages."""

from __future__ import annotations

import pytest

from tests.conftest import CARD, csrf_token, make_account


def test_security_headers_on_every_page(client):
    response = client.get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_is_httponly_and_lax(app, client, auth):
    make_account(app)
    response = auth.start()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_missing_csrf_token_is_a_clear_400(app, client):
    make_account(app)
    response = client.post("/sign-in", data={"card_number": CARD, "date_of_birth": "1988-04-12"})
    assert response.status_code == 400 and b"This form has expired" in response.data


def test_sign_out_needs_csrf(app, client, auth):
    make_account(app)
    auth.sign_in()
    assert client.post("/sign-out").status_code == 400
    assert client.get("/account").status_code == 200


def test_translated_404(client):
    client.get("/language/zh_Hans?next=/")
    response = client.get("/no-such-page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and 'lang="zh-Hans"' in html
    assert "Page not found" not in html


def test_no_third_party_urls_in_pages(app, client):
    html = client.get("/sign-in").get_data(as_text=True)
    assert "http://" not in html and "https://" not in html


def test_csrf_token_helper_finds_token(client):
    assert csrf_token(client.get("/sign-in").data)


def test_the_pages_csrf_token_is_flask_wtfs_and_one_per_request(app, monkeypatch):
    """portal.security.csrf_token makes, byte for byte, the token Flask-WTF's generate_csrf
    makes (in the same second, of the same session value), kept once per request."""
    from flask import g, session
    from flask_wtf.csrf import generate_csrf
    from itsdangerous import TimestampSigner

    from portal.security import csrf_token as page_token

    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_800_000_000)
    assert app.jinja_env.globals["csrf_token"] is page_token
    with app.test_request_context("/sign-in"):
        token = page_token()
        assert page_token() == token == g.csrf_token
        kept = session["csrf_token"]
        del g.csrf_token  # Flask-WTF's own, from the same session value
        assert generate_csrf() == token
        assert session["csrf_token"] == kept
    with app.test_request_context("/sign-in"):  # another visitor: another value, another token
        other = page_token()
        assert other != token and session["csrf_token"] != kept


def test_a_csrf_token_follows_a_changed_secret_key(app):
    """The kept serializer is made again for a new key: what the old key signed is refused."""
    import pytest
    from flask import session
    from flask_wtf.csrf import validate_csrf
    from wtforms import ValidationError

    from portal.security import csrf_token as page_token

    with app.test_request_context("/sign-in"):
        session["csrf_token"] = "a" * 40
        old = page_token()
        validate_csrf(old)
    app.config["WTF_CSRF_SECRET_KEY"] = "another key"
    try:
        with app.test_request_context("/sign-in"):
            session["csrf_token"] = "a" * 40
            new = page_token()
            validate_csrf(new)
            with pytest.raises(ValidationError):
                validate_csrf(old)
    finally:
        del app.config["WTF_CSRF_SECRET_KEY"]


def test_a_signed_out_sign_in_page_posts_with_the_token_it_shows(app, client):
    """The sign-in form's token (portal.security) is the one the POST is checked against."""
    make_account(app)
    token = csrf_token(client.get("/sign-in").data)
    response = client.post("/sign-in", data={"csrf_token": token, "card_number": CARD, "date_of_birth": "1988-04-12"})
    assert response.status_code == 302
    bad = client.post("/sign-in", data={"csrf_token": token[:-2] + "xx", "card_number": CARD, "date_of_birth": "x"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("set_by_view", "mimetype"),
    [
        ([], "text/html"),
        ([], "application/json"),
        ([("Content-Security-Policy", "default-src 'none'")], "text/html"),
        ([("X-Frame-Options", "SAMEORIGIN"), ("X-Frame-Options", "ALLOW")], "text/plain"),
        ([("Cache-Control", "public, max-age=60")], "text/html"),
        ([("Cache-Control", "public, max-age=60")], "text/css"),
    ],
)
def test_security_headers_are_added_once_whatever_a_view_set(app, set_by_view, mimetype):
    """Every response ends with each security header once: a view's stricter policy kept,
    its other values of ours replaced, no-store on HTML only, and nothing else touched."""
    from flask import Response

    with app.test_request_context("/"):
        response = Response("x", mimetype=mimetype, headers=[("X-Mine", "1"), *set_by_view])
        headers = app.process_response(response).headers
    names = [name for name, _value in headers.items()]
    assert names.count("X-Mine") == 1
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"):
        assert names.count(name) == 1, name
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    csp = dict(set_by_view).get("Content-Security-Policy")
    assert headers["Content-Security-Policy"] == csp or "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    if mimetype == "text/html":
        assert headers.getlist("Cache-Control") == ["no-store"]
    else:
        assert headers.getlist("Cache-Control") == [v for k, v in set_by_view if k == "Cache-Control"]
