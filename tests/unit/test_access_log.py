"""Plan-link and unsubscribe tokens never reach access logs."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from portal.access_log import FILTER, RedactingGunicornLogger, install, redact

TOKEN = "Zk3vQx9_Tn-8aB2cD4eF6gH8iJ0kL2mN"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"GET /l/{TOKEN} HTTP/1.1", "GET /l/[redacted] HTTP/1.1"),
        (f"POST /unsubscribe/{TOKEN}?x=1 HTTP/1.1", "POST /unsubscribe/[redacted]?x=1 HTTP/1.1"),
        (f"GET /l/{TOKEN}/", "GET /l/[redacted]/"),
        ("GET /learn/interest HTTP/1.1", "GET /learn/interest HTTP/1.1"),
        ("GET /plan/offers HTTP/1.1", "GET /plan/offers HTTP/1.1"),
        ("GET /care/search?q=6222000000000017 HTTP/1.1", "GET /care/search?q=[redacted] HTTP/1.1"),
        ("GET /care/search?q=0017&dob=1988-04-12 HTTP/1.1", "GET /care/search?q=[redacted]&dob=[redacted] HTTP/1.1"),
        ("GET /care/search?q=%2B86+138+0000+0001 HTTP/1.1", "GET /care/search?q=[redacted] HTTP/1.1"),
        ("GET /care/sign-in?next=/care/search%3Fq%3D0017 HTTP/1.1", "GET /care/sign-in?next=[redacted] HTTP/1.1"),
        ("GET /care/?tier=M2&page=2 HTTP/1.1", "GET /care/?tier=M2&page=2 HTTP/1.1"),
    ],
)
def test_redact(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_the_development_servers_request_lines_are_redacted(app) -> None:
    install()
    assert logging.getLogger("werkzeug").filters.count(FILTER) == 1  # once, however many apps are made
    # What werkzeug's request handler logs: a format, and the request line as an argument.
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '%s - - [%s] "%s" %s %s',
        ("127.0.0.1", "28/Nov/2026 10:00:00", f"GET /l/{TOKEN} HTTP/1.1", "302", "-"),
        None,
    )
    assert FILTER.filter(record)
    assert record.getMessage() == '127.0.0.1 - - [28/Nov/2026 10:00:00] "GET /l/[redacted] HTTP/1.1" 302 -'


def test_gunicorns_access_log_is_redacted() -> None:
    logger = RedactingGunicornLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/unsubscribe/{TOKEN}",
        "PATH_INFO": f"/unsubscribe/{TOKEN}",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_REFERER": f"https://portal.example/l/{TOKEN}",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    headers = [("REFERER", f"https://portal.example/l/{TOKEN}")]
    atoms = logger.atoms(response, SimpleNamespace(headers=headers), environ, timedelta(milliseconds=5))
    assert TOKEN not in str(atoms)
    assert atoms["r"] == "GET /unsubscribe/[redacted] HTTP/1.1" and atoms["U"] == "/unsubscribe/[redacted]"


def test_gunicorns_access_log_hides_care_search_terms() -> None:
    logger = RedactingGunicornLogger(Config())
    query = "q=0017&dob=1988-04-12"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/care/search?{query}",
        "PATH_INFO": "/care/search",
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.1",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = logger.atoms(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=5))
    assert "1988-04-12" not in str(atoms) and "0017" not in str(atoms)
    assert atoms["q"] == "q=[redacted]&dob=[redacted]"


def test_the_gunicorn_config_uses_it() -> None:
    from pathlib import Path

    settings: dict[str, object] = {}
    source = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
    exec(compile(source.read_text(), str(source), "exec"), settings)  # our own config file, as gunicorn runs it
    assert settings["logger_class"] is RedactingGunicornLogger and settings["accesslog"] == "-"


def test_every_route_with_a_token_in_its_path_is_redacted(app) -> None:
    routes = [rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert {rule.endpoint for rule in routes} >= {"links.open_plan_link", "optout.unsubscribe", "staff.enrol"}
    for rule in routes:
        with app.test_request_context():
            from flask import url_for

            path = url_for(rule.endpoint, token=TOKEN)
        assert TOKEN not in redact(f"GET {path} HTTP/1.1"), rule.rule
