"""What the per-request shell costs: CPU time per request beside a bare Flask route.

Run from the repository root:
    python bench/shell.py [--database URL] [--requests N] [--rounds R] [PATH ...]

The portal (as bench/pages.py serves it: development settings, rate limits counted in
memory) gets one extra route, ``/bench/empty``, that returns a short string and does
nothing else: what it costs beyond the bare route is the shell every page pays (request
hooks, the rate limiter, the session check, headers, the database session). Each page is
called through the WSGI interface directly, as gunicorn calls it (no test client), signed
out and, for the empty route, signed in as a demo cardholder too. The figure is this
process's CPU time (``time.process_time``) per request, the median of R rounds of N
requests, bare route and pages interleaved round by round so that other load on a shared
machine falls on all alike; wall time is shown beside it (it includes the database's
round trips, which CPU time leaves out), and the SQL statements one request runs. Default
pages: the empty route, /sign-in and /learn/annualised-rate.

Paths under /care/ are asked signed in as the demo care agent (password and the code of
the authenticator whose secret the demo loads), as bench/pages.py signs her in; the path
``/care/accounts/first`` stands for the first case the care queue links to, the case
file bench/pages.py measures.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PORTAL_ENV", "development")

from flask import Flask  # noqa: E402 - after sys.path
from werkzeug.test import EnvironBuilder  # noqa: E402 - after sys.path

from portal import create_app  # noqa: E402 - after sys.path
from portal.demo import DEMO_CARDHOLDERS, load_demo  # noqa: E402 - after sys.path
from portal.staff.service import DEMO_STAFF  # noqa: E402 - after sys.path
from portal.unit_of_work import unit_of_work  # noqa: E402 - after sys.path
from tests.conftest import CardholderAuth, reset_schema  # noqa: E402 - after sys.path
from tests.staff_helpers import StaffAuth  # noqa: E402 - after sys.path

CARDHOLDER = DEMO_CARDHOLDERS[3]  # the cardholder of bench/pages.py
AGENT = next(s for s in DEMO_STAFF if s.email == "agent@example.com")  # the agent of bench/pages.py
EMPTY = "/bench/empty"
FIRST_CASE = "/care/accounts/first"
WSGI = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def bare_app() -> Flask:
    app = Flask("bare")

    @app.route("/")
    def hello() -> str:
        return "Hello, World!"

    return app


def call(app: WSGI, environ: dict[str, Any]) -> int:
    """One request as a WSGI server makes it; returns the status code."""
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        status.append(line)

    body = app(dict(environ), start_response)
    try:
        for _chunk in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return int(status[0].split()[0])


def per_request(app: WSGI, environ: dict[str, Any], count: int) -> tuple[float, float]:
    """CPU and wall microseconds per request over ``count`` requests."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        call(app, environ)
    return (time.process_time() - cpu) / count * 1e6, (time.perf_counter() - wall) / count * 1e6


def statements_per_request(app: Flask, wsgi: WSGI, environ: dict[str, Any]) -> int:
    """How many SQL statements one request runs."""
    import sqlalchemy as sa

    from portal.extensions import db

    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append("")

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        call(wsgi, environ)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[EMPTY, "/sign-in", "/learn/annualised-rate"])
    parser.add_argument("--database", help="SQLAlchemy URL of a database to empty and load (default: SQLite)")
    parser.add_argument("--requests", type=int, default=300, help="requests per round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/shell.sqlite3"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        app.add_url_rule(EMPTY, "bench_empty", lambda: "Hello, World!")
        reset_schema(app)
        with app.app_context(), unit_of_work():
            load_demo()
        client = app.test_client()
        CardholderAuth(client).sign_in(card=CARDHOLDER.card_number, dob=CARDHOLDER.date_of_birth.isoformat())
        client.get("/account")  # as a browser lands there: the session now holds its CSRF secret
        # The address and user agent the session signed in with: Flask-Login's session
        # protection re-issues the cookie of a request from any other (never kept here).
        browser = dict(client.environ_base or {})
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        assert cookie is not None, "signing in set no cookie"
        paths: list[str] = list(args.paths)
        agent_cookie = None
        if any(path.startswith("/care/") for path in paths):
            staff = app.test_client()
            StaffAuth(staff).sign_in(AGENT.email, AGENT.password, AGENT.totp_secret)
            queue = staff.get("/care/").get_data(as_text=True)  # the session now holds its CSRF secret
            agent_cookie = staff.get_cookie(app.config["SESSION_COOKIE_NAME"])
            assert agent_cookie is not None, "the agent's sign-in set no cookie"
            case = re.search(r'href="(/care/accounts/\d+)"', queue)
            assert case is not None, "the care queue links to no case"
            paths = [case[1] if path == FIRST_CASE else path for path in paths]

        bare = bare_app()
        cases: list[tuple[str, WSGI, dict[str, Any]]] = [("bare Flask /", bare, EnvironBuilder("/").get_environ())]
        for path in paths:
            if path.startswith("/care/") and agent_cookie is not None:  # a care page: as the agent
                cookie_header = {"Cookie": f"{agent_cookie.key}={agent_cookie.value}"}
                asked = EnvironBuilder(path, headers=cookie_header, environ_base=browser)
                cases.append((path, app, asked.get_environ()))
                continue
            signed_in_only = not (path == EMPTY or path.startswith(("/sign-in", "/learn")))
            if signed_in_only:  # a cardholder page: only signed in
                cookie_header = {"Cookie": f"{cookie.key}={cookie.value}"}
                asked = EnvironBuilder(path, headers=cookie_header, environ_base=browser)
                cases.append((path, app, asked.get_environ()))
                continue
            cases.append((path, app, EnvironBuilder(path).get_environ()))
            if path == EMPTY:
                cookie_header = {"Cookie": f"{cookie.key}={cookie.value}"}
                signed_in = EnvironBuilder(path, headers=cookie_header, environ_base=browser).get_environ()
                cases.append((f"{path} (signed in)", app, signed_in))
        for name, wsgi, environ in cases:
            status = call(wsgi, environ)
            assert status == 200, f"{name} answered {status}"
            per_request(wsgi, environ, 50)  # warm: templates, connections, caches
        statements = {
            name: statements_per_request(app, wsgi, environ) if wsgi is app else 0 for name, wsgi, environ in cases
        }

        cpu: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        wall: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        for _ in range(args.rounds):
            for name, wsgi, environ in cases:
                spent_cpu, spent_wall = per_request(wsgi, environ, args.requests)
                cpu[name].append(spent_cpu)
                wall[name].append(spent_wall)
        with app.app_context():
            from portal.extensions import db

            dialect = db.engine.dialect.name
    bare_cpu = statistics.median(cpu[cases[0][0]])
    print(f"{dialect}, {args.rounds} rounds x {args.requests} requests, WSGI called directly, median of rounds")
    print(f"{'page':<32} {'CPU µs':>8} {'wall µs':>8} {'bare/page (CPU)':>16} {'statements':>10}")
    for name, _, _ in cases:
        median_cpu, median_wall = statistics.median(cpu[name]), statistics.median(wall[name])
        ratio = bare_cpu / median_cpu
        print(f"{name:<32} {median_cpu:>8.0f} {median_wall:>8.0f} {ratio:>16.3f} {statements[name]:>10}")


if __name__ == "__main__":
    main()
