"""Benchmark `portal servicing run` for one day over 200,000 accounts and 50,000 active plans.

Run from the repository root:  python bench/servicing.py [--accounts N] [--plans N]

Creates the database ``portal_bench_servicing`` if missing (on the server of
PORTAL_BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_servicing),
builds the schema with the migrations, loads generated data with COPY: the accounts (most
dated yesterday, some never dated, a tenth current), 12-installment plans six months in
(a tenth paid in full: completed today; a tenth stopped after three: broken today; the
rest paid to date, some of them late within the grace days: still active) and open
promises (half of them paid). Then it runs the command as an operator does (a separate
``flask`` process) for the day, and prints its wall time against the 60 s target, its
CPU time, its peak memory (max RSS) and counts, beside a baseline: a plain
``SELECT count(*)`` scan of the installments, and the same rows fetched into Python.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.book import ensure_database, fresh_book  # noqa: E402
from portal import create_app  # noqa: E402
from portal.domain.dates import add_months  # noqa: E402

TARGET_S = 60.0
URL = os.environ.get("PORTAL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_servicing")
DAY = date(2027, 1, 31)
NOW = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
FIRST_DUE = add_months(DAY, -6)
AMOUNT = Decimal(100)


def paid_through(pattern: float) -> tuple[int, int, int]:
    """(installments paid in full, installment number paid in part, days the due dates
    are moved by) for a plan's pattern."""
    if pattern < 0.10:
        return 12, 0, 0  # paid ahead, all of it: completed today
    if pattern < 0.20:
        return 3, 0, 0  # stopped after three: broken today (two missed in a row)
    if pattern < 0.35:
        return 6, 7, -1  # the latest due a day ago, half paid: late, within the grace days
    if pattern < 0.50:
        return 6, 0, 3  # paid to date, the next due in 3 days: reminded today
    return 7, 0, 0  # paid to date


def load(accounts: int, plans: int, promises: int, seed: int) -> None:
    """Reset the schema and COPY the book."""
    from portal.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": URL})
    rng = random.Random(seed)
    with app.app_context():
        version = fresh_book()
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            columns = (
                "id, cardholder_id, reference, card_last4, card_hash, currency, credit_limit, principal, "
                "interest, fees, late_fees, overdue_amount, minimum_due, due_date, days_past_due, "
                "days_past_due_as_of, time_zone, flags, created_at"
            )
            with cursor.copy(f"COPY card_accounts ({columns}) FROM STDIN") as copy:
                for n in range(1, accounts + 1):
                    dpd = 0 if n % 10 == 0 else rng.randint(1, 200)
                    as_of = None if n % 7 == 0 else DAY - timedelta(days=1)
                    copy.write_row(
                        (n, 1, f"B{n:09d}", f"{n % 10000:04d}", f"{n:064x}", "CNY", Decimal(50000), Decimal(5000),
                         0, 0, 0, Decimal(500), Decimal(500), DAY, dpd, as_of, "Asia/Shanghai", "[]", NOW)
                    )  # fmt: skip
            step = max(1, accounts // plans)
            plan_columns = (
                "id, account_id, policy_version_id, plan_type, state, tier, terms, fingerprint, currency, "
                "balance_at_acceptance, total_repaid, total_cost, waived, apr, ear, locale, channel, created_at, "
                "accepted_at"
            )
            with cursor.copy(f"COPY plans ({plan_columns}) FROM STDIN") as copy:
                for plan_id in range(1, plans + 1):
                    copy.write_row(
                        (plan_id, 1 + (plan_id - 1) * step, version.id, "installment", "active", "M2", "{}", "0" * 64,
                         "CNY", Decimal(1200), Decimal(1200), 0, "{}", 0, 0, "en", "self_service", NOW, NOW)
                    )  # fmt: skip
            with cursor.copy(
                "COPY plan_installments (plan_id, number, due_date, principal, charge, total, paid) FROM STDIN"
            ) as copy:
                for plan_id in range(1, plans + 1):
                    full, part, moved = paid_through(rng.random())
                    for number in range(1, 13):
                        paid = AMOUNT if number <= full else AMOUNT / 2 if number == part else 0
                        due = add_months(FIRST_DUE, number - 1) + timedelta(days=moved)
                        copy.write_row((plan_id, number, due, AMOUNT, 0, AMOUNT, paid))
            plan_accounts = {1 + (p - 1) * step for p in range(1, plans + 1)}
            free = [n for n in range(1, accounts + 1) if n not in plan_accounts][:promises]
            with cursor.copy(
                "COPY promises (account_id, amount, currency, pay_by, state, created_at) FROM STDIN"
            ) as copy:
                for account_id in free:
                    copy.write_row((account_id, Decimal(300), "CNY", DAY - timedelta(days=2), "open", NOW))
            with cursor.copy(
                "COPY payments (account_id, paid_at, amount, currency, method, direction, status, source, "
                "booking_date, created_at) FROM STDIN"
            ) as copy:
                for account_id in free[::2]:  # half the promises paid in full
                    copy.write_row((account_id, NOW, Decimal(300), "CNY", "bank_transfer", "credit", "posted", "core",
                                    DAY - timedelta(days=5), NOW))  # fmt: skip
            raw.commit()
            cursor.execute("SELECT setval('card_accounts_id_seq', %s)", (accounts,))
            cursor.execute("SELECT setval('plans_id_seq', %s)", (plans,))
            cursor.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
        db.engine.dispose()


def baseline() -> tuple[float, float]:
    """(seconds for SELECT count(*) over the installments, seconds to fetch them all into Python)."""
    engine = sa.create_engine(URL)
    with engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(sa.text("SELECT count(*) FROM plan_installments")).scalar()
        count_s = time.perf_counter() - started
        started = time.perf_counter()
        rows = conn.execute(sa.text("SELECT plan_id, number, due_date, total, paid FROM plan_installments"))
        for _row in rows:
            pass
        fetch_s = time.perf_counter() - started
    engine.dispose()
    return count_s, fetch_s


def run_day() -> tuple[float, float, int, dict[str, int]]:
    """(wall seconds, CPU seconds, peak RSS in MB of the run's process, its JSON counts)."""
    env = dict(os.environ, PORTAL_DATABASE_URL=URL)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "portal", "servicing", "run", "--date", DAY.isoformat(),
         "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss // 1024, json.loads(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--plans", type=int, default=50_000)
    parser.add_argument("--promises", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20270131)
    args = parser.parse_args()

    ensure_database(URL)
    started = time.perf_counter()
    load(args.accounts, args.plans, args.promises, args.seed)
    print(
        f"loaded {args.accounts:,} accounts, {args.plans:,} plans ({args.plans * 12:,} installments), "
        f"{args.promises:,} promises in {time.perf_counter() - started:.1f} s"
    )
    count_s, fetch_s = baseline()
    print(
        f"baseline:  SELECT count(*) of installments {count_s:.2f} s; all of them fetched into Python {fetch_s:.2f} s"
    )
    wall, cpu, rss, counts = run_day()
    print(f"run:       {wall:6.1f} s wall, {cpu:5.1f} s CPU, peak RSS {rss} MB  (target <= {TARGET_S:.0f} s)")
    print(f"counts:    {json.dumps(counts)}")
    again, again_cpu, _rss, repeat = run_day()
    print(f"run again: {again:6.1f} s wall, {again_cpu:5.1f} s CPU  {json.dumps(repeat)}")
    print(f"load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    changed = sum(v for k, v in repeat.items() if k != "date" and not k.endswith("_checked"))
    ok = wall <= TARGET_S and changed == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
