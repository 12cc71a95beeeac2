"""Factories for accepted plans (with schedule and signature evidence) and their agreements.

Plans are built from real domain quotes, as the acceptance service builds them, so
agreement tests see the same numbers a cardholder would.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import select

from portal.demo import with_check_digit
from portal.domain.quote import quote
from portal.domain.schedule import PlanType, Pricing, Quote
from portal.domain.terms import PlanTerms, fingerprint
from portal.extensions import db

SIGNED_AT = datetime(2026, 11, 28, 4, 5, 6, tzinfo=UTC)
FIRST_DUE = date(2026, 12, 28)
CONSENT_TEXT = b"I agree to receive this agreement electronically. (consent text v2026-11)"
RATE_PLACES = Decimal("0.000001")
NAMES = {"en": "Li Na", "zh_Hans": "王小明", "zh_Hant": "陳美玲"}
CURRENCIES = {"en": "CNY", "zh_Hans": "CNY", "zh_Hant": "HKD"}
ZONES = {"en": "Asia/Shanghai", "zh_Hans": "Asia/Shanghai", "zh_Hant": "Asia/Hong_Kong"}


def card_number(serial: int) -> str:
    """A Luhn-valid test card number, different for each ``serial``."""
    return with_check_digit(f"622200000{serial:06d}")


def _terms_and_quote(
    plan_type: str, balance: Decimal, currency: str, fees: Decimal, late_fees: Decimal, months: int | None
) -> tuple[PlanTerms, Quote]:
    kind = PlanType(plan_type)
    if kind is PlanType.INSTALLMENT:
        n = months or 12
        terms = PlanTerms(kind, months=n, pricing=Pricing.MONTHLY_FEE, rate=Decimal("0.006"))
        return terms, quote(
            "installment", amount=balance, currency=currency, first_due=FIRST_DUE, months=n, monthly_fee_rate="0.006"
        )
    if kind is PlanType.RELIEF:
        terms = PlanTerms(
            kind,
            fee_waiver=Decimal("0.5"),
            relief_months=6,
            relief_rate=Decimal("0.06"),
            normal_rate=Decimal("0.18"),
            after_months=18,
        )
        return terms, quote(
            "relief",
            amount=balance,
            currency=currency,
            first_due=FIRST_DUE,
            relief_months=6,
            relief_rate="0.06",
            annual_rate="0.18",
            after_months=18,
            waiver="0.5",
            fees=fees,
            late_fees=late_fees,
        )
    if kind is PlanType.SETTLEMENT:
        terms = PlanTerms(kind, discount=Decimal("0.3"), payments=3, deadline=FIRST_DUE)
        return terms, quote(
            "settlement", amount=balance, currency=currency, first_due=FIRST_DUE, discount="0.3", payments=3
        )
    n = months or 60
    terms = PlanTerms(kind, months=n, pricing=Pricing.ANNUAL_RATE, rate=Decimal("0.06"), fee_waiver=Decimal(1))
    return terms, quote(
        "personalised",
        amount=balance,
        currency=currency,
        first_due=FIRST_DUE,
        months=n,
        annual_rate="0.06",
        waiver="1",
        fees=fees,
        late_fees=late_fees,
    )


def make_plan(app: Flask, account_id: int, plan_type: str, locale: str, *, months: int | None = None) -> int:
    """An active plan of ``plan_type`` for the account, with installments and a
    signature, built from a real quote; returns the plan id."""
    from portal.accounts.models import CardAccount
    from portal.audit.service import SYSTEM
    from portal.plans.models import Plan, PlanInstallment, Signature
    from portal.plans.service import as_json
    from portal.policies.models import PolicyVersion
    from portal.policies.service import ensure_default_policy

    with app.app_context():
        ensure_default_policy(SYSTEM)
        version_id = db.session.execute(select(PolicyVersion.id).order_by(PolicyVersion.id)).scalars().first()
        account = db.session.get(CardAccount, account_id)
        assert account is not None
        cents = Decimal("0.01")
        terms, result = _terms_and_quote(
            plan_type,
            account.balance.quantize(cents),
            account.currency,
            account.fees.quantize(cents),
            account.late_fees.quantize(cents),
            months,
        )
        digest = fingerprint(terms, result)
        plan = Plan(
            account_id=account_id,
            policy_version_id=version_id,
            plan_type=plan_type,
            state="active",
            tier="M2",
            terms=as_json(terms),
            fingerprint=digest,
            currency=account.currency,
            balance_at_acceptance=result.amount,
            total_repaid=result.total_repaid,
            total_cost=result.total_cost,
            waived=as_json(result.waived),
            apr=result.apr.quantize(RATE_PLACES),
            ear=result.ear.quantize(RATE_PLACES),
            locale=locale,
            channel="self_service",
            accepted_at=SIGNED_AT,
        )
        plan.installments = [
            PlanInstallment(
                number=row.number, due_date=row.due_date, principal=row.principal, charge=row.charge, total=row.total
            )
            for row in result.installments
        ]
        db.session.add(plan)
        db.session.flush()
        db.session.add(
            Signature(
                plan_id=plan.id,
                typed_name=account.cardholder.full_name,
                consent_version="2026-11",
                consent_sha256=hashlib.sha256(CONSENT_TEXT).hexdigest(),
                signed_at=SIGNED_AT,
                time_zone=account.time_zone,
                ip="203.0.113.7",
                user_agent="pytest",
                locale=locale,
                offer_fingerprint=digest,
            )
        )
        db.session.commit()
        return plan.id


def make_pending_agreement(app: Flask, plan_id: int) -> int:
    """Add the pending agreement for a plan, as the acceptance service does; returns its id."""
    from portal.agreements.service import create_pending_agreement
    from portal.plans.models import Plan

    with app.app_context():
        agreement = create_pending_agreement(db.session.get(Plan, plan_id))
        db.session.commit()
        return agreement.id


def make_signed_agreement(
    app: Flask, account_id: int, plan_type: str = "installment", locale: str = "en", **kwargs: Any
) -> tuple[int, str]:
    """A plan and its produced agreement; returns (agreement id, reference)."""
    from portal.agreements.models import Agreement
    from portal.agreements.service import produce_agreement

    agreement_id = make_pending_agreement(app, make_plan(app, account_id, plan_type, locale, **kwargs))
    with app.app_context():
        assert produce_agreement(agreement_id), "producing the agreement failed"
        return agreement_id, db.session.get(Agreement, agreement_id).reference


def add_payment(app: Flask, account_id: int | None, amount: str, day: date, status: str = "posted") -> None:
    """A CNY bank transfer from a statement file, booked on ``day`` (unmatched when
    ``account_id`` is None)."""
    from portal.payments.models import Payment
    from tests.conftest import unit

    with unit(app):
        db.session.add(
            Payment(
                account_id=account_id,
                paid_at=datetime(day.year, day.month, day.day, 2, tzinfo=UTC),
                amount=Decimal(amount),
                currency="CNY",
                method="bank_transfer",
                status=status,
                source="camt053",
                match_basis="account_reference" if account_id else "no_reference",
                booking_date=day,
            )
        )
