"""Responses come compressed when the browser asks (brotli, else gzip), plain when it does
not; small bodies and PDFs never; every other header as it was; off with PORTAL_COMPRESS."""

from __future__ import annotations

import gc
import gzip
from pathlib import Path

import brotli
import pytest
from flask import Response

from portal.config import ConfigError, load_config
from tests.conftest import make_app

PAGE = "/learn/annualised-rate"
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Cache-Control")


def test_a_page_comes_back_gzip_encoded_when_asked_and_plain_when_not(client):
    plain = client.get(PAGE)
    zipped = client.get(PAGE, headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers and plain.text.startswith("<!doctype html>")
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert int(zipped.headers["Content-Length"]) == len(zipped.data) < len(plain.data) / 2
    for response in (plain, zipped):
        assert "Accept-Encoding" in response.headers["Vary"]
    for name in SECURITY_HEADERS:
        assert zipped.headers[name] == plain.headers[name], name


def test_a_browser_that_accepts_brotli_gets_brotli(client):
    plain = client.get(PAGE)
    response = client.get(PAGE, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.headers["Content-Encoding"] == "br"
    assert brotli.decompress(response.data) == plain.data


def test_encodings_the_browser_refuses_are_not_used(client):
    assert "Content-Encoding" not in client.get(PAGE, headers={"Accept-Encoding": "identity"}).headers
    assert client.get(PAGE, headers={"Accept-Encoding": "br;q=0.5, gzip"}).headers["Content-Encoding"] == "gzip"


@pytest.fixture
def extra_app(database_url: str):
    """A fresh app with two routes of its own: a tiny body and a PDF."""
    app = make_app(database_url)

    @app.route("/tiny")
    def tiny() -> Response:
        return Response("ok " * 100, mimetype="text/html")

    @app.route("/paper.pdf")
    def paper() -> Response:
        return Response(b"%PDF-1.7\n" + b"0" * 20_000, mimetype="application/pdf")

    return app


def test_small_bodies_and_pdfs_are_sent_as_they_are(extra_app):
    client = extra_app.test_client()
    for path in ("/tiny", "/paper.pdf"):
        response = client.get(path, headers={"Accept-Encoding": "gzip, br"})
        assert "Content-Encoding" not in response.headers, path


def test_compression_is_off_when_the_proxy_does_it(database_url):
    client = make_app(database_url, COMPRESS=False).test_client()
    response = client.get(PAGE, headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers


@pytest.mark.parametrize(("value", "expected"), [("", True), ("true", True), ("false", False), ("0", False)])
def test_portal_compress_is_read_from_the_environment(tmp_path: Path, value: str, expected: bool):
    assert load_config(tmp_path, {"PORTAL_COMPRESS": value})["COMPRESS"] is expected


def test_a_mistyped_portal_compress_stops_the_portal(tmp_path: Path):
    with pytest.raises(ConfigError, match="PORTAL_COMPRESS"):
        load_config(tmp_path, {"PORTAL_COMPRESS": "flase"})


def test_a_stylesheet_comes_back_brotli_encoded_and_its_file_is_closed(client):
    plain = client.get("/static/css/site.css")
    response = client.get("/static/css/site.css", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["Content-Encoding"] == "br"
    assert brotli.decompress(response.data) == plain.data
    response.close()
    plain.close()
    gc.collect()  # an unclosed file would warn here, and warnings are errors
