"""Many rows at once into a township table, for the jobs that write them (figures, counts).

ORM `add_all` of tens of thousands of objects is slow (each one is tracked, then every id is
selected again by the write check) and an ORM bulk `insert()` is refused by the scope listener.
`insert_rows` is the platform's way: on PostgreSQL a COPY into a temporary table and one
`INSERT ... SELECT` (COPY straight into a table with row-level security is refused, and the
INSERT is checked by the policies like any other); on SQLite one executemany. Only a session
working for the whole township may use it, and every row must be that township's: a narrower
scope adds objects, so that the write check sees each row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from baoxue.platform.scoping import ScopeViolation, scope_of


def insert_rows(session: Session, model: type, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert `rows` (dicts of column values, township_id included) into `model`'s table."""
    if not rows:
        return 0
    scope = scope_of(session)
    if scope is None or not scope.whole_township:
        raise ScopeViolation(f"bulk rows of {model.__name__} need the whole township's scope")
    if any(row.get("township_id") != scope.township_id for row in rows):
        raise ScopeViolation(f"bulk rows of {model.__name__} for another township than {scope.township_id}")
    session.flush()  # what the rows refer to is in the database first
    table = model.__table__  # type: ignore[attr-defined]
    columns = list(rows[0])
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), [dict(row) for row in rows])
        return len(rows)
    copy_through_staging(connection, table.name, columns, ([row[c] for c in columns] for row in rows))
    return len(rows)


def copy_through_staging(connection: Connection, table: str, columns: Sequence[str],
                         rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL: COPY `rows` into a temporary copy of `table`, then one INSERT ... SELECT, so
    that the table's row-level policies check every row. No scope check: callers are
    `insert_rows` and the benchmarks' builders, which run as the township themselves."""
    names = ", ".join(columns)
    staging = f"bulk_{table}"
    connection.execute(text(f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "
                            f"SELECT {names} FROM {table} WITH NO DATA"))
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    connection.execute(text(f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging}"))
    connection.execute(text(f"DROP TABLE {staging}"))
