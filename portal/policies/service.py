"""Reading the active policy and turning stored accounts into domain snapshots."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from portal.accounts.models import CardAccount
from portal.audit.service import Actor, record
from portal.db_types import utcnow
from portal.domain.account import AccountSnapshot
from portal.domain.default_policy import default_policy
from portal.domain.money import round_money
from portal.domain.offers import Offer, offers_for
from portal.domain.policy_validation import validate_policy
from portal.extensions import db
from portal.plans.models import OPEN_STATES, Plan
from portal.policies.cache import ActiveVersion, policy_cache
from portal.policies.cache import load_policy as load_policy  # re-exported for the features that read policies
from portal.policies.models import PolicyVersion
from portal.policies.workflow import activate_due_versions


class NoActivePolicy(LookupError):
    """No policy version is active: nothing may be offered until one is approved."""


def active_version(currency: str) -> ActiveVersion:
    """The active policy version for accounts in ``currency``, with its parsed policy.

    Read from this worker's cache (portal.policies.cache): no query unless the cache is
    unknown or older than ``POLICY_CACHE_SECONDS``. When a scheduled version's time has
    come and no request has activated it yet, it is activated here, in this transaction,
    so a change takes effect at its date without anyone acting (see policies.scheduling).
    """
    now = utcnow()
    cache = policy_cache()
    if cache.activation_due(now) and not activate_due_versions(now):
        cache.forget()  # someone else activated it: learn the next time afresh
    found = cache.active(currency)
    if found is None:
        raise NoActivePolicy(f"no active offer policy for {currency}")
    return found


DEMO_CURRENCIES = ("CNY", "HKD")


def ensure_default_policy(actor: Actor, currencies: tuple[str, ...] = DEMO_CURRENCIES) -> list[PolicyVersion]:
    """Install the default policy for each currency that has no version yet (demo set-up)."""
    created = []
    for currency in currencies:
        exists = select(func.count()).select_from(PolicyVersion).where(PolicyVersion.currency == currency)
        if db.session.execute(exists).scalar():
            continue
        policy = replace(default_policy(), currency=currency)
        problems = validate_policy(policy)
        if problems:
            raise ValueError(f"default policy is invalid: {problems}")
        number = (db.session.execute(select(func.max(PolicyVersion.number))).scalar() or 0) + 1
        version = PolicyVersion(
            number=number,
            currency=currency,
            state="active",
            document=policy.to_dict(),
            author="system",
            approver="system",
            comment="Default policy loaded with the demo data",
        )
        db.session.add(version)
        db.session.flush()
        record(
            actor,
            "policy.activated",
            ("policy_version", version.id),
            after={"number": number, "currency": currency, "state": "active"},
        )
        created.append(version)
    return created


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
    query = select(func.max(Plan.ended_at)).where(Plan.account_id == account.id, Plan.state == "broken")
    broken_at = db.session.execute(query).scalar()
    return broken_at.astimezone(ZoneInfo(account.time_zone)).date() if broken_at else None


def offers_for_account(account: CardAccount, today: date) -> tuple[ActiveVersion, list[Offer]]:
    version = active_version(account.currency)
    return version, offers_for(snapshot(account), version.policy, today)
