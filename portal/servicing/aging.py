"""Ageing days past due for the accounts the core system did not update.

An account's ``days_past_due`` is true on ``days_past_due_as_of`` (the core system's
snapshot date, or the last run that aged it). On the run date, an account past due
(DPD > 0) dated before it ages by the days between; an account dated NULL (never dated:
loaded before the column existed, or by hand) is taken as true the day before the run,
so it ages by one day. An account that is current (DPD 0) stays current: only its date
moves. Ageing a day twice changes nothing: the second time every date already equals it.

Set-based: one count and two UPDATEs per range of ids, one commit per range, so 200,000
accounts cost a few dozen statements. ``tiers_changed`` compares the tier of the old and
the new DPD with the boundaries of each currency's active policy (``portal.accounts.sql``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Integer, and_, bindparam, cast, false, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Date

from portal.accounts.models import CardAccount
from portal.accounts.sql import tier_index
from portal.db_types import rowcount
from portal.domain.policy import Tier
from portal.extensions import db
from portal.locks import transaction_lock
from portal.policies.service import NoActivePolicy, active_version
from portal.servicing.records import RUN_LOCK
from portal.unit_of_work import unit_of_work

ID_RANGE = 20_000  # ids per chunk: one commit each


@dataclass
class AgingCounts:
    accounts_aged: int = 0
    tiers_changed: int = 0


def _days_since(day: date, earlier: ColumnElement[Any], dialect: str) -> ColumnElement[int]:
    if dialect == "sqlite":  # dates are ISO text there
        return cast(func.julianday(bindparam("day_text", day.isoformat())) - func.julianday(earlier), Integer)
    return cast(bindparam("day_value", day, type_=Date) - earlier, Integer)  # date − date: days, on PostgreSQL


def _tiers_by_currency() -> dict[str, tuple[Tier, ...]]:
    currencies = db.session.execute(select(CardAccount.currency).distinct()).scalars()
    found: dict[str, tuple[Tier, ...]] = {}
    for currency in currencies:
        try:
            found[currency] = active_version(currency).policy.tiers
        except NoActivePolicy:
            continue  # no policy, no tiers: nothing to count a move between
    return found


def age_accounts(day: date) -> AgingCounts:
    """Age every account not dated ``day`` yet to ``day``, one id range per commit."""
    counts = AgingCounts()
    with unit_of_work():
        low, high = db.session.execute(select(func.min(CardAccount.id), func.max(CardAccount.id))).one()
        tiers = _tiers_by_currency()
    if low is None:
        return counts
    for start in range(low, high + 1, ID_RANGE):
        with unit_of_work():
            transaction_lock(RUN_LOCK)  # two runs at once take turns; the second finds the range dated
            aged, moved = _age_range(day, start, start + ID_RANGE - 1, tiers)
        counts.accounts_aged += aged
        counts.tiers_changed += moved
    return counts


def _age_range(day: date, first: int, last: int, tiers: dict[str, tuple[Tier, ...]]) -> tuple[int, int]:
    dialect = db.session.get_bind().dialect.name
    as_of = CardAccount.days_past_due_as_of
    in_range = and_(CardAccount.id >= first, CardAccount.id <= last, or_(as_of.is_(None), as_of < day))
    past_due = and_(in_range, CardAccount.days_past_due > 0)
    new_dpd = CardAccount.days_past_due + _days_since(day, func.coalesce(as_of, day - timedelta(days=1)), dialect)
    # The same account a day older: its balance (the band of a banded tier) is unchanged.
    aged_row = SimpleNamespace(
        days_past_due=new_dpd,
        principal=CardAccount.principal,
        interest=CardAccount.interest,
        fees=CardAccount.fees,
        late_fees=CardAccount.late_fees,
    )
    moves = [
        and_(CardAccount.currency == currency, tier_index(t, otherwise=-1) != tier_index(t, aged_row, otherwise=-1))
        for currency, t in tiers.items()
    ]
    moved = 0
    if moves:
        query = select(func.count()).select_from(CardAccount).where(past_due, or_(false(), *moves))
        moved = db.session.execute(query).scalar_one()
    aged = rowcount(
        db.session.execute(
            update(CardAccount).where(past_due).values(days_past_due=new_dpd, days_past_due_as_of=day),
            execution_options={"synchronize_session": False},
        )
    )
    db.session.execute(
        update(CardAccount).where(in_range).values(days_past_due_as_of=day),
        execution_options={"synchronize_session": False},
    )
    return aged, moved
