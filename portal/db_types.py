"""Column types that keep money exact and times aware on every database.

PostgreSQL stores ``NUMERIC`` exactly. SQLite has no decimal type and would round
through a binary float, so there the same column holds an integer count of the
smallest stored unit (10**-scale). Either way Python only ever sees ``Decimal``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import BigInteger, ColumnElement, CursorResult, DateTime, Dialect, Numeric, Result, bindparam
from sqlalchemy.types import TypeDecorator, TypeEngine

from portal import clock


class ExactDecimal(TypeDecorator[Decimal]):
    """A ``NUMERIC(precision, scale)`` that never passes through a float."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 18, scale: int = 4) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money and rates are Decimal, never float")
        value = Decimal(value)
        if dialect.name == "sqlite":
            scaled = value.scaleb(self.scale)
            if scaled != scaled.to_integral_value():
                raise ValueError(f"{value} has more than {self.scale} decimal places")
            return int(scaled)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value)


def Money() -> ExactDecimal:  # noqa: N802 - reads like a column type
    """An amount of money: up to 14 integer digits and 4 decimals (any ISO currency)."""
    return ExactDecimal(18, 4)


def Rate() -> ExactDecimal:  # noqa: N802
    """A rate or share as a fraction, e.g. 0.006 for 0.6 %."""
    return ExactDecimal(9, 6)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC. Tests freeze it by patching ``portal.clock``."""
    return clock.now()


def rowcount(result: Result[Any]) -> int:
    """The rows matched by the UPDATE or DELETE that produced ``result``.

    ``Session.execute`` is annotated to return ``Result``; for an UPDATE or DELETE it
    returns a ``CursorResult``, the class that has ``rowcount``.
    """
    return cast("CursorResult[Any]", result).rowcount


def sql_values(values: type[StrEnum] | tuple[StrEnum, ...]) -> str:
    """``'a', 'b'``: a state enum's stored strings, for a CHECK constraint or an index."""
    return ", ".join(f"'{member.value}'" for member in values)


def one_of(column: Any, values: tuple[Any, ...] | frozenset[Any]) -> ColumnElement[bool]:
    """``column IN (...)`` for a fixed set of values, written into the statement once.

    ``column.in_(values)`` makes one *expanding* parameter: SQLAlchemy then writes the list
    into the SQL string again on every execution, after its compiled cache. A parameter
    per value compiles to the same ``IN (%(a)s, %(b)s)`` every time and costs nothing
    after the first compile. For constants (states, kinds); a list that varies per call
    (ids) stays ``in_``."""
    return cast(
        "ColumnElement[bool]",
        column.in_([bindparam(None, value, type_=column.type) for value in sorted(values)]),
    )
