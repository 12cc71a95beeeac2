"""Responses compressed when the portal serves browsers directly (Flask-Compress).

Brotli for browsers that accept it, else gzip, as the request's ``Accept-Encoding`` asks,
with ``Vary: Accept-Encoding`` on every response so that a shared cache keeps the forms
apart. Only text types are compressed (pages, CSS, JSON), never PDFs, which are
compressed inside already, and never a body under ``MIN_SIZE``, which fits a packet as it
is. Headers set elsewhere (CSP, HSTS, Cache-Control) are left as they are.

Behind a reverse proxy that compresses (README, "Compression"), ``PORTAL_COMPRESS=false``
turns this off so the work is done once, by the proxy.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_compress import Compress

ALGORITHMS = ["br", "gzip"]  # preferred first when the browser accepts both equally
MIN_SIZE = 1024  # bytes
MIMETYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/javascript",
    "application/javascript",
    "application/json",
    "image/svg+xml",
]

compress = Compress()


def init_app(app: Flask) -> None:
    if not app.config["COMPRESS"]:
        return
    app.config.update(
        COMPRESS_ALGORITHM=ALGORITHMS,
        COMPRESS_ALGORITHM_STREAMING=["br"],  # static files; gzip cannot be streamed by Flask-Compress
        COMPRESS_MIMETYPES=MIMETYPES,
        COMPRESS_MIN_SIZE=MIN_SIZE,
        COMPRESS_BR_LEVEL=4,  # Flask-Compress's default: most of level 11's gain at a fraction of its time
        COMPRESS_LEVEL=6,
        COMPRESS_REGISTER=False,  # registered below, behind a guard
    )
    compress.init_app(app)

    @app.after_request
    def compress_response(response: Response) -> Response:
        # Flask-Compress parses Accept-Encoding, the content type and the length of every
        # response to decide; when the browser asks for no encoding, or a whole body is
        # smaller than MIN_SIZE, its one change is the Vary header, made here as it makes it.
        asked = request.environ.get("HTTP_ACCEPT_ENCODING")
        length = None if response.is_streamed else response.content_length
        if not asked or (length is not None and length < MIN_SIZE):
            vary = response.headers.get("Vary")
            if not vary:
                response.headers["Vary"] = "Accept-Encoding"
            elif "accept-encoding" not in vary.lower():
                response.headers["Vary"] = f"{vary}, Accept-Encoding"
            return response
        return compress.after_request(response)

    # Registered after Flask-Compress, so it runs just before it: Flask-Compress swaps a
    # streamed body (a static file) for its compressing generator and never closes the
    # file it read from; closing the response now closes that file too.
    @app.after_request
    def close_what_compression_replaces(response: Response) -> Response:
        body = response.response
        if response.is_streamed and hasattr(body, "close"):
            response.call_on_close(body.close)
        return response
