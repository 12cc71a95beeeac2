"""Many rows at once: COPY on PostgreSQL (executemany elsewhere), and long IN lists.

A batch job (a statement import of 100,000 entries) writes rows in chunks. On
PostgreSQL, ``COPY … FROM STDIN`` on the session's own connection (so inside the same
transaction, committed or rolled back with everything else) costs a fraction of one
INSERT per row; SQLite takes the executemany. Rows are plain dicts keyed by column
name, every row with the same keys.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import JSON, Table, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY

from portal.extensions import db
from portal.unit_of_work import mark_written


def bulk_insert(table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` in the session's current transaction."""
    if not rows:
        return
    session = db.session
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(table.insert(), rows)
        return
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    processors = [column.type.bind_processor(connection.dialect) for column in columns]
    is_json = [isinstance(column.type, JSON) for column in columns]
    preparer = connection.dialect.identifier_preparer
    quoted = ", ".join(preparer.quote(name) for name in names)
    mark_written()  # COPY goes round the ORM: the unit of work must still commit it
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(f"COPY {preparer.format_table(table)} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            values = []
            for name, process, as_json in zip(names, processors, is_json, strict=True):
                value = row[name]
                if process is not None:
                    value = process(value)  # the column type's own checks (no floats, aware times)
                if as_json and value is not None and not isinstance(value, str):
                    value = json.dumps(value)
                values.append(value)
            copy.write_row(values)


def among(column: Any, values: Collection[Any]) -> Any:
    """``column IN values`` for a long list: on PostgreSQL ``= ANY(array)`` with ONE
    parameter, which the driver does not have to re-parse for every list length."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)
