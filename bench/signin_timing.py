"""Time the first sign-in step and a wrong code for each outcome: they should not differ.

Run from the repository root:  python bench/signin_timing.py [--database URL] [--repeats N]

An unknown card, a real card with the wrong date of birth and the right pair each post
the first step and then one wrong code, N times, interleaved (so load on the machine
hits every case alike), each from its own address. Prints the median and the 10th/90th
percentiles in milliseconds per case and step. Default database: a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy URL of an empty test database (default: SQLite)")
    parser.add_argument("--repeats", type=int, default=60)
    args = parser.parse_args()

    from portal.extensions import db
    from tests.conftest import CARD, DOB, csrf_token, make_account, make_app, reset_schema

    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(args.database or f"sqlite:///{tmp}/bench.sqlite3", RATELIMIT_ENABLED=False)
        reset_schema(app)
        make_account(app)
        cases = {
            "unknown card": ("4111111111111111", DOB.isoformat()),
            "wrong birth date": (CARD, "1990-01-01"),
            "right pair": (CARD, DOB.isoformat()),
        }
        times: dict[tuple[str, str], list[float]] = {(name, step): [] for name in cases for step in ("start", "code")}
        for n in range(args.repeats + 5):
            for index, (name, (card, dob)) in enumerate(cases.items()):
                client = app.test_client()
                client.environ_base["REMOTE_ADDR"] = f"10.0.{index}.{n % 250}"
                token = csrf_token(client.get("/sign-in").data)
                began = time.perf_counter()
                client.post("/sign-in", data={"csrf_token": token, "card_number": card, "date_of_birth": dob})
                started = time.perf_counter() - began
                token = csrf_token(client.get("/sign-in/code").data)
                began = time.perf_counter()
                client.post("/sign-in/code", data={"csrf_token": token, "code": "000000"})
                coded = time.perf_counter() - began
                if n >= 5:  # the first rounds warm up caches and connections
                    times[(name, "start")].append(started * 1000)
                    times[(name, "code")].append(coded * 1000)
            if n % 4 == 3:  # keep the card unlocked: five wrong codes would lock it
                with app.app_context():
                    db.session.execute(db.text("UPDATE card_accounts SET signin_locked_until = NULL"))
                    db.session.commit()
        for (name, step), samples in times.items():
            deciles = statistics.quantiles(samples, n=10)
            print(
                f"{step:5} {name:17} median {statistics.median(samples):6.2f} ms"
                f"   p10 {deciles[0]:6.2f}   p90 {deciles[-1]:6.2f}   (n={len(samples)})"
            )
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
