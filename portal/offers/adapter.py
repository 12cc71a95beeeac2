"""The offer adapter: the active policy + a stored account + its plan history → offers.

The pure engine (``portal.domain.offers``) takes an ``AccountSnapshot`` and an
``OfferPolicy``; this module builds both from the database, and reads the policy a plan
was offered under, so that ``portal.plans`` needs nothing from ``portal.policies``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, inspect, select

from portal.accounts.models import CardAccount
from portal.domain.account import AccountSnapshot
from portal.domain.money import round_money
from portal.domain.offers import Offer, ineligibility, new_plan_possible_on, offers_for
from portal.domain.policy import OfferPolicy, Tier
from portal.experiments.assignment import policy_for_account
from portal.experiments.models import Exposure
from portal.extensions import db
from portal.offers.history import counts_for_offers
from portal.plans.models import OPEN_STATES, Plan, PlanState
from portal.policies.cache import ActiveVersion, load_policy
from portal.policies.models import PolicyVersion

__all__ = [
    "NewPlanWait",
    "new_plan_wait",
    "offered_tier",
    "offers_for_account",
    "plan_history",
    "remembered_offers",
    "snapshot",
]


def snapshot(account: CardAccount) -> AccountSnapshot:
    """The account as the pure offer engine sees it (one query, over its plans)."""

    # Stored amounts carry four decimals; the engine works in the currency's minor unit.
    def exact(amount: Decimal) -> Decimal:
        return round_money(amount, account.currency)

    has_open_plan, last_broken, after_broken = plan_history(account)
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
        has_active_plan=has_open_plan,
        last_broken_plan_on=last_broken,
        new_plans_after_broken=after_broken,
    )


# Built once: building the statement would cost each offers page more than running it.
_PLAN_HISTORY = select(Plan.state, Plan.accepted_at, Plan.ended_at).where(
    Plan.account_id == bindparam("account_id"), counts_for_offers()
)


def plan_history(account: CardAccount) -> tuple[bool, date | None, tuple[date, ...]]:
    """Whether the account has an open plan; the day (the cardholder's) its last plan
    broke; and the days on which plans were accepted after an earlier plan broke (the
    re-ageing history, ``portal.domain.reage``): from one query over its few plans, or
    from ``CardAccount.offer_history`` (those three columns of the same plans) when a
    page loaded it with the account."""
    rows: Sequence[tuple[str, datetime | None, datetime | None]]
    if "offer_history" in inspect(account).unloaded:
        rows = [tuple(row) for row in db.session.execute(_PLAN_HISTORY, {"account_id": account.id})]
    else:
        rows = [(plan.state, plan.accepted_at, plan.ended_at) for plan in account.offer_history]
    has_open_plan = any(state in OPEN_STATES for state, _accepted, _ended in rows)
    broken = [ended for state, _accepted, ended in rows if state == PlanState.BROKEN and ended is not None]
    if not broken:
        return has_open_plan, None, ()
    zone = ZoneInfo(account.time_zone)
    first = min(broken)
    after = sorted(
        accepted.astimezone(zone).date() for _state, accepted, _ended in rows if accepted and accepted > first
    )
    return has_open_plan, max(broken).astimezone(zone).date(), tuple(after)


def offers_for_account(
    account: CardAccount, today: date, facts: AccountSnapshot | None = None, *, by_staff: bool = False
) -> tuple[ActiveVersion, list[Offer]]:
    """The offers ``account`` may choose on ``today`` under its currency's active policy
    (or its experiment arm's version, ``portal.experiments``); ``facts``: its ``snapshot``
    if the caller has just read it. ``by_staff``: staff are looking, which is not the
    cardholder's exposure to an experiment (nothing is assigned).

    Raises ``NoActivePolicy`` when the currency has none.
    """
    version = policy_for_account(account, None if by_staff else Exposure.OFFERS_VIEWED)
    return version, remembered_offers(facts or snapshot(account), version.policy, today)


# The offers of recent (snapshot, policy, day)s: the engine is a pure function of the
# three, and a cardholder's journey asks it the same question on every page (the list, an
# offer, its agreement, the acceptance). Kept per worker, oldest forgotten first: an
# entry is 10-65 KiB (up to eight offers, 60-month schedules, their fingerprints).
OFFERS_KEPT = 128
_AMOUNTS = ("principal", "interest", "fees", "late_fees", "overdue_amount", "minimum_due")
_offers_kept: dict[tuple[object, ...], tuple[OfferPolicy, tuple[Offer, ...]]] = {}


def remembered_offers(facts: AccountSnapshot, policy: OfferPolicy, today: date) -> list[Offer]:
    """``offers_for(facts, policy, today)``, computed once per set of arguments.

    ``facts`` and ``today`` are values, compared as such, the amounts to the last digit
    (100.0 and 100.00 are equal Decimals, but not the same figure on an agreement); a
    policy is immutable once parsed (``portal.policies.cache``) and is known by its
    identity, which stays its own while the entry holds it. Offers are tuples; the list
    is the caller's own."""
    key = (id(policy), facts, today, *[str(getattr(facts, name)) for name in _AMOUNTS])
    kept = _offers_kept.get(key)
    if kept is None or kept[0] is not policy:
        if len(_offers_kept) >= OFFERS_KEPT:
            _offers_kept.pop(next(iter(_offers_kept), key), None)
        kept = _offers_kept[key] = (policy, tuple(offers_for(facts, policy, today)))
    return list(kept[1])


class NewPlanWait(NamedTuple):
    """Offers wait for a broken plan's cool-down or the limits on new plans after a
    broken one (``reage``) until ``on``; the policy's limits, to say them exactly."""

    on: date
    reage: bool
    per_12_months: int
    per_5_years: int


# The reasons a wait alone explains: with any other (a dispute flag, nothing overdue…)
# offers would not come back on the wait's date, so no date is given.
_WAIT_REASONS = frozenset({"cooling_down", "reage_limit"})


def new_plan_wait(
    account: CardAccount, today: date, facts: AccountSnapshot | None = None, version: ActiveVersion | None = None
) -> NewPlanWait | None:
    """Until when ``account`` must wait for a new plan after a broken one, and why
    (None: nothing of the kind stops offers today, or something else stops them too);
    ``facts`` and ``version``: its ``snapshot`` and policy version if the caller has just
    read them (``offers_for_account``)."""
    policy = (version or policy_for_account(account)).policy
    facts = facts or snapshot(account)
    on = new_plan_possible_on(facts, policy, today)
    if on is None:
        return None
    reasons = set(ineligibility(facts, policy, today))
    if reasons - _WAIT_REASONS:
        return None
    return NewPlanWait(on, "reage_limit" in reasons, policy.max_new_plans_12_months, policy.max_new_plans_5_years)


def offered_tier(plan: Plan) -> Tier | None:
    """The tier, in the policy version the plan was offered under, that made the plan
    (None when that version has no tier by the plan's tier name)."""
    version = db.session.get(PolicyVersion, plan.policy_version_id)
    if version is None:
        return None
    return next((t for t in load_policy(version).tiers if t.name == plan.tier), None)
