"""Security headers on every response. No inline script or style is ever needed."""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.datastructures import Headers

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


# Set on every response, replacing what a view may have set.
FIXED = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
]
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def init_app(app: Flask) -> None:
    production = app.config["PORTAL_ENV"] == "production"
    fixed = [*FIXED, HSTS] if production else FIXED
    added = [("Content-Security-Policy", CSP), *fixed]  # what a response without any of ours gets
    added_to_html = [*added, ("Cache-Control", "no-store")]
    Headers(added_to_html)  # checked once here, as Headers.add checks each value it adds
    ours = {name.lower() for name, _value in added_to_html}

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        html = response.mimetype == "text/html"
        if not any(name.lower() in ours for name, _value in headers.items()):
            # The usual case, a view that set none of them: appended as they are, in the
            # order the general case below adds them (HTML with no-store), without
            # Headers.add checking the same constant values again on every response.
            headers._list.extend(added_to_html if html else added)
            return response
        # One look at the names already there, then each header added or replaced: the
        # same headers as a ``headers[name] = value`` each, without a scan of the list per name.
        present = {name.lower() for name, _value in headers.items()}
        if "content-security-policy" not in present:  # a view may set a stricter one
            headers.add("Content-Security-Policy", CSP)
        for name, value in fixed:
            if name.lower() in present:
                headers.set(name, value)
            else:
                headers.add(name, value)
        if html:
            # Account pages must not linger in shared or back-button caches.
            headers.set("Cache-Control", "no-store")
        return response
