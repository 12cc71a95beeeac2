"""The impact preview's SQL against a Python reference, on SQLite and PostgreSQL.

The reference takes eligibility and tiers from the domain itself (``ineligibility``,
``tier_for``) and the per-plan-type conditions from the definitions in
``portal.offers.impact``'s notes, computed with exact Decimals, account by account.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from portal.accounts.models import CardAccount, Cardholder
from portal.accounts.sql import has_any_flag
from portal.audit.service import SYSTEM
from portal.domain.account import AccountSnapshot
from portal.domain.default_policy import default_policy
from portal.domain.money import minor_unit
from portal.domain.offers import ineligibility
from portal.domain.policy import OfferPolicy
from portal.extensions import db
from portal.offers.impact import PLAN_TYPES, Count, preview
from portal.plans.models import OPEN_STATES, Plan
from portal.policies.service import ensure_default_policy

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
TODAY = NOW.astimezone(ZoneInfo("Asia/Shanghai")).date()
FLAGS = ["dispute", "fraud", "deceased", "vip", "optout_sms", "do_not_contact"]
ZERO = Decimal(0)


def generate(app, count: int, seed: int) -> list[dict]:
    """Accounts of every kind: both currencies, every tier, tiny and large balances,
    flags, open plans and plans broken long ago or recently."""
    rng = random.Random(seed)
    cents = Decimal("0.01")
    rows = []
    with app.app_context():
        (version, *_) = ensure_default_policy(SYSTEM, ("CNY",))
        holder = Cardholder(full_name="Bench", date_of_birth=date(1980, 1, 1), phone="+86 1", locale="en")
        db.session.add(holder)
        for n in range(count):
            principal = (
                Decimal(rng.choice([0, 30, 150, 900, 2500, 8000, 40000, 600000])) * Decimal(rng.random())
            ).quantize(cents)
            account = CardAccount(
                cardholder=holder,
                reference=f"R{seed}-{n}",
                card_last4=f"{n % 10000:04d}",
                card_hash=f"{seed}-{n}",
                currency=rng.choice(["CNY"] * 9 + ["HKD"]),
                credit_limit=Decimal(50000),
                principal=principal,
                interest=(principal * Decimal("0.05")).quantize(cents),
                fees=Decimal(rng.choice([0, 0, 50, 120])),
                late_fees=Decimal(rng.choice([0, 60, 140, 300])),
                overdue_amount=Decimal(100),
                minimum_due=Decimal(100),
                due_date=date(2026, 12, 15),
                days_past_due=rng.choice([0, 1, 15, 29, 30, 45, 59, 60, 75, 89, 90, 120, 179, 180, 400]),
                flags=rng.sample(FLAGS, rng.choice([0, 0, 0, 0, 1, 2])),
            )
            account.minimum_due = min(account.minimum_due, account.balance)  # never more than is owed
            db.session.add(account)
            db.session.flush()
            plans: list[tuple[str, datetime | None, datetime | None]] = []  # state, ended, accepted
            kind = rng.random()
            if kind < 0.1:
                plans.append(("active", None, None))
            elif kind < 0.2:
                plans.append(("broken", NOW - timedelta(days=rng.choice([10, 60, 200])), None))
            elif kind < 0.25:
                plans.append(("completed", NOW - timedelta(days=20), None))
            elif kind < 0.4:
                # Re-ageing: a plan broken long ago, then new plans accepted after it
                # (one to three), so the 12-month and 5-year limits each bite on some.
                broke = NOW - timedelta(days=rng.choice([700, 1500, 2000]))
                plans.append(("broken", broke, broke - timedelta(days=200)))
                for days in sorted(rng.sample([150, 300, 500, 650], rng.choice([1, 2, 3]))):
                    accepted = NOW - timedelta(days=days)
                    if accepted > broke:
                        plans.append(("completed", accepted + timedelta(days=100), accepted))
            for state, ended, accepted in plans:
                db.session.add(
                    Plan(
                        account_id=account.id,
                        policy_version_id=version.id,
                        plan_type="installment",
                        state=state,
                        tier="M1",
                        terms={},
                        fingerprint="x" * 64,
                        currency=account.currency,
                        balance_at_acceptance=ZERO,
                        total_repaid=ZERO,
                        total_cost=ZERO,
                        waived={},
                        apr=ZERO,
                        ear=ZERO,
                        locale="en",
                        ended_at=ended,
                        accepted_at=accepted,
                    )
                )
            rows.append({"account": account, "plans": plans})
        db.session.commit()
        return [
            {"snapshot": snapshot_of(r["account"], r["plans"]), "flags": list(r["account"].flags), "plans": r["plans"]}
            for r in rows
        ]


def snapshot_of(account: CardAccount, plans: list) -> AccountSnapshot:
    zone = ZoneInfo("Asia/Shanghai")
    broken = [ended for state, ended, _ in plans if state == "broken"]
    after = [
        accepted.astimezone(zone).date() for _, _, accepted in plans if broken and accepted and accepted > min(broken)
    ]
    return AccountSnapshot(
        currency=account.currency,
        principal=account.principal,
        interest=account.interest,
        fees=account.fees,
        late_fees=account.late_fees,
        overdue_amount=account.overdue_amount,
        minimum_due=account.minimum_due,
        days_past_due=account.days_past_due,
        due_date=account.due_date,
        flags=frozenset(account.flags),
        has_active_plan=any(state in OPEN_STATES for state, _, _ in plans),
        last_broken_plan_on=max(broken).astimezone(zone).date() if broken else None,
        new_plans_after_broken=tuple(sorted(after)),
    )


def offered(plan: str, policy: OfferPolicy, tier_index: int, account: AccountSnapshot) -> bool:
    """The documented per-plan-type condition, in exact Decimals."""
    lim = getattr(policy.tiers[tier_index], plan)
    balance, fees = account.balance, account.fees + account.late_fees
    unit = minor_unit(policy.currency)
    if not lim.allowed or balance < lim.min_balance or (lim.max_balance is not None and balance > lim.max_balance):
        return False
    if plan == "installment":
        return balance * (1 - lim.min_down_payment) / min(lim.tenors) >= max(lim.min_installment, unit)
    if plan == "relief":
        return balance - lim.max_fee_waiver * fees > 0
    if plan == "settlement":
        return balance * (1 - lim.max_discount) >= max(lim.min_payment, unit)
    return balance - lim.max_fee_waiver * fees >= max(lim.min_installment, unit)


def reference(accounts: list[dict], policy: OfferPolicy) -> dict:
    counts: dict = {}

    def add(key: object, balance: Decimal) -> None:
        n, total = counts.get(key, (0, ZERO))
        counts[key] = (n + 1, total + balance)

    for row in accounts:
        account = row["snapshot"]
        if account.currency != policy.currency:
            continue
        if ineligibility(account, policy, TODAY):
            add("ineligible", account.balance)
            continue
        tier = next(i for i, t in enumerate(policy.tiers) if t.covers(account.days_past_due, account.balance))
        add((tier, None), account.balance)
        for plan in PLAN_TYPES:
            if offered(plan, policy, tier, account):
                add((tier, plan), account.balance)
    return counts


def as_reference(impact) -> dict:
    counts: dict = {}

    def put(key: object, count: Count) -> None:
        if count.accounts:
            counts[key] = (count.accounts, count.balance)

    put("ineligible", impact.ineligible)
    for i, tier in enumerate(impact.tiers):
        put((i, None), tier.eligible)
        for plan, count in tier.plans.items():
            put((i, plan), count)
    return counts


def draft_policy() -> OfferPolicy:
    """A different policy: other tier ranges, bands, down payment, waivers and flags."""
    base = default_policy()
    m1, m2, m3, m4, wo = base.tiers
    return replace(
        base,
        cooldown_days=30,
        blocking_flags=frozenset({"fraud", "deceased", "vip"}),
        tiers=(
            replace(m1, max_dpd=14),
            replace(
                m2,
                name="M1b",
                min_dpd=15,
                max_dpd=59,
                installment=replace(
                    m2.installment,
                    min_down_payment=Decimal("0.25"),
                    tenors=(12, 24),
                    min_installment=Decimal("250"),
                    max_balance=Decimal("30000"),
                ),
            ),
            replace(m3, settlement=replace(m3.settlement, max_discount=Decimal("0.35"), min_payment=Decimal("700"))),
            replace(
                m4, personalised=replace(m4.personalised, max_fee_waiver=Decimal("0.3"), min_installment=Decimal("400"))
            ),
            replace(wo, relief=replace(m4.relief, max_fee_waiver=Decimal("1"), min_balance=Decimal("0"))),
        ),
    )


@pytest.mark.parametrize(
    "policy",
    [default_policy(), draft_policy(), replace(default_policy(), currency="HKD")],
    ids=["default", "draft", "hkd"],
)
def test_the_sql_counts_what_the_reference_counts(app, policy):
    accounts = generate(app, 400, seed=7)
    with app.app_context():
        impact = preview(policy, NOW)
    expected = reference(accounts, policy)
    assert as_reference(impact) == expected
    assert sum(n for key, (n, _) in expected.items() if key == "ineligible" or key[1] is None) == sum(
        1 for row in accounts if row["snapshot"].currency == policy.currency
    )
    assert impact.total.accounts == sum(1 for row in accounts if row["snapshot"].currency == policy.currency)


def test_the_flag_test_matches_whole_flags_only(app):
    from sqlalchemy import select

    with app.app_context():
        holder = Cardholder(full_name="F", date_of_birth=date(1980, 1, 1), phone="1", locale="en")
        for n, flags in enumerate([["fraud"], ["fraudulent"], [], ["vip", "dispute"], ['"fraud"']]):
            db.session.add(
                CardAccount(
                    cardholder=holder,
                    reference=f"F{n}",
                    card_last4="0000",
                    card_hash=f"f{n}",
                    currency="CNY",
                    credit_limit=ZERO,
                    principal=ZERO,
                    interest=ZERO,
                    fees=ZERO,
                    late_fees=ZERO,
                    overdue_amount=ZERO,
                    minimum_due=ZERO,
                    due_date=date(2026, 1, 1),
                    days_past_due=1,
                    flags=flags,
                )
            )
        db.session.commit()
        dialect = db.session.get_bind().dialect.name
        query = select(CardAccount.reference).where(has_any_flag({"fraud", "dispute"}, dialect))
        assert sorted(db.session.execute(query).scalars()) == ["F0", "F3"]
        nothing = select(CardAccount.reference).where(has_any_flag(set(), dialect))
        assert list(db.session.execute(nothing).scalars()) == []
