"""Benchmark the policy impact preview over a large portfolio in PostgreSQL.

Run from the repository root:  python bench/policy_preview.py [--accounts N] [--runs N]

Creates the database ``portal_bench`` if missing (on the server of
PORTAL_BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench),
builds the schema with the migrations, loads N generated accounts (default 200,000) with
COPY, some open and broken plans, and prints the median time of ``preview()`` for the
active (default) policy and for a changed draft, against the target (< 2 s each).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

from bench.book import ensure_database, fresh_book  # noqa: E402
from portal import create_app  # noqa: E402
from portal.domain.default_policy import default_policy  # noqa: E402
from portal.domain.policy import OfferPolicy  # noqa: E402

TARGET_S = 2.0
URL = os.environ.get("PORTAL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench")
NOW = datetime(2027, 1, 31, 4, 0, tzinfo=UTC)
# Share of accounts per delinquency bucket, as in bench/plans.py.
BUCKETS = ((0, 0, 5), (1, 29, 43), (30, 59, 19), (60, 89, 11), (90, 179, 12), (180, 720, 10))
FLAGS = ("dispute", "fraud", "deceased", "vip", "optout_sms")
CENT = Decimal("0.01")


def draft_policy() -> OfferPolicy:
    """A realistic change: M1 split at 15 days, stricter M2 installments, bigger discounts."""
    base = default_policy()
    m1, m2, m3, m4, wo = base.tiers
    return replace(
        base,
        cooldown_days=60,
        blocking_flags=frozenset({"dispute", "deceased", "fraud", "vip"}),
        tiers=(
            replace(m1, max_dpd=14),
            replace(m2, name="M1b", min_dpd=15, installment=replace(m2.installment, min_down_payment=Decimal("0.1"))),
            replace(
                m3, settlement=replace(m3.settlement, max_discount=Decimal("0.3"), agent_max_discount=Decimal("0.1"))
            ),
            m4,
            replace(wo, settlement=replace(wo.settlement, max_discount=Decimal("0.6"))),
        ),
    )


def load(app: Flask, accounts: int, seed: int) -> None:
    """Reset the schema and COPY ``accounts`` generated accounts and their plans."""

    from portal.extensions import db

    with app.app_context():
        version = fresh_book()
        rng = random.Random(seed)
        weights = [b[2] for b in BUCKETS]
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            columns = (
                "id, cardholder_id, reference, card_last4, card_hash, currency, credit_limit, principal, "
                "interest, fees, late_fees, overdue_amount, minimum_due, due_date, days_past_due, time_zone, "
                "flags, created_at"
            )
            plans = []
            with cursor.copy(f"COPY card_accounts ({columns}) FROM STDIN") as copy:
                for n in range(1, accounts + 1):
                    low, high, _ = rng.choices(BUCKETS, weights)[0]
                    principal = Decimal(rng.randint(50_00, 300_000_00)).scaleb(-2)
                    interest = (principal * rng.randint(0, 15) / 100).quantize(CENT)
                    flags = [f for f in FLAGS if rng.random() < 0.01]
                    copy.write_row(
                        (
                            n,
                            1,
                            f"B{n:09d}",
                            f"{n % 10000:04d}",
                            f"{n:064x}",
                            "CNY" if rng.random() < 0.9 else "HKD",
                            Decimal(50000),
                            principal,
                            interest,
                            Decimal(rng.randint(0, 500)),
                            Decimal(rng.randint(0, 300)),
                            (principal / 10).quantize(CENT),
                            (principal / 20).quantize(CENT),
                            date(2027, 2, 15),
                            rng.randint(low, high),
                            "Asia/Shanghai",
                            json.dumps(flags),
                            NOW,
                        )
                    )
                    kind = rng.random()
                    if kind < 0.05:
                        plans.append((n, "active", None))
                    elif kind < 0.08:
                        plans.append((n, "broken", NOW - timedelta(days=rng.randint(1, 400))))
                    elif kind < 0.10:
                        plans.append((n, "completed", NOW - timedelta(days=rng.randint(1, 400))))
            plan_columns = (
                "account_id, policy_version_id, plan_type, state, tier, terms, fingerprint, currency, "
                "balance_at_acceptance, total_repaid, total_cost, waived, apr, ear, locale, channel, "
                "created_at, ended_at"
            )
            with cursor.copy(f"COPY plans ({plan_columns}) FROM STDIN") as copy:
                for account_id, state, ended in plans:
                    copy.write_row(
                        (
                            account_id,
                            version.id,
                            "installment",
                            state,
                            "M1",
                            "{}",
                            "0" * 64,
                            "CNY",
                            0,
                            0,
                            0,
                            "{}",
                            0,
                            0,
                            "en",
                            "self_service",
                            NOW - timedelta(days=500),
                            ended,
                        )
                    )
            raw.commit()
            cursor.execute("SELECT setval('card_accounts_id_seq', %s)", (accounts,))
            cursor.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()


def time_preview(app: Flask, policy: OfferPolicy, runs: int) -> tuple[float, list[float], int]:
    from portal.extensions import db
    from portal.offers.impact import preview

    times = []
    accounts = 0
    with app.app_context():
        preview(policy, NOW)  # warm caches, as in a running server
        for _ in range(runs):
            started = time.perf_counter()
            impact = preview(policy, NOW)
            times.append(time.perf_counter() - started)
            accounts = impact.total.accounts
        db.session.remove()
    return statistics.median(times), times, accounts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20270131)
    parser.add_argument("--reuse", action="store_true", help="keep the data already loaded")
    args = parser.parse_args()

    ensure_database(URL)
    app = create_app({"SQLALCHEMY_DATABASE_URI": URL, "TESTING": True})
    if not args.reuse:
        started = time.perf_counter()
        load(app, args.accounts, args.seed)
        elapsed = time.perf_counter() - started
        print(f"loaded {args.accounts:,} accounts into {URL.rsplit('/', 1)[1]} in {elapsed:.1f} s")
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; preview() median of {args.runs} runs, "
        f"target < {TARGET_S:.0f} s each:"
    )
    for label, policy in (("active (default policy)", default_policy()), ("draft (changed tiers)", draft_policy())):
        median, times, accounts = time_preview(app, policy, args.runs)
        verdict = "OK" if median < TARGET_S else "OVER TARGET"
        print(
            f"  {label:<24} {median:6.3f} s  (runs {', '.join(f'{t:.3f}' for t in times)}; "
            f"{accounts:,} CNY accounts)  {verdict}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
