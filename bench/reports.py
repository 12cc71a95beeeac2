"""Benchmark the results pages over a book of 200,000 accounts and 2,000,000 events.

Run from the repository root:  python bench/reports.py [--accounts N] [--links N] [--days N]

Creates the database ``portal_bench_reports`` if missing (on the server of
PORTAL_BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_reports),
builds the schema with the migrations and loads, with COPY, a generated book spread over
``--days`` days: accounts in three languages and two currencies; plan links sent by twenty
agents by SMS or e-mail with their funnel stamps; plans accepted through links or
self-started, with installments paid to different points, some completed or broken;
payments; case-file events (promises made, kept, broken; opt-outs; disputes; ratings with
comments, some holding card numbers); and sign-ins. It counts the events it made.

Then it folds the days into the report tables as the servicing run would (one
``fold_day`` per day, and the run's own ``refresh`` at the start of two months, with
accounts moving between tiers in between for the cure and roll figures), timing each,
and requests every report page and CSV through the app (signed in as a policy admin),
printing the median of a few requests of each against the 1 s target, and the figures.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.book import ensure_database, fresh_book  # noqa: E402
from portal import create_app  # noqa: E402

TARGET_S = 1.0
URL = os.environ.get("PORTAL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_reports")
LAST = date(2027, 3, 1)  # the first of a month: its run takes March's snapshot against February's
LOCALES = ("en", "zh_Hans", "zh_Hant")
BUCKETS = ((0, 0, 10), (1, 29, 40), (30, 59, 20), (60, 89, 12), (90, 179, 10), (180, 400, 8))
CENT = Decimal("0.01")


def at(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 86_399))


def installments(plan_id: int) -> int:
    """A tenth of the plans are short (three payments), so some complete within the range."""
    return 3 if plan_id % 10 == 0 else 12


def load(app, accounts: int, links: int, days: int, seed: int) -> dict[str, int]:
    """Reset the schema and COPY the book; the number of events of each kind."""
    from portal.extensions import db

    rng = random.Random(seed)
    first = LAST - timedelta(days=days - 1)
    made: dict[str, int] = {}
    with app.app_context():
        version = fresh_book(("CNY", "HKD"))
        versions = dict(
            db.session.execute(sa.text("SELECT currency, id FROM policy_versions WHERE state = 'active'")).all()
        )
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(
                "INSERT INTO cardholders (id, full_name, date_of_birth_hash, phone, locale, created_at) VALUES "
                "(2, 'Bench', repeat('0', 64), '+86 0', 'zh_Hans', now()), "
                "(3, 'Bench', repeat('0', 64), '+86 0', 'zh_Hant', now())"
            )
            currency_of: dict[int, str] = {}
            columns = (
                "id, cardholder_id, reference, card_last4, card_hash, currency, credit_limit, principal, "
                "interest, fees, late_fees, overdue_amount, minimum_due, due_date, days_past_due, "
                "days_past_due_as_of, time_zone, flags, created_at"
            )
            weights = [b[2] for b in BUCKETS]
            with cursor.copy(f"COPY card_accounts ({columns}) FROM STDIN") as copy:
                for n in range(1, accounts + 1):
                    low, high, _ = rng.choices(BUCKETS, weights)[0]
                    currency = "CNY" if rng.random() < 0.85 else "HKD"
                    currency_of[n] = currency
                    principal = Decimal(rng.randint(1_000_00, 100_000_00)).scaleb(-2)
                    copy.write_row(
                        (n, 1 + n % 3, f"B{n:09d}", f"{n % 10000:04d}", f"{n:064x}", currency, Decimal(50000),
                         principal, 0, 0, 0, (principal / 10).quantize(CENT), (principal / 20).quantize(CENT),
                         LAST, rng.randint(low, high), LAST - timedelta(days=1), "Asia/Shanghai", "[]",
                         at(first, rng))
                    )  # fmt: skip

            # Links and the plans some of them lead to; self-started plans besides.
            plans: list[tuple] = []
            with_plan: set[int] = set()  # one plan per account: the database allows one open
            link_rows: list[tuple] = []
            stamps = 0
            for n in range(1, links + 1):
                account = rng.randint(1, accounts)
                sent = at(first + timedelta(days=rng.randrange(days)), rng)
                steps = [sent]
                for chance in (0.92, 0.65, 0.6, 0.75):
                    if rng.random() >= chance:
                        break
                    steps.append(steps[-1] + timedelta(minutes=rng.randint(1, 600)))
                plan_id = None
                if len(steps) == 5 and rng.random() < 0.5 and account not in with_plan:
                    with_plan.add(account)
                    plan_id = len(plans) + 1
                    plans.append((plan_id, account, steps[-1] + timedelta(minutes=5), "link"))
                stamps += len(steps)
                link_rows.append((n, account, steps, plan_id))
            for _ in range(links // 8):
                account = rng.randint(1, accounts)
                if account not in with_plan:
                    with_plan.add(account)
                    started = at(first + timedelta(days=rng.randrange(days)), rng)
                    plans.append((len(plans) + 1, account, started, "self_service"))
            made["link steps stamped"] = stamps

            plan_columns = (
                "id, account_id, policy_version_id, plan_type, state, tier, terms, fingerprint, currency, "
                "balance_at_acceptance, total_repaid, total_cost, waived, apr, ear, locale, channel, created_at, "
                "accepted_at, ended_at"
            )
            progress: dict[int, int] = {}
            with cursor.copy(f"COPY plans ({plan_columns}) FROM STDIN") as copy:
                for plan_id, account, accepted, channel in plans:
                    months = max(0, (LAST - accepted.date()).days // 30)
                    size = installments(plan_id)
                    paid = min(size, max(0, months - (rng.random() < 0.2) * rng.randint(1, 3)))
                    state, ended = "active", None
                    if paid == size:
                        state, ended = "completed", accepted + timedelta(days=30 * size)
                    elif paid < months - 1:
                        state, ended = "broken", accepted + timedelta(days=30 * (paid + 2))
                    progress[plan_id] = paid
                    copy.write_row(
                        (plan_id, account, versions[currency_of[account]], "installment", state,
                         rng.choice(("M1", "M2", "M3", "M4")), "{}", "0" * 64, currency_of[account], Decimal(1200),
                         Decimal(1200), 0, "{}", 0, 0, LOCALES[account % 3], channel, accepted, accepted, ended)
                    )  # fmt: skip
            with cursor.copy(
                "COPY plan_installments (plan_id, number, due_date, principal, charge, total, paid) FROM STDIN"
            ) as copy:
                for plan_id, _account, accepted, _channel in plans:
                    for number in range(1, installments(plan_id) + 1):
                        due = accepted.date() + timedelta(days=30 * number)
                        paid = Decimal(100) if number <= progress[plan_id] else Decimal(0)
                        copy.write_row((plan_id, number, due, Decimal(100), 0, Decimal(100), paid))
            link_columns = (
                "id, account_id, token_hash, channel, created_by, created_at, expires_at, plan_id, used_at, sent_at, "
                "delivered_at, opened_at, verified_at, offer_viewed_at, accepted_at"
            )
            with cursor.copy(f"COPY plan_links ({link_columns}) FROM STDIN") as copy:
                for n, account, steps, plan_id in link_rows:
                    padded = [*steps, None, None, None, None, None][:5]
                    accepted = steps[-1] + timedelta(minutes=5) if plan_id else None
                    copy.write_row(
                        (n, account, f"{n:064x}", "sms" if n % 10 < 7 else "email", f"staff:{1 + n % 20}",
                         steps[0] - timedelta(minutes=1), steps[0] + timedelta(days=3), plan_id, accepted, *padded,
                         accepted)
                    )  # fmt: skip

            # Payments, case-file events and sign-ins.
            payments = 0
            with cursor.copy(
                "COPY payments (account_id, plan_id, paid_at, amount, currency, method, direction, status, source, "
                "booking_date, created_at) FROM STDIN"
            ) as copy:
                for plan_id, account, accepted, _channel in plans:
                    for number in range(1, progress[plan_id] + 1):
                        day = accepted.date() + timedelta(days=30 * number)
                        if day > LAST:
                            break
                        when = at(day, rng)
                        copy.write_row((account, plan_id, when, Decimal(100), currency_of[account], "bank_transfer",
                                        "credit", "posted", "core", day, when))  # fmt: skip
                        payments += 1
                while payments < accounts * 2:
                    account = rng.randint(1, accounts)
                    day = first + timedelta(days=rng.randrange(days))
                    when = at(day, rng)
                    amount = Decimal(rng.randint(100_00, 5_000_00)).scaleb(-2)
                    copy.write_row((account, None, when, amount, currency_of[account], "bank_transfer", "credit",
                                    "posted", "core", day, when))  # fmt: skip
                    payments += 1
            made["payments"] = payments
            kinds = (
                ("promise", 0.5),
                ("promise_kept", 0.25),
                ("promise_broken", 0.2),
                ("opted_out", 0.04),
                ("flag_set", 0.01),
            )
            case_events = 0
            with cursor.copy(
                "COPY case_events (account_id, kind, data, actor_type, actor_id, created_at) FROM STDIN"
            ) as copy:
                for kind, share in kinds:
                    for _ in range(int(accounts * 1.5 * share)):
                        account = rng.randint(1, accounts)
                        data = '{"flag": "dispute"}' if kind == "flag_set" else "{}"
                        copy.write_row((account, kind, data, "system", "servicing",
                                        at(first + timedelta(days=rng.randrange(days)), rng)))  # fmt: skip
                        case_events += 1
                for plan_id, account, accepted, _channel in plans[::3]:
                    comment = rng.choice(
                        ("Easy, thanks", "My card 6222 0212 3456 7890 was slow", "", "好用", "電話 138 0013 8000")
                    )
                    data = json.dumps({"plan": plan_id, "rating": rng.randint(1, 5), "comment": comment})
                    copy.write_row(
                        (account, "rating", data, "cardholder", str(account), accepted + timedelta(minutes=3))
                    )
                    case_events += 1
            made["case-file events"] = case_events
            target_events = 2_000_000 * accounts // 200_000
            signins = max(0, target_events - stamps - payments - case_events)
            with cursor.copy(
                "COPY audit_events (occurred_at, actor_type, actor_id, action, object_type, object_id, chain_version, "
                "nonce, content_mac) FROM STDIN"
            ) as copy:
                for n in range(signins):
                    account = rng.randint(1, accounts)
                    copy.write_row((at(first + timedelta(days=rng.randrange(days)), rng), "cardholder", str(account),
                                    "signin.succeeded", "card_account", str(account), 3, "0", f"{n:064x}"))  # fmt: skip
            made["sign-ins"] = signins
            for table, count in (("card_accounts", accounts), ("plans", len(plans)), ("plan_links", links)):
                cursor.execute(f"SELECT setval('{table}_id_seq', %s)", (count,))
            raw.commit()
            cursor.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
        made["plans"] = len(plans)
        db.engine.dispose()
        del version
    return made


def fold(app, days: int) -> dict[str, float]:
    """Fold every day as the daily runs would have; seconds for each part."""
    from portal.extensions import db
    from portal.reporting.aggregate import rebuild, refresh

    first = LAST - timedelta(days=days - 1)
    timings: dict[str, float] = {}
    with app.app_context():
        month_before = (LAST - timedelta(days=1)).replace(day=1)
        started = time.perf_counter()
        refresh(month_before)  # February's run: spells opened, February's snapshot
        timings["refresh (first run of a month)"] = time.perf_counter() - started
        # A month on: a third of the accounts roll a tier further, every seventh is current again.
        db.session.execute(sa.text("UPDATE card_accounts SET days_past_due = days_past_due + 30 WHERE id % 3 = 0"))
        db.session.execute(sa.text("UPDATE card_accounts SET days_past_due = 0 WHERE id % 7 = 0"))
        db.session.commit()
        started = time.perf_counter()
        days_folded = rebuild(first, LAST - timedelta(days=1))
        timings[f"fold {days_folded} days (each)"] = (time.perf_counter() - started) / days_folded
        started = time.perf_counter()
        refresh(LAST)
        timings["refresh (the daily run's step)"] = time.perf_counter() - started
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    return timings


def time_pages(app, days: int, runs: int) -> list[tuple[str, float, int, int]]:
    """(page, median seconds, status, bytes) for every report page and CSV."""
    from portal.staff.models import Role
    from tests.staff_helpers import signed_in_staff

    client = app.test_client()
    signed_in_staff(app, client, Role.POLICY_ADMIN)
    span = {"date_from": (LAST - timedelta(days=days - 1)).isoformat(), "date_to": LAST.isoformat()}
    pages = [
        ("/admin/results/", {"split": s})
        for s in ("none", "tier", "channel", "policy_version", "agent", "language", "week")
    ]
    pages += [("/admin/results/outcomes", {"split": s}) for s in ("none", "tier", "channel", "language", "week")]
    pages += [("/admin/results/funnel.csv", {"split": "agent"}), ("/admin/results/outcomes.csv", {"split": "tier"})]
    results = []
    for path, args in pages:
        times, status, size = [], 0, 0
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(path, query_string={**span, **args})
            times.append(time.perf_counter() - started)
            status, size = response.status_code, len(response.data)
        results.append((f"{path}?split={args['split']}", statistics.median(times), status, size))
    return results


def figures(app, days: int) -> None:
    from portal.reporting import queries
    from portal.reporting.queries import Split

    start = LAST - timedelta(days=days - 1)
    with app.test_request_context():
        (everything,) = queries.funnel(start, LAST, Split.NONE)
        print("funnel over the whole range:")
        for step in everything.steps:
            rate = f"{step.rate * 100:5.1f} %" if step.rate is not None else "      "
            print(f"  {step.metric.value:<15} {step.count:>9,}  {rate} of the step before")
        (outcome,) = queries.outcomes(start, LAST, Split.NONE)
        print("outcomes:", {k: v for k, v in outcome.counts.items() if v})
        for r in queries.recovery(start, LAST):
            print(f"  recovered {r.currency}: {r.recovered:,} from {r.payments:,} payments, share of balance {r.share}")
        cures = queries.cures(start, LAST, 30, LAST)
        judged = sum(c.started - c.waiting for c in cures)
        waiting = sum(c.waiting for c in cures)
        print(f"  cured within 30 days: {sum(c.cured for c in cures):,} of {judged:,} whose 30 days have passed")
        print(f"  ({waiting:,} fell past due less than 30 days before {LAST}: not judged yet)")
        for m in queries.rolls(start, LAST, {}):
            print(f"  roll matrix {m.month} {m.currency}: {len(m.cells)} cells")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--links", type=int, default=400_000)
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20270301)
    parser.add_argument("--skip-load", action="store_true", help="Reuse the book and aggregates already loaded.")
    args = parser.parse_args()

    ensure_database(URL)
    app = create_app({"SQLALCHEMY_DATABASE_URI": URL, "WTF_CSRF_ENABLED": True})
    if not args.skip_load:
        started = time.perf_counter()
        made = load(app, args.accounts, args.links, args.days, args.seed)
        print(f"loaded {args.accounts:,} accounts and {sum(v for k, v in made.items() if k != 'plans'):,} events "
              f"in {time.perf_counter() - started:.1f} s: {made}")  # fmt: skip
        for part, seconds in fold(app, args.days).items():
            print(f"aggregation: {part}: {seconds:.2f} s")
    figures(app, args.days)
    slowest = 0.0
    for page, seconds, status, size in time_pages(app, args.days, args.runs):
        slowest = max(slowest, seconds)
        print(f"{seconds * 1000:7.0f} ms  {status}  {size:>8,} B  {page}")
    ok = slowest <= TARGET_S
    print(f"slowest page {slowest * 1000:.0f} ms (target <= {TARGET_S * 1000:.0f} ms): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
