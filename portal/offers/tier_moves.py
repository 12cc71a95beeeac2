"""Which accounts a policy change moves from one tier (queue) to another.

When a draft changes tier bounds or balance bands, the reviewer needs to know how many
accounts change hands: a new "M1 small" band moves the small M1 balances from the
agents' queue to automated reminders. Counted in ONE SQL query over the past-due
accounts of the currency (GROUP BY the tier under each policy), with the SQL form of
``OfferPolicy.tier_for`` (``portal.accounts.sql.tier_index``), so it agrees with the
tier every other feature picks. Every past-due account counts, eligible for offers or
not: a tier is a queue as well as a set of limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from portal.accounts import sql as account_sql
from portal.accounts.models import CardAccount
from portal.domain.policy import OfferPolicy
from portal.offers.impact import Count
from portal.replica import report_session

__all__ = ["TierMove", "tier_moves"]

_NONE = -1


@dataclass(frozen=True)
class TierMove:
    """Accounts whose tier is ``source`` under the active policy and ``target`` under the
    proposed one (None: no tier, e.g. a tier only the other version has)."""

    source: str | None
    target: str | None
    moved: Count


def tier_moves(proposed: OfferPolicy, current: OfferPolicy) -> list[TierMove]:
    """The accounts that change tier name between ``current`` and ``proposed``, largest
    moves first; empty when every account keeps its tier."""
    a = CardAccount
    amount = account_sql.balance(a)
    per_account = (
        select(
            account_sql.tier_index(current.tiers, a, _NONE, amount).label("old"),
            account_sql.tier_index(proposed.tiers, a, _NONE, amount).label("new"),
            amount.label("balance"),
        )
        .where(a.currency == proposed.currency, a.days_past_due >= 1)
        .subquery()
    )
    query = select(per_account.c.old, per_account.c.new, func.count(), func.sum(per_account.c.balance)).group_by(
        per_account.c.old, per_account.c.new
    )
    moves: dict[tuple[str | None, str | None], Count] = {}
    for old, new, accounts, owed in report_session().execute(query):
        source = current.tiers[old].name if 0 <= old < len(current.tiers) else None
        target = proposed.tiers[new].name if 0 <= new < len(proposed.tiers) else None
        if source == target:
            continue
        before = moves.get((source, target), Count())
        moves[(source, target)] = Count(before.accounts + accounts, before.balance + (owed or Decimal(0)))
    found = [TierMove(source, target, moved) for (source, target), moved in moves.items()]
    return sorted(found, key=lambda m: (-m.moved.accounts, m.source or "", m.target or ""))
