"""The PDF renderer's URL fetcher serves the portal's static files and nothing else."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from portal.agreements.render import STYLESHEET, RefusedURLError, static_fetcher

STATIC = Path(__file__).resolve().parents[2] / "portal" / "static"


@pytest.fixture
def fetcher():
    return static_fetcher(STATIC)


def test_serves_the_agreement_stylesheet(fetcher):
    response = fetcher.fetch(STYLESHEET)
    assert response.content_type == "text/css"
    assert b"@page" in response.read()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://127.0.0.1:9/agreements/agreement.css",
        "https://example.com/font.woff2",
        "data:text/css,body{color:red}",
        "ftp://example.com/x.css",
        "portal-static:../../../etc/passwd",
        "portal-static:/../config.py",
        "portal-static:agreements/../../config.py",
        "portal-static:agreements/missing.css",
        "portal-static:agreements",
        "//example.com/x.css",
    ],
)
def test_refuses_everything_else(fetcher, url):
    with pytest.raises(RefusedURLError):
        fetcher.fetch(url)


def test_a_hostile_document_fetches_nothing(fetcher, caplog):
    from weasyprint import HTML

    asked: list[str] = []
    original = fetcher.fetch

    def spy(url, headers=None):
        asked.append(url)
        return original(url, headers)

    fetcher.fetch = spy
    html = """<html><head>
      <link rel="stylesheet" href="http://127.0.0.1:9/evil.css">
      <style>@font-face { font-family: X; src: url(file:///usr/share/fonts/truetype/wqy/wqy-microhei.ttc) }
             body { background: url(https://example.com/bg.png) }</style></head>
      <body><img src="file:///etc/passwd"><img src="portal-static:../../wsgi.py">
      <p style="font-family: X">text</p></body></html>"""
    with caplog.at_level(logging.ERROR, logger="weasyprint"):
        pdf = HTML(string=html, base_url="portal-static:", url_fetcher=fetcher).write_pdf()
    assert pdf.startswith(b"%PDF-")
    assert {"http://127.0.0.1:9/evil.css", "file:///etc/passwd", "https://example.com/bg.png"} <= set(asked)
    assert b"root:" not in pdf and b"create_app" not in pdf
