"""Where one request of a cardholder page spends its time: cProfile and the SQL it runs.

Run from the repository root:
    python bench/profile_pages.py [--database URL] [--repeats N] [--top N] [PATH ...]

Loads the demo data into an empty database (default: a temporary SQLite file; pass a
PostgreSQL URL of an empty database to profile there), signs a demo cardholder and the
demo care agent in through the real pages, warms the worker up, then for each page
(default: /account and /plan/offers; a path under /care/ is asked as the agent,
/sign-in and /learn/… signed out, any other as the cardholder; ``case`` stands for the
first case file in the care queue) prints the median time of N requests, the SQL statements one request runs,
and the functions that cost most over M profiled requests (own time and cumulative). The
profile counts this process's CPU time, not wall time, so that other load on a shared
machine does not land on whichever function was running; time the database server spends
is left out of it (the statements are listed instead).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402 - after sys.path

from portal.demo import DEMO_CARDHOLDERS, load_demo  # noqa: E402 - after sys.path
from portal.extensions import db  # noqa: E402 - after sys.path
from portal.staff.service import DEMO_STAFF  # noqa: E402 - after sys.path
from portal.unit_of_work import unit_of_work  # noqa: E402 - after sys.path
from tests.conftest import CardholderAuth, make_app, reset_schema  # noqa: E402 - after sys.path
from tests.staff_helpers import StaffAuth  # noqa: E402 - after sys.path

CARDHOLDER = DEMO_CARDHOLDERS[3]  # the same cardholder and agent as bench/pages.py
AGENT = next(s for s in DEMO_STAFF if s.email == "agent@example.com")
PUBLIC = ("/sign-in", "/learn")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["/account", "/plan/offers"])
    parser.add_argument("--database", help="SQLAlchemy URL of an empty database (default: SQLite)")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--profiled", type=int, default=20, help="requests in the profile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(args.database or f"sqlite:///{tmp}/profile.sqlite3", RATELIMIT_ENABLED=False)
        reset_schema(app)
        with app.app_context(), unit_of_work():  # load_demo flushes; the unit commits
            load_demo()
        # The signed-out visitor keeps no cookie, as wrk in bench/pages.py does not.
        cardholder, agent, public = app.test_client(), app.test_client(), app.test_client(use_cookies=False)
        CardholderAuth(cardholder).sign_in(card=CARDHOLDER.card_number, dob=CARDHOLDER.date_of_birth.isoformat())
        StaffAuth(agent).sign_in(AGENT.email, AGENT.password, AGENT.totp_secret)
        with app.app_context():
            engine = db.engine
        statements: list[str] = []

        def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(" ".join(statement.split())[:150])

        for path in args.paths:
            if path == "case":
                found = re.search(r'href="(/care/accounts/\d+)"', agent.get("/care/").text)
                assert found is not None, "no case file in the care queue"
                path = found[1]
            client = agent if path.startswith("/care/") else public if path.startswith(PUBLIC) else cardholder
            for _ in range(5):  # compiled templates, connections, caches
                assert client.get(path).status_code == 200, path
            times = []
            for _ in range(args.repeats):
                began = time.perf_counter()
                client.get(path)
                times.append((time.perf_counter() - began) * 1000)
            statements.clear()
            event.listen(engine, "before_cursor_execute", note)
            client.get(path)
            event.remove(engine, "before_cursor_execute", note)
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            for _ in range(args.profiled):
                client.get(path)
            profile.disable()
            print(f"\n=== {path}: median {statistics.median(times):.2f} ms over {args.repeats} requests (test client)")
            print(f"--- {len(statements)} SQL statements in one request:")
            for statement in statements:
                print(f"    {statement}")
            for order in ("tottime", "cumulative"):
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats(order).print_stats(args.top)
                print(f"--- top {args.top} by {order}, CPU seconds over {args.profiled} requests:")
                print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:8000])


if __name__ == "__main__":
    main()
