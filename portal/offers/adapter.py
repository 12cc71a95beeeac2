"""The offer adapter: the active policy + a stored account + its plan history → offers.

The pure engine (``portal.domain.offers``) takes an ``AccountSnapshot`` and an
``OfferPolicy``; this module builds both from the database, and reads the policy a plan
was offered under, so that ``portal.plans`` needs nothing from ``portal.policies``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from portal.accounts.models import CardAccount
from portal.domain.account import AccountSnapshot
from portal.domain.money import round_money
from portal.domain.offers import Offer, offers_for
from portal.domain.policy import Tier
from portal.extensions import db
from portal.plans.models import OPEN_STATES, Plan, PlanState
from portal.policies.cache import ActiveVersion, load_policy
from portal.policies.models import PolicyVersion
from portal.policies.service import active_version

__all__ = ["offered_tier", "offers_for_account", "snapshot"]


def snapshot(account: CardAccount) -> AccountSnapshot:
    """The account as the pure offer engine sees it."""

    # Stored amounts carry four decimals; the engine works in the currency's minor unit.
    def exact(amount: Decimal) -> Decimal:
        return round_money(amount, account.currency)

    return AccountSnapshot(
        currency=account.currency,
        principal=exact(account.principal),
        interest=exact(account.interest),
        fees=exact(account.fees),
        late_fees=exact(account.late_fees),
        overdue_amount=exact(account.overdue_amount),
        minimum_due=exact(account.minimum_due),
        days_past_due=account.days_past_due,
        due_date=account.due_date,
        flags=frozenset(account.flags or ()),
        has_active_plan=_has_open_plan(account.id),
        last_broken_plan_on=_last_broken_on(account),
    )


def _has_open_plan(account_id: int) -> bool:
    query = select(Plan.id).where(Plan.account_id == account_id, Plan.state.in_(OPEN_STATES)).limit(1)
    return db.session.execute(query).first() is not None


def _last_broken_on(account: CardAccount) -> date | None:
    query = select(func.max(Plan.ended_at)).where(Plan.account_id == account.id, Plan.state == PlanState.BROKEN)
    broken_at = db.session.execute(query).scalar()
    return broken_at.astimezone(ZoneInfo(account.time_zone)).date() if broken_at else None


def offers_for_account(account: CardAccount, today: date) -> tuple[ActiveVersion, list[Offer]]:
    """The offers ``account`` may choose on ``today`` under its currency's active policy.

    Raises ``NoActivePolicy`` when the currency has none.
    """
    version = active_version(account.currency)
    return version, offers_for(snapshot(account), version.policy, today)


def offered_tier(plan: Plan) -> Tier | None:
    """The tier, in the policy version the plan was offered under, that made the plan
    (None when that version has no tier by the plan's tier name)."""
    version = db.session.get(PolicyVersion, plan.policy_version_id)
    if version is None:
        return None
    return next((t for t in load_policy(version).tiers if t.name == plan.tier), None)
