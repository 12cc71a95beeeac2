"""Headers, cookies, CSRF and error pages."""

from __future__ import annotations

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
