"""A synthetic book for ``portal simulate``: accounts by tier, balances, budgets, reasons,
languages and channels, drawn from the seed (the same seed, the same book).

The book's shape (shares are of accounts): tiers by days past due M1 1–29 35 %, M2 30–59
25 %, M3 60–89 15 %, M4 90–179 17 %, W/O 180–400 8 % (the default policy's names); CNY 80 % (Mainland, 简体中文
70 %, English 30 %), HKD 20 % (Hong Kong, 繁體中文 70 %, English 30 %); links by text
70 %, by e-mail 30 %; principal log-normal around 12,000 (HKD: 15,000); reasons lost job
20 %, illness 15 %, income fell 25 %, overspent 20 %, unsure of the rules 10 %, other
10 %; income log-normal around 9,000 a month (HKD: 18,000), costs 75–100 % of it (up to
115 % after a hardship), savings up to one and a half months of income.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from math import exp
from statistics import NormalDist

from flask import current_app

from portal.accounts.models import CardAccount, Cardholder
from portal.audit.actions import Action
from portal.audit.service import SYSTEM, record
from portal.demo import with_check_digit
from portal.extensions import db
from portal.security import card_hash
from portal.simulate.behaviour import HARDSHIP_REASONS, Draws, Persona

TIERS = {"M1": (1, 29), "M2": (30, 59), "M3": (60, 89), "M4": (90, 179), "W/O": (180, 400)}
TIER_SHARES = {"M1": 0.35, "M2": 0.25, "M3": 0.15, "M4": 0.17, "W/O": 0.08}
REASON_SHARES = {
    "lost_job": 0.20,
    "illness": 0.15,
    "income_fell": 0.25,
    "overspent": 0.20,
    "unsure_rules": 0.10,
    "other": 0.10,
}
CENTS = Decimal("0.01")
_NORMAL = NormalDist()


@dataclass(frozen=True)
class SimAccount:
    """One account of the book and what the simulator knows of its holder."""

    serial: int
    account_id: int
    reference: str
    currency: str
    tier: str
    persona: Persona


def _money(value: float) -> Decimal:
    """A randomly drawn amount (the draws are floats) made money, to the cent, once."""
    return Decimal(str(round(value, 2))).quantize(CENTS, ROUND_HALF_UP)


def _share_of(amount: Decimal, fraction: float) -> Decimal:
    """A drawn fraction of an amount of money, computed in Decimal."""
    return (amount * Decimal(repr(fraction))).quantize(CENTS, ROUND_HALF_UP)


def _lognormal(draws: Draws, median: float, spread: float, *key: object) -> float:
    u = min(max(draws.u(*key), 1e-9), 1 - 1e-9)
    return median * exp(spread * _NORMAL.inv_cdf(u))


def _label_number(label: str) -> int:
    """Three digits that keep two books' card numbers and phones apart."""
    return int.from_bytes(hashlib.blake2b(label.encode(), digest_size=4).digest(), "big") % 1000


def draw_persona(draws: Draws, serial: int, currency: str) -> Persona:
    scale = 2.0 if currency == "HKD" else 1.0
    reason = draws.pick(REASON_SHARES, serial, "reason")
    hardship = reason in HARDSHIP_REASONS
    income = _money(_lognormal(draws, 9000 * scale, 0.5, serial, "income"))
    cost_share = 0.75 + 0.25 * draws.u(serial, "costs") + (0.15 * draws.u(serial, "hardship") if hardship else 0.0)
    engagement = draws.u(serial, "engagement") * (0.8 if reason in ("overspent", "unsure_rules") else 1.0)
    return Persona(
        reason=reason,
        engagement=round(engagement, 6),
        income=income,
        costs=_share_of(income, cost_share),
        savings=_share_of(income, 1.5 * draws.u(serial, "savings")),
        channel="sms" if draws.chance(0.7, serial, "channel") else "email",
    )


@dataclass(frozen=True)
class AccountTerms:
    """An account's figures as the book draws them (before anything is stored)."""

    currency: str
    tier: str
    principal: Decimal
    interest: Decimal
    late_fees: Decimal
    overdue: Decimal
    minimum_due: Decimal
    days_past_due: int
    due_date: date


def draw_terms(draws: Draws, serial: int, start: date) -> AccountTerms:
    """Account ``serial``'s currency, tier and balances. Pure, so that a test can draw many
    accounts' offers without storing them (``tests/web/test_experiments_simulated.py``)."""
    hkd = draws.chance(0.2, serial, "currency")
    tier = draws.pick(TIER_SHARES, serial, "tier")
    low, high = TIERS[tier]
    dpd = low + int(draws.u(serial, "dpd") * (high - low + 1))
    principal = _money(_lognormal(draws, 15000 if hkd else 12000, 0.8, serial, "principal"))
    principal = min(max(principal, Decimal("500.00")), Decimal("300000.00"))
    interest = (principal * Decimal(str(round(0.01 + 0.07 * draws.u(serial, "interest"), 4)))).quantize(CENTS)
    months_behind = max(1, (dpd + 29) // 30)
    late_fees = Decimal(min(months_behind, 6) * 60)
    balance = principal + interest + late_fees
    overdue = min(balance, (balance * Decimal("0.10") * months_behind).quantize(CENTS))
    return AccountTerms(
        currency="HKD" if hkd else "CNY",
        tier=tier,
        principal=principal,
        interest=interest,
        late_fees=late_fees,
        overdue=overdue,
        minimum_due=min(balance, overdue + (balance * Decimal("0.10")).quantize(CENTS)),
        days_past_due=dpd,
        due_date=start - timedelta(days=dpd) + timedelta(days=30 * months_behind),
    )


def create_book(draws: Draws, accounts: int, label: str, start: date) -> list[SimAccount]:
    """Create ``accounts`` accounts referenced ``<label>000001`` … (flushes; the caller commits)."""
    key = current_app.config["CARD_HASH_KEY"]
    number = _label_number(label)
    book: list[SimAccount] = []
    for serial in range(1, accounts + 1):
        terms = draw_terms(draws, serial, start)
        hkd, currency = terms.currency == "HKD", terms.currency
        card = with_check_digit(f"62229{number:03d}{serial:07d}")
        persona = draw_persona(draws, serial, currency)
        english = draws.chance(0.3, serial, "locale")
        holder = Cardholder(
            full_name=f"Sim {label} {serial}",
            phone=f"+86 1{number:03d}{serial:07d}" if not hkd else f"+852 {number:03d}{serial:07d}",
            email=f"{label.lower()}{serial}@example.com",
            locale="en" if english else ("zh_Hant" if hkd else "zh_Hans"),
        )
        holder.date_of_birth = date(1960, 1, 1) + timedelta(days=int(draws.u(serial, "born") * 14000))
        account = CardAccount(
            cardholder=holder,
            reference=f"{label}{serial:06d}",
            card_last4=card[-4:],
            card_hash=card_hash(card, key),
            currency=currency,
            credit_limit=max(Decimal(1000), (terms.principal * Decimal("1.2")).quantize(Decimal(1000))),
            principal=terms.principal,
            interest=terms.interest,
            fees=Decimal(0),
            late_fees=terms.late_fees,
            overdue_amount=terms.overdue,
            minimum_due=terms.minimum_due,
            due_date=terms.due_date,
            days_past_due=terms.days_past_due,
            days_past_due_as_of=start - timedelta(days=1),
            time_zone="Asia/Hong_Kong" if hkd else "Asia/Shanghai",
            jurisdiction="HK" if hkd else "CN",
            flags=[],
        )
        db.session.add_all([holder, account])
        db.session.flush()
        record(SYSTEM, Action.Demo.ACCOUNT_CREATED, ("card_account", account.id))
        book.append(SimAccount(serial, account.id, account.reference, currency, terms.tier, persona))
    db.session.flush()
    return book
