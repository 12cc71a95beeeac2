"""What a simulation came to, read back from the rows the portal's services wrote.

Only the simulated book's accounts are counted (other accounts in the database are not).
Amounts are decimal strings; shares are JSON numbers rounded to four places.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from portal.accounts.models import CardAccount
from portal.bulk import among
from portal.cases.models import Promise
from portal.extensions import db
from portal.links.models import PlanLink
from portal.notifications.models import OutboxMessage
from portal.payments.models import Payment, PaymentStatus
from portal.plans.models import Plan, PlanInstallment
from portal.policies.models import PolicyVersion
from portal.simulate.book import SimAccount

FUNNEL = ("created", "sent", "delivered", "opened", "verified", "offer_viewed", "accepted")


def _share(part: Decimal | int, whole: Decimal | int) -> float:
    return round(float(Decimal(part) / Decimal(whole)), 4) if whole else 0.0


def summarise(
    book: list[SimAccount], start_balances: dict[str, Decimal], counts: dict[str, int], end: date
) -> dict[str, Any]:
    """The summary ``portal simulate --json`` prints (``end``: the last simulated day)."""
    ids = [a.account_id for a in book]
    session = db.session
    funnel = {
        step: session.execute(
            select(func.count())
            .select_from(PlanLink)
            .where(among(PlanLink.account_id, ids), getattr(PlanLink, f"{step}_at").is_not(None))
        ).scalar_one()
        for step in FUNNEL
    }
    plans = list(
        session.execute(
            select(Plan.id, Plan.state, Plan.plan_type, PolicyVersion.number)
            .join(PolicyVersion, PolicyVersion.id == Plan.policy_version_id, isouter=True)
            .where(among(Plan.account_id, ids), Plan.accepted_at.is_not(None))
        )
    )
    plan_states = Counter(str(state) for _id, state, _type, _version in plans)
    plan_types = Counter(str(kind) for _id, _state, kind, _version in plans)
    # Kept to cycle 3: the first three installments (all of a shorter plan) paid in full,
    # among the plans whose third (or last) installment fell due by the last day.
    first_three = session.execute(
        select(PlanInstallment.plan_id, PlanInstallment.due_date, PlanInstallment.paid >= PlanInstallment.total).where(
            among(PlanInstallment.plan_id, [plan[0] for plan in plans]), PlanInstallment.number <= 3
        )
    ).all()
    last_due: dict[int, date] = {}
    unpaid: set[int] = set()
    for plan_id, due, settled in first_three:
        last_due[plan_id] = max(due, last_due.get(plan_id, due))
        if not settled:
            unpaid.add(plan_id)
    reached = {plan_id for plan_id, due in last_due.items() if due <= end}
    kept = reached - unpaid
    kept_to_3 = len(kept)
    # Per policy version (the experiments' arms, once a book runs under several).
    by_version: dict[str, dict[str, int]] = {}
    for plan_id, _state, _kind, version in sorted(plans, key=lambda plan: (plan[3] or 0, plan[0])):
        counts_ = by_version.setdefault(str(version), {"accepted": 0, "reached_cycle_3": 0, "kept_to_cycle_3": 0})
        counts_["accepted"] += 1
        counts_["reached_cycle_3"] += plan_id in reached
        counts_["kept_to_cycle_3"] += plan_id in kept
    promises = Counter(
        str(state) for state in session.execute(select(Promise.state).where(among(Promise.account_id, ids))).scalars()
    )
    paid: dict[str, Decimal] = {}
    for currency, amount in session.execute(
        select(Payment.currency, func.sum(Payment.amount))
        .where(among(Payment.account_id, ids), Payment.status == PaymentStatus.POSTED)
        .group_by(Payment.currency)
    ):
        paid[currency] = Decimal(amount)
    messages = Counter(
        f"{kind}:{status}" + (f":{reason}" if reason else "")
        for kind, status, reason in session.execute(
            select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.blocked_reason).where(
                among(OutboxMessage.account_id, ids), OutboxMessage.collection.is_(True)
            )
        )
    )
    accounts = list(
        session.execute(select(CardAccount.days_past_due, CardAccount.flags).where(among(CardAccount.id, ids)))
    )
    cured = sum(1 for dpd, _flags in accounts if dpd == 0)
    opted_out = sum(1 for _dpd, flags in accounts if {"optout_sms", "optout_email"} & set(flags or ()))
    accepted = len(plans)  # signed: accepted, or approved and signed
    return {
        "accounts": len(book),
        "tiers": dict(sorted(Counter(a.tier for a in book).items())),
        "funnel": funnel,
        "plans": {
            "accepted": accepted,
            "by_state": dict(sorted(plan_states.items())),
            "by_type": dict(sorted(plan_types.items())),
            "reached_cycle_3": len(reached),
            "kept_to_cycle_3": kept_to_3,
            "kept_to_cycle_3_rate": _share(kept_to_3, len(reached)),
            "by_policy_version": by_version,
        },
        "requests": {name: counts.get(f"requests_{name}", 0) for name in ("sent", "approved", "declined")},
        "promises": dict(sorted(promises.items())),
        "recovered": {currency: str(amount.quantize(Decimal("0.01"))) for currency, amount in sorted(paid.items())},
        "recovered_share": {
            currency: _share(paid.get(currency, Decimal(0)), balance)
            for currency, balance in sorted(start_balances.items())
        },
        "cured": cured,
        "cure_rate": _share(cured, len(book)),
        "opted_out": opted_out,
        "messages": dict(sorted(messages.items())),
        "events": dict(sorted((name, value) for name, value in counts.items() if value)),
    }
