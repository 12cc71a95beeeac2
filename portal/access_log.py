"""Access logs without bearer tokens or personal data: every address that carries a
secret, and every query argument that carries personal data (the care search), is redacted.

A plan link (``/l/<token>``), an unsubscribe address (``/unsubscribe/<token>``) and a
staff enrolment link (``/care/enrol/<token>``) carry their secret in the path, and
web-server access logs would keep it as long as logs live. (A test checks that every
route with a ``<token>`` is covered.) The development server's request lines (the ``werkzeug`` logger) pass through
`RedactingFilter`; gunicorn's access log uses `RedactingGunicornLogger` (set in
``gunicorn.conf.py``). Pages send ``Referrer-Policy: no-referrer``, so no Referer header
carries a token either.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

__all__ = ["FILTER", "RedactingFilter", "RedactingGunicornLogger", "install", "redact"]

_SECRET_PATH = re.compile(r"(/(?:l|unsubscribe|care/enrol)/)[^/?#\s\"]+")
# Query arguments that carry personal data: the care search (name, phone, card digits,
# reference; date of birth), and ``next``, which can hold a whole search address.
_PERSONAL_ARGUMENT = re.compile(r"((?:^|[?&])(?:q|dob|phone|card_number|date_of_birth|email|next)=)[^&#\s\"]*")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with the token of every plan-link or unsubscribe path, and the value of
    every personal query argument, replaced."""
    return _PERSONAL_ARGUMENT.sub(r"\g<1>" + REDACTED, _SECRET_PATH.sub(r"\g<1>" + REDACTED, text))


class RedactingFilter(logging.Filter):
    """Redacts tokens in a record's message and string arguments; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


FILTER = RedactingFilter()


def install() -> None:
    """Put the filter on the development server's request log (once per process)."""
    logger = logging.getLogger("werkzeug")
    if FILTER not in logger.filters:
        logger.addFilter(FILTER)


class RedactingGunicornLogger(Logger):
    """gunicorn's logger with every text an access-log format can name redacted: the
    request line and path, and the headers and environ values offered as ``{…}i``/``{…}e``."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {name: redact(value) if isinstance(value, str) else value for name, value in atoms.items()}
