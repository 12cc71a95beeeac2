"""Benchmark the domain arithmetic: 60-month schedules and offers for many accounts.

Run from the repository root:  python bench/plans.py [--accounts N] [--repeats N]

Prints the median time to build a 60-month schedule with its APR/EAR (both pricing
conventions) and the time to compute offers for 10,000 generated accounts under
default_policy(), against issue 15's targets: <= 50 µs a schedule, <= 1.0 s for the
offers. An offer's fingerprint is derived when read (a page reads a few); a second
offers figure reads every one of them too, for comparison.

The machine is shared (2 cores, several engineers' benchmarks), so both wall time and
the CPU time of this process (time.process_time) are printed, and the PASS/FAIL
verdicts compare CPU time: wall time there mostly measures the others' load.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import timeit
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.domain.account import AccountSnapshot  # noqa: E402 - after sys.path
from portal.domain.builders import installment_plan  # noqa: E402 - after sys.path
from portal.domain.default_policy import default_policy  # noqa: E402 - after sys.path
from portal.domain.offers import offers_for  # noqa: E402 - after sys.path
from portal.domain.schedule import Pricing  # noqa: E402 - after sys.path

SCHEDULE_TARGET_US = 50.0
OFFERS_TARGET_S = 1.0
TODAY = date(2027, 1, 31)

# Share of accounts per delinquency bucket: most overdue accounts are early-stage,
# roughly as roll rates leave them in a card portfolio.
BUCKETS = ((1, 29, 45), (30, 59, 20), (60, 89, 12), (90, 179, 13), (180, 720, 10))


def schedule_median_us(pricing: Pricing, rate: str, repeats: int) -> tuple[float, float]:
    """Median µs (wall, CPU) to build a 60-month schedule with its rates."""
    amount = Decimal("123456.78")
    first_due = date(2027, 1, 31)
    price = Decimal(rate)

    def build() -> None:
        quote = installment_plan(
            currency="CNY", amount=amount, months=60, pricing=pricing, rate=price, first_due=first_due
        )
        tuple(quote.installments)  # fee-priced rows are made when read: read them all

    build()  # warm caches (currency precision, due dates) as in a running server
    batch = 50
    wall = timeit.repeat(build, number=batch, repeat=repeats)
    cpu = timeit.repeat(build, number=batch, repeat=repeats, timer=time.process_time)
    return statistics.median(wall) / batch * 1e6, statistics.median(cpu) / batch * 1e6


def generate_accounts(count: int, seed: int = 20270131) -> list[AccountSnapshot]:
    """`count` plausible CNY card accounts (amounts in whole fen, no floats)."""
    rng = random.Random(seed)
    weights = [b[2] for b in BUCKETS]
    accounts = []
    for _ in range(count):
        low, high, _ = rng.choices(BUCKETS, weights)[0]
        dpd = rng.randint(low, high)
        principal = rng.randint(200_00, 200_000_00)
        interest = principal * rng.randint(0, 15) // 100
        fees = rng.randint(0, 500_00)
        late = rng.randint(0, 300_00) if dpd > 1 else 0
        overdue = min(principal, principal * rng.randint(5, 100) // 100)
        flags = frozenset({"dispute"}) if rng.random() < 0.02 else frozenset()
        accounts.append(
            AccountSnapshot(
                currency="CNY",
                principal=Decimal(principal).scaleb(-2),
                interest=Decimal(interest).scaleb(-2),
                fees=Decimal(fees).scaleb(-2),
                late_fees=Decimal(late).scaleb(-2),
                overdue_amount=Decimal(overdue).scaleb(-2),
                minimum_due=Decimal(overdue // 10).scaleb(-2),
                days_past_due=dpd,
                due_date=date(2026, 12, 25),
                flags=flags,
                has_active_plan=rng.random() < 0.05,
            )
        )
    return accounts


def verdict(cpu: float, target: float) -> str:
    return "PASS" if cpu <= target else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=200, help="timeit batches per schedule figure")
    parser.add_argument("--runs", type=int, default=3, help="passes over all accounts")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.2f}")
    print("Verdicts compare CPU time of this process (wall time on a shared machine measures its load).")
    print(
        f"60-month schedule + APR/EAR, median per build ({args.repeats} batches of 50), target <= "
        f"{SCHEDULE_TARGET_US:.0f} µs:"
    )
    for label, pricing, rate in (
        ("monthly fee 0.6 %", Pricing.MONTHLY_FEE, "0.006"),
        ("annuity 18 % a year", Pricing.ANNUAL_RATE, "0.18"),
    ):
        wall_us, cpu_us = schedule_median_us(pricing, rate, args.repeats)
        print(f"  {label:<20} wall {wall_us:7.1f} µs   CPU {cpu_us:7.1f} µs   {verdict(cpu_us, SCHEDULE_TARGET_US)}")

    policy = default_policy()
    accounts = generate_accounts(args.accounts)
    offers_for(accounts[0], policy, TODAY)  # warm-up
    print(f"offers_for() on {len(accounts):,} generated accounts under default_policy(), median of {args.runs} runs:")
    for label, read in (("offers", False), ("offers + every fingerprint", True)):
        wall_runs, cpu_runs = [], []
        offer_count = 0
        for _ in range(args.runs):
            wall, cpu = time.perf_counter(), time.process_time()
            offer_count = 0
            for account in accounts:
                offers = offers_for(account, policy, TODAY)
                offer_count += len(offers)
                if read:
                    for offer in offers:
                        offer.fingerprint  # noqa: B018 - derived on read: reading it is the work
            wall_runs.append(time.perf_counter() - wall)
            cpu_runs.append(time.process_time() - cpu)
        wall_s, cpu_s = statistics.median(wall_runs), statistics.median(cpu_runs)
        target = f"target <= {OFFERS_TARGET_S:.1f} s: {verdict(cpu_s, OFFERS_TARGET_S)}" if not read else "(no target)"
        print(
            f"  {label:<27} ({offer_count:,} offers) wall {wall_s:6.3f} s   CPU {cpu_s:6.3f} s   "
            f"{cpu_s / len(accounts) * 1e6:.0f} µs CPU per account   {target}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
