"""The SQL forms of balance, tier membership and flags (``portal.accounts.sql``) agree
with their domain twins on generated accounts, on SQLite and on PostgreSQL.

Accounts come from a seeded generator: balances from nothing to hundreds of billions and
on both sides of (and on) every balance-band edge, days past due on both sides of every
tier edge of several generated policies (some splitting a DPD range by balance band),
flags as none, a JSON null, or any mix of known and unknown words.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from portal.accounts import sql as account_sql
from portal.accounts.models import CardAccount, Cardholder
from portal.domain.account import AccountSnapshot
from portal.domain.default_policy import default_policy, demo_policy
from portal.domain.policy import OfferPolicy, Tier
from portal.extensions import db

FLAGS = ["dispute", "fraud", "deceased", "vip", "optout_sms", "do_not_contact"]
CENTS = Decimal("0.01")


def policies(rng: random.Random) -> list[OfferPolicy]:
    """The default policy and policies with random tier edges (contiguous from DPD 1,
    the last open-ended, one closed at the top instead so some accounts fit no tier)."""
    base = default_policy()
    found = [base]
    banded: list[OfferPolicy] = []
    for shape in range(3):
        cuts = sorted(rng.sample(range(2, 400), rng.randint(1, 5)))
        starts = [1, *cuts]
        tiers = []
        for i, start in enumerate(starts):
            end = starts[i + 1] - 1 if i + 1 < len(starts) else None
            if shape == 2 and end is None:
                end = start + 30  # no tier past this: tier_for gives None
            tiers.append(Tier(name=f"T{i}", min_dpd=start, max_dpd=end))
        found.append(replace(base, tiers=tuple(tiers)))
    # Banded: one DPD range of each random shape split into two or three balance bands.
    for policy in found[1:]:
        tiers = list(policy.tiers)
        at = rng.randrange(len(tiers))
        cuts = sorted({Decimal(rng.choice([1, 500, 2000, 10_000, 250_000])) for _ in range(rng.randint(1, 2))})
        bounds = [Decimal(0), *cuts, None]
        split = [
            replace(tiers[at], name=f"{tiers[at].name}b{b}", balance_from=bounds[b], balance_below=bounds[b + 1])
            for b in range(len(bounds) - 1)
        ]
        banded.append(replace(policy, tiers=tuple(tiers[:at] + split + tiers[at + 1 :])))
    return [*found, demo_policy(), *banded]


def edges(policy_list: list[OfferPolicy]) -> list[int]:
    """Every DPD next to a tier edge, and 0."""
    values = {0}
    for policy in policy_list:
        for tier in policy.tiers:
            values |= {tier.min_dpd - 1, tier.min_dpd, tier.min_dpd + 1}
            if tier.max_dpd is not None:
                values |= {tier.max_dpd - 1, tier.max_dpd, tier.max_dpd + 1}
    return sorted(v for v in values if v >= 0)


def band_edges(policy_list: list[OfferPolicy]) -> list[Decimal]:
    """Every balance on, or a cent either side of, a band edge."""
    values: set[Decimal] = set()
    for policy in policy_list:
        for tier in policy.tiers:
            for edge in (tier.balance_from, tier.balance_below):
                if edge:
                    values |= {edge - CENTS, edge, edge + CENTS}
    return sorted(values)


def amount(rng: random.Random) -> Decimal:
    scale = rng.choice([0, 1, 100, 10_000, 1_000_000, 100_000_000_000])
    return (Decimal(scale) * Decimal(rng.random())).quantize(CENTS)


def generate(
    app, rng: random.Random, dpds: list[int], count: int, balances: list[Decimal] | None = None
) -> dict[int, AccountSnapshot]:
    """Store ``count`` accounts; return each one's domain snapshot by id."""
    with app.app_context():
        holder = Cardholder(full_name="Rules", date_of_birth=date(1980, 1, 1), phone="+86 1", locale="en")
        db.session.add(holder)
        rows = []
        for n in range(count):
            flags = rng.choice([None, [], [], rng.sample(FLAGS, rng.randint(1, 3)), ["unknown-word"]])
            parts = [amount(rng) for _ in range(4)]
            if n % 7 == 0:
                parts = [Decimal(0)] * 4  # nothing owed
            elif n % 4 == 1 and balances:
                owed = rng.choice(balances)  # on a band edge, split between principal and fees
                fees = min(owed, Decimal(rng.choice([0, 1, 99])))
                parts = [owed - fees, Decimal(0), fees, Decimal(0)]
            account = CardAccount(
                cardholder=holder,
                reference=f"S{n}",
                card_last4=f"{n % 10000:04d}",
                card_hash=f"sql-{n}",
                currency="CNY",
                credit_limit=Decimal(50000),
                principal=parts[0],
                interest=parts[1],
                fees=parts[2],
                late_fees=parts[3],
                overdue_amount=Decimal(0),
                minimum_due=Decimal(0),
                due_date=date(2026, 12, 15),
                days_past_due=rng.choice(dpds) if n % 3 else rng.randint(0, 2000),
                flags=flags,
            )
            db.session.add(account)
            rows.append(account)
        db.session.commit()
        return {
            a.id: AccountSnapshot(
                currency=a.currency,
                principal=a.principal,
                interest=a.interest,
                fees=a.fees,
                late_fees=a.late_fees,
                overdue_amount=a.overdue_amount,
                minimum_due=a.minimum_due,
                days_past_due=a.days_past_due,
                due_date=a.due_date,
                flags=frozenset(a.flags or ()),
            )
            for a in rows
        }


def test_balance_tier_and_flags_in_sql_agree_with_the_domain(app):
    rng = random.Random(13)
    policy_list = policies(rng)
    accounts = generate(app, rng, edges(policy_list), 600, band_edges(policy_list))
    flag_sets = [set(), {"fraud"}, {"dispute", "deceased", "fraud"}, {"unknown-word", "vip"}]
    with app.app_context():
        dialect = db.session.get_bind().dialect.name
        columns = [
            CardAccount.id,
            account_sql.balance().label("balance"),
            account_sql.waivable_fees().label("fees"),
            account_sql.has_no_flags(dialect).label("no_flags"),
        ]
        columns += [account_sql.has_any_flag(names, dialect).label(f"flags{i}") for i, names in enumerate(flag_sets)]
        for p, policy in enumerate(policy_list):
            columns.append(account_sql.tier_index(policy.tiers, otherwise=-1).label(f"tier{p}"))
            columns += [account_sql.in_tier(t).label(f"in{p}_{i}") for i, t in enumerate(policy.tiers)]
        rows = db.session.execute(select(*columns)).all()

    assert len(rows) == len(accounts)
    tier_edges_seen = set()
    band_edges_seen = set()
    for row in rows:
        account = accounts[row.id]
        assert row.balance == account.balance, account
        assert row.fees == account.fees + account.late_fees, account
        assert bool(row.no_flags) == (not account.flags), account.flags
        for i, names in enumerate(flag_sets):
            assert bool(getattr(row, f"flags{i}")) == bool(account.flags & names), (account.flags, names)
        for p, policy in enumerate(policy_list):
            tier = policy.tier_for(account.days_past_due, account.balance)
            expected = -1 if tier is None else policy.tiers.index(tier)
            assert getattr(row, f"tier{p}") == expected, (account.days_past_due, account.balance, policy.tiers)
            for i, t in enumerate(policy.tiers):
                covered = t.covers(account.days_past_due, account.balance)
                assert bool(getattr(row, f"in{p}_{i}")) == covered, (account.days_past_due, account.balance, t)
                if account.days_past_due in (t.min_dpd, t.max_dpd):
                    tier_edges_seen.add((p, i))
                if t.covers_dpd(account.days_past_due) and account.balance in (t.balance_from, t.balance_below):
                    band_edges_seen.add((p, i))
    # The generator did reach the edges it was built for.
    assert len(tier_edges_seen) >= sum(len(p.tiers) for p in policy_list) // 2
    banded = [(p, i) for p, policy in enumerate(policy_list) for i, t in enumerate(policy.tiers) if t.banded]
    assert len(band_edges_seen & set(banded)) >= len(banded) // 2
