"""Time the care queue at 100,000 accounts on PostgreSQL (issue 17: at most 300 ms).

Run from the repository root:  python bench/care_queue.py [--accounts N] [--runs N] [--reuse] [--explain]

Creates the database ``portal_bench_care_queue`` if missing (on the server of
PORTAL_BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_care_queue),
builds the schema with the migrations and loads, with COPY, N generated accounts (default
100,000) spread over the tiers as in bench/plans.py, with a holder each, some flags
(disputes, opt-outs), plans (active, broken, waiting for approval), open promises, and a
workbench row for a fifth of them (an owner, the last contact and its outcome, a
call-back due). Then it signs a care agent in and GETs queue pages through the Flask test
client as a browser would (the whole request: session, rendering), printing the median
and the slowest of ``--runs`` requests of each against the target, and of "next case"
(each press draws and leases a case). ``--explain`` prints
EXPLAIN ANALYZE of the queue's statements for the first page and page 2,000.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.book import ensure_database, fresh_book  # noqa: E402

TARGET_MS = 300.0
URL = os.environ.get("PORTAL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_care_queue")
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
BUCKETS = ((0, 0, 5), (1, 29, 43), (30, 59, 19), (60, 89, 11), (90, 179, 12), (180, 720, 10))
FLAGS = ("dispute", "optout_sms", "optout_email", "do_not_contact")
OUTCOMES = ("reached", "no_answer", "contacted_promised", "wrong_number", "not_now")
CENT = Decimal("0.01")
PAGES = (
    ("first page, M1", "/care/?tier=M1"),
    ("first page, all overdue", "/care/?tier=all"),
    ("page 2,000, all overdue", "/care/?tier=all&page=2000"),
    ("page 1,000, M1", "/care/?tier=M1&page=1000"),
    ("M2 by overdue amount", "/care/?tier=M2&sort=amount"),
    ("filter: on a plan", "/care/?tier=all&state=on_plan"),
    ("filter: promise pending", "/care/?tier=all&state=promise_pending"),
    ("filter: disputed", "/care/?tier=all&state=disputed"),
    ("filter: nobody owns, M3", "/care/?tier=M3&owner=unowned"),
    ("filter: last outcome no answer", "/care/?tier=all&outcome=no_answer"),
    ("filter: next action due", "/care/?tier=all&next_action=due"),
    ("filter: balance 5,000-20,000", "/care/?tier=all&min_balance=5000&max_balance=20000"),
)


def load(app: Any, accounts: int, seed: int) -> None:
    """Reset the schema and COPY ``accounts`` accounts with their holders, plans, promises
    and workbench rows (owned by five bench agents)."""
    from portal.extensions import db

    rng = random.Random(seed)
    with app.app_context():
        version = fresh_book()
        staff_ids = _staff(app)
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(
                "COPY cardholders (id, full_name, date_of_birth_hash, phone, locale, created_at) FROM STDIN"
            ) as copy:
                for n in range(2, accounts + 2):
                    copy.write_row((n, f"Holder {n}", "0" * 64, f"+86 138 {n:08d}", "en", NOW))
            columns = (
                "id, cardholder_id, reference, card_last4, card_hash, currency, credit_limit, principal, "
                "interest, fees, late_fees, overdue_amount, minimum_due, due_date, days_past_due, time_zone, "
                "flags, created_at"
            )
            weights = [b[2] for b in BUCKETS]
            plans, promises, states = [], [], []
            with cursor.copy(f"COPY card_accounts ({columns}) FROM STDIN") as copy:
                for n in range(1, accounts + 1):
                    low, high, _ = rng.choices(BUCKETS, weights)[0]
                    principal = Decimal(rng.randint(50_00, 300_000_00)).scaleb(-2)
                    flags = [f for f in FLAGS if rng.random() < 0.01]
                    copy.write_row(
                        (n, n + 1, f"B{n:09d}", f"{n % 10000:04d}", f"{n:064x}", "CNY", Decimal(500000), principal,
                         (principal * rng.randint(0, 15) / 100).quantize(CENT), Decimal(rng.randint(0, 500)),
                         Decimal(rng.randint(0, 300)), (principal / 10).quantize(CENT),
                         (principal / 20).quantize(CENT), date(2026, 12, 15), rng.randint(low, high),
                         "Asia/Shanghai", json.dumps(flags), NOW)
                    )  # fmt: skip
                    kind = rng.random()
                    if kind < 0.05:
                        plans.append((n, "active"))
                    elif kind < 0.08:
                        plans.append((n, "broken"))
                    elif kind < 0.085:
                        plans.append((n, "pending_approval"))
                    if rng.random() < 0.03:
                        promises.append(n)
                    if rng.random() < 0.2:
                        states.append(n)
            with cursor.copy(
                "COPY plans (account_id, policy_version_id, plan_type, state, tier, terms, fingerprint, currency, "
                "balance_at_acceptance, total_repaid, total_cost, waived, apr, ear, locale, channel, created_at) "
                "FROM STDIN"
            ) as copy:
                for account_id, state in plans:
                    copy.write_row(
                        (account_id, version.id, "installment", state, "M1", "{}", "0" * 64, "CNY", 0, 0, 0, "{}",
                         0, 0, "en", "self_service", NOW - timedelta(days=90))
                    )  # fmt: skip
            with cursor.copy(
                "COPY promises (account_id, amount, currency, pay_by, state, created_at) FROM STDIN"
            ) as copy:
                for account_id in promises:
                    copy.write_row((account_id, Decimal(500), "CNY", date(2026, 12, 5), "open", NOW))
            with cursor.copy(
                "COPY case_states (account_id, owner_id, owned_until, owned_since, last_contact_at, last_outcome, "
                "last_channel, next_action_at, updated_at) FROM STDIN"
            ) as copy:
                for account_id in states:
                    owner = rng.choice(staff_ids) if rng.random() < 0.5 else None
                    contact = NOW - timedelta(hours=rng.randint(1, 500))
                    due = NOW + timedelta(hours=rng.randint(-48, 96)) if rng.random() < 0.3 else None
                    copy.write_row(
                        (account_id, owner, None, NOW if owner else None, contact, rng.choice(OUTCOMES), "phone",
                         due, NOW)
                    )  # fmt: skip
            raw.commit()
            cursor.execute("SELECT setval('card_accounts_id_seq', %s)", (accounts,))
            cursor.execute("SELECT setval('cardholders_id_seq', %s)", (accounts + 1,))
            raw.commit()
        finally:
            raw.close()
        # A database in steady use is vacuumed by autovacuum: its visibility map lets the
        # queue's index-only scans skip the table.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def _staff(app: Any) -> list[int]:
    from portal.staff.models import Role
    from tests.staff_helpers import make_staff

    return [make_staff(app, Role.AGENT, f"bench.agent{n}@bank.example")[0] for n in range(5)]


def signed_in_agent(app: Any) -> Any:
    from portal.staff.models import Role
    from tests.staff_helpers import StaffAuth, make_staff

    client = app.test_client()
    _id, email, password, secret = make_staff(app, Role.AGENT, f"bench.{time.time_ns()}@bank.example")
    StaffAuth(client).sign_in(email, password, secret)
    return client


def time_pages(client: Any, runs: int) -> None:
    print(f"{'page':<34} {'median ms':>10} {'max ms':>8}  rows  verdict")
    for label, path in PAGES:
        response = client.get(path)  # warm: compiled statements and templates
        assert response.status_code == 200, (path, response.status_code)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        rows = response.text.count('href="/care/accounts/') - response.text.count("#work")
        median = statistics.median(times)
        verdict = "OK" if median <= TARGET_MS else "OVER TARGET"
        print(f"{label:<34} {median:>10.1f} {max(times):>8.1f}  {rows:>4}  {verdict}")


def time_next_case(client: Any, runs: int) -> None:
    """Press "next case" ``runs`` times (each draws and leases a case, as an agent would)."""
    from tests.staff_helpers import StaffAuth

    for label, tier in (("next case, M1", "M1"), ("next case, all tiers", "")):
        times = []
        for _ in range(runs):
            token = StaffAuth(client).token()
            started = time.perf_counter()
            response = client.post("/care/next", data={"csrf_token": token, "tier": tier})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 302 and "/care/accounts/" in response.headers["Location"], response.status
        median = statistics.median(times)
        verdict = "OK" if median <= TARGET_MS else "OVER TARGET"
        print(f"{label:<34} {median:>10.1f} {max(times):>8.1f}     1  {verdict}")


def explain(app: Any) -> None:
    from sqlalchemy import event

    from portal.extensions import db

    client = signed_in_agent(app)
    for path in ("/care/?tier=M1", "/care/?tier=all&page=2000", "/care/?tier=all&state=on_plan"):
        seen: list[tuple[str, Any]] = []

        def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any, into: list = seen) -> None:
            if "FROM card_accounts" in statement:
                into.append((statement, parameters))

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", note)
        client.get(path)
        event.remove(engine, "before_cursor_execute", note)
        with engine.connect() as conn:
            for statement, parameters in seen:
                print(f"--- {path}")
                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS OFF) " + statement, parameters).all()
                print("\n".join(row[0] for row in plan))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--reuse", action="store_true", help="keep the data already loaded")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the queue's statements")
    args = parser.parse_args()

    from portal import clock
    from tests.conftest import make_app

    ensure_database(URL)
    app = make_app(URL, RATELIMIT_ENABLED=False)
    clock.freeze(NOW)
    if not args.reuse:
        started = time.perf_counter()
        load(app, args.accounts, args.seed)
        print(f"loaded {args.accounts:,} accounts in {time.perf_counter() - started:.1f} s")
    if args.explain:
        explain(app)
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; the care queue through the test client, "
        f"median of {args.runs} requests, target <= {TARGET_MS:.0f} ms:"
    )
    agent = signed_in_agent(app)
    time_pages(agent, args.runs)
    time_next_case(agent, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
