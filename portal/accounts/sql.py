"""The SQL forms of the account rules the domain states in Python, each written once.

| rule             | domain (pure Python)                       | SQL form here                |
|------------------|--------------------------------------------|------------------------------|
| balance          | ``AccountSnapshot.balance``                | ``balance``, ``waivable_fees`` |
| tier membership  | ``Tier.covers``, ``OfferPolicy.tier_for``   | ``in_tier``, ``tier_index``  |
|  (DPD and band)  | (DPD range and balance band)               |                              |
| flags            | ``flags & names``, ``not flags``            | ``has_any_flag``, ``has_no_flags`` |

Care queues, the policy impact preview and reports build their queries from these, so a
rule changed in the domain has one SQL twin to change with it; ``tests/db/
test_account_sql.py`` checks on SQLite and PostgreSQL that each form agrees with its
domain twin on generated accounts, tier edges included.

Each function takes the account entity (``CardAccount`` or an alias of it) so it can be
used inside subqueries. Flags are a JSON list, which the two databases read differently:
the ``dialect`` argument is the one switch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, cast, exists, false, func, literal, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB, array
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Integer, Text

from portal.accounts.models import CardAccount
from portal.db_types import Money
from portal.domain.policy import Tier

__all__ = ["balance", "has_any_flag", "has_no_flags", "in_tier", "tier_index", "waivable_fees"]


def balance(account: Any = CardAccount) -> ColumnElement[Decimal]:
    """Everything owed: principal + interest + fees + late fees (``AccountSnapshot.balance``).

    Typed as Money, so comparisons bind their amounts the way the columns are stored and
    sums come back as exact Decimals on every database.
    """
    return type_coerce(account.principal + account.interest + account.fees + account.late_fees, Money())


def waivable_fees(account: Any = CardAccount) -> ColumnElement[Decimal]:
    """The part of the balance a fee waiver applies to: fees + late fees."""
    return type_coerce(account.fees + account.late_fees, Money())


def in_tier(tier: Tier, account: Any = CardAccount, amount: ColumnElement[Any] | None = None) -> ColumnElement[bool]:
    """The account's days past due fall in the tier's range and its balance in the
    tier's band (``Tier.covers``). ``amount``: the balance when the caller has it as a
    column already (else it is summed from ``account``'s parts). A tier without a band
    adds no balance condition, so its SQL is what it was before bands existed."""
    dpd = account.days_past_due
    parts = [dpd >= literal(tier.min_dpd, Integer())]
    if tier.max_dpd is not None:
        parts.append(dpd <= literal(tier.max_dpd, Integer()))
    if tier.banded:
        owed = balance(account) if amount is None else amount
        parts.append(owed >= literal(tier.balance_from, Money()))
        if tier.balance_below is not None:
            parts.append(owed < literal(tier.balance_below, Money()))
    return parts[0] if len(parts) == 1 else and_(*parts)


def tier_index(
    tiers: Sequence[Tier],
    account: Any = CardAccount,
    otherwise: int | None = None,
    amount: ColumnElement[Any] | None = None,
) -> ColumnElement[Any]:
    """The position in ``tiers`` of the first tier covering the account, like
    ``OfferPolicy.tier_for`` (which returns that tier), or ``otherwise`` when none does."""
    if not tiers:
        return literal(otherwise, Integer())
    return case(
        *[(in_tier(tier, account, amount), i) for i, tier in enumerate(tiers)], else_=literal(otherwise, Integer())
    )


def has_any_flag(names: Iterable[str], dialect: str, account: Any = CardAccount) -> ColumnElement[bool]:
    """The account holds any of ``names`` among its flags (``bool(flags & names)``)."""
    wanted = sorted(set(names))
    if not wanted:
        return false()
    if dialect == "postgresql":
        return cast(account.flags, JSONB).has_any(array(wanted, type_=Text))  # ?| on the JSON array
    each = func.json_each(account.flags).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value.in_(wanted)))


def has_no_flags(dialect: str, account: Any = CardAccount) -> ColumnElement[bool]:
    """The account has no flag at all (``not flags``); a NULL or JSON null counts as none."""
    flags = account.flags
    if dialect == "postgresql":
        as_array = case((func.json_typeof(flags) == "array", flags))
        return func.coalesce(func.json_array_length(as_array), 0) == 0
    return func.coalesce(func.json_array_length(flags), 0) == 0
