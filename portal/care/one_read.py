"""Several short lists of one page read in one statement.

Each statement costs the page SQLAlchemy's and the driver's work however few rows it
brings (compiling from the cache, binding, the cursor, setting up the result): for the
case file's short lists that work was most of their cost. :func:`lists_statement` puts
each list's own SELECT (its filter, order and limit as before) in a subquery under one
UNION ALL. A row carries its list's name (``part``), its place in that list (``seq``) and
the list's columns, named ``list__column``; the other lists' columns are typed NULLs.
:func:`read_lists` hands each list back as named tuples with the list's own column names.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, cast, func, literal, null, select, union_all
from sqlalchemy.engine import Connection


class Lists(NamedTuple):
    """The statement, and how to read its rows back (see :func:`read_lists`)."""

    statement: Select[Any]
    names: tuple[str, ...]  # the lists, in ``part`` order
    shapes: tuple[Any, ...]  # each list's named tuple type
    places: tuple[slice, ...]  # each list's columns in a row


def ranked(query: Select[Any], *order: Any) -> Select[Any]:
    """``query`` in ``order``, with its place in that order as ``seq`` (1, 2, …)."""
    return query.add_columns(func.row_number().over(order_by=order).label("seq")).order_by(*order)


def lists_statement(lists: Mapping[str, Select[Any]]) -> Lists:
    """One UNION ALL of ``lists`` (name → a SELECT made by :func:`ranked`, limited or not)."""
    parts = {name: query.subquery(name) for name, query in lists.items()}
    columns = {name: [c for c in part.c if c.key != "seq"] for name, part in parts.items()}
    selects = []
    for number, (name, part) in enumerate(parts.items()):
        row: list[Any] = [literal(number, Integer()).label("part"), part.c.seq]
        for other, shown in columns.items():
            for column in shown:
                value = column if other == name else cast(null(), column.type)
                row.append(value.label(f"{other}__{column.key}"))
        selects.append(select(*row))
    both = union_all(*selects).subquery("lists")
    statement = select(both).order_by(both.c.part, both.c.seq)
    shapes, places, start = [], [], 2  # after part and seq
    for name, shown in columns.items():
        shapes.append(namedtuple(name.title().replace("_", ""), [c.key for c in shown]))
        places.append(slice(start, start + len(shown)))
        start += len(shown)
    return Lists(statement, tuple(parts), tuple(shapes), tuple(places))


def read_lists(connection: Connection, lists: Lists, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Each list's rows, in its own order, as named tuples of its columns."""
    found: dict[str, list[Any]] = {name: [] for name in lists.names}
    kept: Sequence[list[Any]] = list(found.values())
    for row in connection.execute(lists.statement, values):
        part = row[0]
        kept[part].append(lists.shapes[part]._make(row[lists.places[part]]))
    return found
