"""Reading the active policy, and installing the default one (the demo set-up).

Turning stored accounts into the offer engine's input is ``portal.offers.adapter``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import func, select

from portal.audit.actions import Action
from portal.audit.service import Actor, record
from portal.db_types import utcnow
from portal.domain.default_policy import default_policy
from portal.domain.policy import OfferPolicy
from portal.domain.policy_validation import validate_policy
from portal.extensions import db
from portal.policies.cache import ActiveVersion, policy_cache
from portal.policies.cache import load_policy as load_policy  # re-exported for the features that read policies
from portal.policies.models import PolicyState, PolicyVersion


class NoActivePolicy(LookupError):
    """No policy version is active: nothing may be offered until one is approved."""


def active_version(currency: str) -> ActiveVersion:
    """The policy version in effect for accounts in ``currency``, with its parsed policy.

    Read from this worker's cache (portal.policies.cache): no query unless the cache is
    unknown or older than ``POLICY_CACHE_SECONDS``. A scheduled version takes effect at
    its time here, from memory, though the scheduler may mark it active a little later
    (see policies.scheduling): reading never writes.
    """
    found = policy_cache().active(currency, utcnow())
    if found is None:
        raise NoActivePolicy(f"no active offer policy for {currency}")
    return found


DEMO_CURRENCIES = ("CNY", "HKD")


def ensure_default_policy(
    actor: Actor, currencies: tuple[str, ...] = DEMO_CURRENCIES, build: Callable[[], OfferPolicy] = default_policy
) -> list[PolicyVersion]:
    """Install the default policy (``build()``, in each currency) for each currency that
    has no version yet (demo set-up)."""
    created = []
    for currency in currencies:
        exists = select(func.count()).select_from(PolicyVersion).where(PolicyVersion.currency == currency)
        if db.session.execute(exists).scalar():
            continue
        policy = replace(build(), currency=currency)
        problems = validate_policy(policy)
        if problems:
            raise ValueError(f"default policy is invalid: {problems}")
        number = (db.session.execute(select(func.max(PolicyVersion.number))).scalar() or 0) + 1
        version = PolicyVersion(
            number=number,
            currency=currency,
            state=PolicyState.ACTIVE,
            document=policy.to_dict(),
            author="system",
            approver="system",
            comment="Default policy loaded with the demo data",
        )
        db.session.add(version)
        db.session.flush()
        record(
            actor,
            Action.Policy.ACTIVATED,
            ("policy_version", version.id),
            after={"number": number, "currency": currency, "state": PolicyState.ACTIVE},
        )
        created.append(version)
    return created
