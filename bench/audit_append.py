"""Benchmark audit appends on PostgreSQL: N threads, each K transactions of one audit event.

Run from the repository root:  python bench/audit_append.py [--threads N] [--transactions K] [--hold-ms MS]

Each transaction records one event and then stays open ``--hold-ms`` milliseconds, as a
request does while it writes the rest of its change; then it commits. Prints
transactions per second and the p50 / p99 latency of one transaction (record to commit
returned), then checks the chain. Needs PostgreSQL (``PORTAL_TEST_PG_ADMIN_URL``, as the
tests); the database is ``PORTAL_BENCH_PG_DB`` (default ``portal_bench_audit``), rebuilt.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--transactions", type=int, default=100, help="per thread")
    parser.add_argument("--hold-ms", type=float, default=5.0, help="time a transaction stays open after its record")
    args = parser.parse_args()

    from sqlalchemy import text

    from portal.audit.actions import Action
    from portal.audit.service import Actor, record, verify_chain
    from portal.extensions import db
    from tests.conftest import make_app, postgres_url, reset_schema

    url = postgres_url(os.environ.get("PORTAL_BENCH_PG_DB", "portal_bench_audit"))
    if url is None:
        sys.exit("PostgreSQL is not available at PORTAL_TEST_PG_ADMIN_URL")
    app = make_app(url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 2 * args.threads + 2, "max_overflow": 0})
    reset_schema(app)

    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(args.threads + 1)

    def worker(n: int) -> None:
        mine = []
        with app.app_context():
            start.wait()
            for k in range(args.transactions):
                t0 = time.perf_counter()
                record(Actor("system", ip="127.0.0.1"), Action.Case.VIEWED, ("bench", f"{n}-{k}"), after={"k": k})
                if args.hold_ms:
                    time.sleep(args.hold_ms / 1000)
                db.session.commit()
                mine.append(time.perf_counter() - t0)
            db.session.remove()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.threads)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0

    total = args.threads * args.transactions
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"{args.threads} threads x {args.transactions} transactions, each held {args.hold_ms:g} ms after its record")
    print(f"  {total / elapsed:8.1f} transactions/s   ({elapsed:.2f} s for {total})")
    print(f"  p50 {statistics.median(ordered) * 1e3:7.1f} ms   p99 {p99 * 1e3:7.1f} ms")
    with app.app_context():
        problem = verify_chain()
        # Events still waiting for a sealer (0 before this change: every append chained itself).
        unsealed = db.session.execute(text("SELECT count(*) FROM audit_events WHERE hash IS NULL")).scalar()
        print(f"  chain: {'intact' if problem is None else problem}; events not sealed yet: {unsealed}")
        db.engine.dispose()


if __name__ == "__main__":
    main()
