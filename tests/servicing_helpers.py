"""Helpers for servicing tests: payments on a day, promises, a run of one day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import select

from portal.extensions import db


def pay(app: Flask, account_id: int, amount: str, day: date, plan_id: int | None = None) -> None:
    """A repayment booked on ``day`` (as the core system reports it), allocated to the plan."""
    from portal.payments.models import Payment
    from portal.payments.service import reallocate_plans
    from portal.unit_of_work import unit_of_work

    with app.app_context(), unit_of_work():
        db.session.add(
            Payment(
                account_id=account_id,
                plan_id=plan_id,
                paid_at=datetime.combine(day, time(3), UTC),
                booking_date=day,
                amount=Decimal(amount),
                currency="CNY",
                method="bank_transfer",
            )
        )
        db.session.flush()
        reallocate_plans([plan_id] if plan_id else [])


def promise(app: Flask, account_id: int, amount: str, pay_by: date, made: date) -> int:
    """A promise made at noon UTC on ``made``."""
    from portal.cases.models import Promise

    with app.app_context():
        row = Promise(
            account_id=account_id,
            amount=Decimal(amount),
            currency="CNY",
            pay_by=pay_by,
            created_at=datetime.combine(made, time(4), UTC),
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def run(app: Flask, day: date) -> dict[str, Any]:
    """Run the servicing day ``day`` as the CLI does; its contract counts."""
    from portal.servicing.run import run_day

    with app.app_context():
        return run_day(day).as_json()


def run_days(app: Flask, first: date, last: date) -> list[dict[str, Any]]:
    return [run(app, first + timedelta(days=n)) for n in range((last - first).days + 1)]


def state(app: Flask, model: Any, row_id: int) -> str:
    with app.app_context():
        return db.session.execute(select(model.state).where(model.id == row_id)).scalar_one()
