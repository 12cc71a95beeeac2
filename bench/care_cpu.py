"""CPU time per request of the care pages, beside a bare Flask route in the same process.

Run from the repository root:
    python bench/care_cpu.py [--database URL] [--requests N] [--rounds R] [PATH ...]

The machine is shared, so wall-clock figures wander; this counts this process's CPU time
(``time.process_time``) over N requests of each page through the test client, the bare
one-route app of ``bench/bare_flask.py`` measured the same way in every round, and prints
the median of R rounds, the page's cost as a multiple of the bare route's, and the SQL
statements one request sends (their round trips and the database server's own time are
not in the CPU figure). Pages: the case file (``case``: the first in the care queue, as
in ``bench/pages.py``) and the care queue (``/care/``) by default, as the demo care
agent, on a database loaded with the demo data (default: a temporary SQLite file; pass
the URL of an empty PostgreSQL database to measure there, as issue 15 does).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bare_flask import app as bare_app  # noqa: E402 - after sys.path
from sqlalchemy import event  # noqa: E402 - after sys.path

from portal.demo import load_demo  # noqa: E402 - after sys.path
from portal.extensions import db  # noqa: E402 - after sys.path
from portal.staff.service import DEMO_STAFF  # noqa: E402 - after sys.path
from portal.unit_of_work import unit_of_work  # noqa: E402 - after sys.path
from tests.conftest import make_app, reset_schema  # noqa: E402 - after sys.path
from tests.staff_helpers import StaffAuth  # noqa: E402 - after sys.path

AGENT = next(s for s in DEMO_STAFF if s.email == "agent@example.com")


def cpu_per_request(client: Any, path: str, requests: int) -> float:
    """Milliseconds of this process's CPU time per GET of ``path``."""
    began = time.process_time()
    for _ in range(requests):
        client.get(path)
    return (time.process_time() - began) * 1000 / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["case", "/care/"])
    parser.add_argument("--database", help="SQLAlchemy URL of an empty database (default: SQLite)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(args.database or f"sqlite:///{tmp}/care.sqlite3", RATELIMIT_ENABLED=False)
        reset_schema(app)
        with app.app_context(), unit_of_work():
            load_demo()
        agent, bare = app.test_client(), bare_app.test_client()
        StaffAuth(agent).sign_in(AGENT.email, AGENT.password, AGENT.totp_secret)
        with app.app_context():
            engine = db.engine
        paths = []
        for path in args.paths:
            if path == "case":
                found = re.search(r'href="(/care/accounts/\d+)"', agent.get("/care/").text)
                assert found is not None, "no case file in the care queue"
                path = found[1]
            for _ in range(20):  # compiled templates, connections, caches
                assert agent.get(path).status_code == 200, path
            paths.append(path)
        for _ in range(200):
            bare.get("/")

        figures: dict[str, list[float]] = {"bare": [], **{path: [] for path in paths}}
        for _ in range(args.rounds):
            figures["bare"].append(cpu_per_request(bare, "/", args.requests * 5))
            for path in paths:
                figures[path].append(cpu_per_request(agent, path, args.requests))
        bare_ms = statistics.median(figures["bare"])
        print(f"{'page':<22} {'CPU ms/req':>10} {'x bare':>8} {'SQL':>4}")
        print(f"{'bare Flask /':<22} {bare_ms:>10.3f} {1:>8.1f}")
        for path in paths:
            statements: list[str] = []

            def note(_conn: Any, _cursor: Any, statement: str, *_args: Any, seen: list[str] = statements) -> None:
                seen.append(statement)

            event.listen(engine, "before_cursor_execute", note)
            agent.get(path)
            event.remove(engine, "before_cursor_execute", note)
            ms = statistics.median(figures[path])
            print(f"{path:<22} {ms:>10.3f} {ms / bare_ms:>8.1f} {len(statements):>4}")


if __name__ == "__main__":
    main()
