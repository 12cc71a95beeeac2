"""What a plan's installments held on the run date, when payments booked later are known.

A daily run judges a plan by its installments' ``paid`` (allocated from its repayments by
``portal.payments.service.reallocate_plans``). A run for a past day (catching up after
days the run did not run, statements imported meanwhile) must not count money booked
after that day, or a plan that was 31 days late on that day would be judged as if the
later payment had already come. So, for the few plans of a chunk with a repayment booked
after the run date, the installments are allocated afresh from what was booked up to it
(``portal.domain.allocation``: what each installment holds depends only on the total).
One query per chunk; in a daily run it finds nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select

from portal.bulk import among
from portal.domain.allocation import Due, allocate
from portal.domain.plan_health import Installment
from portal.extensions import db
from portal.payments.models import Payment, counts_as_repayment


def as_of(day: date, installments: dict[int, list[Installment]]) -> dict[int, list[Installment]]:
    """``installments`` (by plan id) as they stood on ``day``."""
    if not installments:
        return installments
    booked_by_day = func.sum(case((Payment.booking_date <= day, Payment.amount), else_=0))
    later = db.session.execute(
        select(Payment.plan_id, booked_by_day)
        .where(among(Payment.plan_id, list(installments)), counts_as_repayment())
        .group_by(Payment.plan_id)
        .having(func.max(Payment.booking_date) > day)
    ).all()
    if not later:
        return installments
    adjusted: dict[int, list[Installment]] = defaultdict(list, installments)
    for plan_id, total in later:
        items = installments[plan_id]
        paid = Decimal(total or 0)
        dues = [Due(i.number, i.due_date, i.amount) for i in items]
        held = allocate(dues, [paid] if paid > 0 else []).paid
        adjusted[plan_id] = [replace(i, paid=held[i.number]) for i in items]
    return adjusted
