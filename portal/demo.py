"""Demo cardholders covering every delinquency stage, both currencies and all languages.

Card numbers are fictional test numbers (valid Luhn check digit) so that a person can
sign in with them on a development machine. Loading twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import IO

from flask import current_app
from sqlalchemy import select

from portal.accounts.models import CardAccount, Cardholder
from portal.agreements.models import Agreement
from portal.audit.actions import Action
from portal.audit.service import SYSTEM, record
from portal.db_types import utcnow
from portal.demo_history import add_history
from portal.domain.default_policy import demo_policy
from portal.extensions import db
from portal.payments.models import Payment
from portal.payments.statement import EntrySpec, StatementSpec, write_camt
from portal.plans.models import Plan, PlanInstallment, PlanState
from portal.policies.service import ensure_default_policy
from portal.security import card_hash
from portal.staff.service import ensure_demo_staff


def with_check_digit(partial: str) -> str:
    """Append the Luhn check digit to ``partial``."""
    total = 0
    for index, digit in enumerate(reversed(partial)):
        value = int(digit)
        if index % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return partial + str((10 - total % 10) % 10)


@dataclass(frozen=True)
class DemoCardholder:
    name: str
    date_of_birth: date
    locale: str
    currency: str
    days_past_due: int
    principal: Decimal
    interest: Decimal
    fees: Decimal
    late_fees: Decimal
    credit_limit: Decimal
    serial: int
    time_zone: str = "Asia/Shanghai"

    @property
    def jurisdiction(self) -> str:
        """Hong Kong dollar accounts are Hong Kong accounts; the rest are Mainland ones."""
        return "HK" if self.currency == "HKD" else "CN"

    @property
    def card_number(self) -> str:
        return with_check_digit(f"622200000000{self.serial:03d}")

    @property
    def phone(self) -> str:
        if self.currency == "HKD":
            return f"+852 5000 {self.serial:04d}"
        return f"+86 138 0000 {self.serial:04d}"


D = Decimal
# fmt: off
DEMO_CARDHOLDERS: tuple[DemoCardholder, ...] = (
    DemoCardholder("Li Na", date(1988, 4, 12), "en", "CNY", 3, D("2450.00"), D("36.75"), D("0"), D("0"), D("10000"), 1),
    DemoCardholder("王小明", date(1985, 3, 27), "zh_Hans", "CNY", 12, D("8600.00"), D("215.40"), D("0"), D("60.00"), D("20000"), 2),
    DemoCardholder("陳美玲", date(1979, 11, 2), "zh_Hant", "HKD", 25, D("15800.00"), D("512.30"), D("120.00"), D("180.00"), D("30000"), 3, "Asia/Hong_Kong"),
    DemoCardholder("Zhang Wei", date(1992, 7, 19), "en", "CNY", 35, D("10000.00"), D("489.00"), D("0"), D("140.00"), D("15000"), 4),
    DemoCardholder("刘洋", date(1990, 1, 30), "zh_Hans", "CNY", 48, D("48650.00"), D("2310.00"), D("200.00"), D("280.00"), D("50000"), 5),
    DemoCardholder("黃志強", date(1975, 6, 8), "zh_Hant", "HKD", 64, D("3890.00"), D("280.10"), D("0"), D("300.00"), D("8000"), 6, "Asia/Hong_Kong"),
    DemoCardholder("Chan Ka Man", date(1983, 9, 14), "en", "HKD", 77, D("62000.00"), D("4120.00"), D("350.00"), D("450.00"), D("80000"), 7, "Asia/Hong_Kong"),
    DemoCardholder("赵敏", date(1995, 12, 1), "zh_Hans", "CNY", 95, D("980.00"), D("110.25"), D("0"), D("150.00"), D("5000"), 8),
    DemoCardholder("Sun Li", date(1969, 2, 22), "en", "CNY", 130, D("126400.00"), D("11250.00"), D("600.00"), D("720.00"), D("150000"), 9),
    DemoCardholder("林怡君", date(1987, 8, 5), "zh_Hant", "HKD", 160, D("22400.00"), D("2210.60"), D("150.00"), D("600.00"), D("25000"), 10, "Asia/Hong_Kong"),
    DemoCardholder("周杰", date(1981, 5, 16), "zh_Hans", "CNY", 210, D("31200.00"), D("4680.00"), D("300.00"), D("900.00"), D("40000"), 11),
    DemoCardholder("Maria Ho", date(1993, 10, 9), "en", "HKD", 400, D("7200.00"), D("1640.00"), D("0"), D("900.00"), D("10000"), 12, "Asia/Hong_Kong"),
    # With a past (portal.demo_history.STORIES): a plan kept, broken, completed; a promise kept, broken.
    DemoCardholder("Wu Fang", date(1986, 3, 3), "en", "CNY", 20, D("6000.00"), D("120.00"), D("0"), D("60.00"), D("12000"), 13),
    DemoCardholder("鄭家豪", date(1978, 12, 20), "zh_Hant", "HKD", 95, D("18800.00"), D("940.00"), D("100.00"), D("300.00"), D("30000"), 14, "Asia/Hong_Kong"),
    DemoCardholder("Chen Jie", date(1991, 6, 25), "en", "CNY", 8, D("1500.00"), D("30.00"), D("0"), D("0"), D("8000"), 15),
    DemoCardholder("何静", date(1984, 9, 18), "zh_Hans", "CNY", 30, D("4200.00"), D("150.00"), D("0"), D("80.00"), D("10000"), 16),
    DemoCardholder("Lee Siu Ming", date(1972, 4, 1), "en", "HKD", 45, D("9600.00"), D("420.00"), D("0"), D("150.00"), D("15000"), 17, "Asia/Hong_Kong"),
)
# fmt: on


def _minimum_due(balance: Decimal, overdue: Decimal) -> Decimal:
    """What is overdue plus this month's 10 % minimum, never more than the whole balance."""
    return min(balance, (overdue + (balance * D("0.10"))).quantize(D("0.01")))


def load_demo(today: date | None = None) -> int:
    """Create the demo accounts that are missing; return how many were created."""
    key = current_app.config["CARD_HASH_KEY"]
    today = today or utcnow().date()
    created = 0
    ensure_default_policy(SYSTEM, build=demo_policy)  # before the accounts: the ones with a past have plans under it
    for demo in DEMO_CARDHOLDERS:
        hashed = card_hash(demo.card_number, key)
        if db.session.query(CardAccount.id).filter_by(card_hash=hashed).first():
            continue
        holder = Cardholder(
            full_name=demo.name,
            date_of_birth=demo.date_of_birth,
            phone=demo.phone,
            email=f"demo{demo.serial}@example.com",
            locale=demo.locale,
        )
        balance = demo.principal + demo.interest + demo.fees + demo.late_fees
        # Roughly one minimum payment missed per month overdue, capped at the balance.
        months_behind = max(1, (demo.days_past_due + 29) // 30)
        overdue = min(balance, (balance * D("0.10") * months_behind).quantize(D("0.01")))
        account = CardAccount(
            cardholder=holder,
            reference=f"DEMO{demo.serial:04d}",
            card_last4=demo.card_number[-4:],
            card_hash=hashed,
            currency=demo.currency,
            credit_limit=demo.credit_limit,
            principal=demo.principal,
            interest=demo.interest,
            fees=demo.fees,
            late_fees=demo.late_fees,
            overdue_amount=overdue,
            minimum_due=_minimum_due(balance, overdue),
            due_date=today - timedelta(days=demo.days_past_due) + timedelta(days=30 * months_behind),
            days_past_due=demo.days_past_due,
            days_past_due_as_of=today,
            time_zone=demo.time_zone,
            jurisdiction=demo.jurisdiction,
            flags=[],
        )
        db.session.add_all([holder, account])
        for months_ago in (2, 4):
            paid = datetime.combine(
                today - timedelta(days=demo.days_past_due + 30 * months_ago), datetime.min.time(), UTC
            )
            db.session.add(
                Payment(
                    account=account,
                    paid_at=paid + timedelta(hours=3),
                    booking_date=paid.date(),
                    amount=(demo.principal * D("0.05")).quantize(D("0.01")),
                    currency=demo.currency,
                    method="bank_transfer",
                )
            )
        db.session.flush()
        record(SYSTEM, Action.Demo.ACCOUNT_CREATED, ("card_account", account.id))
        add_history(account, demo.serial, today)
        created += 1
    if current_app.config["PORTAL_ENV"] != "production":  # fixed demo passwords never reach production
        ensure_demo_staff(SYSTEM, current_app.config["SECRET_KEY"])
    db.session.flush()
    return created


def write_demo_statement(out: IO[bytes], day: date) -> int:
    """Write a camt.053 for ``day`` with one repayment per demo account; return the entries.

    An account on a plan pays its next installment quoting the agreement reference (as a
    structured creditor reference); the others pay their minimum due quoting the account
    reference; one payment quotes nothing and waits for review. Writing the same day
    twice gives the same statement, so importing it twice posts it once.
    """
    stamp = day.strftime("%Y%m%d")
    accounts = db.session.execute(
        select(CardAccount).where(CardAccount.reference.like("DEMO%")).order_by(CardAccount.reference)
    ).scalars()
    by_currency: dict[str, list[EntrySpec]] = {}
    for account in accounts:
        entries = by_currency.setdefault(account.currency, [])
        number = f"{len(entries) + 1:04d}"
        e2e = f"E2E-{stamp}-{account.reference}"
        plan_payment = _next_plan_payment(account.id)
        if plan_payment is not None:
            reference, amount = plan_payment
            entries.append(
                EntrySpec(number, amount, account.currency, day, end_to_end_id=e2e, creditor_reference=reference)
            )
        elif account.minimum_due > 0:
            text = f"Card repayment {account.reference}"
            entries.append(
                EntrySpec(number, account.minimum_due, account.currency, day, end_to_end_id=e2e, remittance=text)
            )
    if "CNY" in by_currency:
        cny = by_currency["CNY"]
        cny.append(EntrySpec(f"{len(cny) + 1:04d}", D("100.00"), "CNY", day, remittance="Thank you"))
    statements = [
        StatementSpec(f"DEMO-{currency}-{stamp}", f"REPAYMENTS-{currency}", currency, entries, opening_date=day)
        for currency, entries in sorted(by_currency.items())
    ]
    created = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=22)
    write_camt(out, "camt053", f"DEMO-{stamp}", created, statements)
    return sum(len(entries) for entries in by_currency.values())


def _next_plan_payment(account_id: int) -> tuple[str, Decimal] | None:
    """The agreement reference and what is left of the next installment of the account's active plan."""
    row = db.session.execute(
        select(Agreement.reference, PlanInstallment.total, PlanInstallment.paid)
        .join(Plan, Plan.id == Agreement.plan_id)
        .join(PlanInstallment, PlanInstallment.plan_id == Plan.id)
        .where(
            Plan.account_id == account_id, Plan.state == PlanState.ACTIVE, PlanInstallment.paid < PlanInstallment.total
        )
        .order_by(PlanInstallment.due_date, PlanInstallment.number)
        .limit(1)
    ).first()
    return (row[0], row[1] - row[2]) if row else None
