"""Writing a roster's students in bulk: PostgreSQL `COPY` and one `INSERT … ON CONFLICT`; SQLite plainly.

Ten thousand children a file: one ORM object per row (and the scope's re-select after the
flush) would take most of a minute. On PostgreSQL the rows are copied into a temporary table
and written by one statement: ids for the new rows are reserved from the table's identity
sequence first, so new and changed rows go in together, keyed on `(township_id, id)`.
SQLite (development, tests) runs the same rows as two executemany statements.

Both bypass the ORM, so neither passes the scope's after-flush check (nor, on SQLite, any
other wall). The caller (`service.do_import_roster`) therefore guarantees itself, before it
calls `write`, that every row is of the session's township and of the importing school and
that every id it updates is one it was allowed to update; `write` checks it once more and the
update statement carries the same condition, so a row that was not the caller's is never
touched (it is counted, and the whole import is refused as a race).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, text, update
from sqlalchemy.orm import Session

from baoxue.platform.db import tenant_of
from baoxue.platform.errors import Conflict
from baoxue.platform.imports import CONCURRENT
from baoxue.tenants.students.models import Student

STUDENTS = Student.__table__
# Every column a new row gets, in the table's order.
ALL_COLUMNS = tuple(c.name for c in STUDENTS.columns)


@dataclass(frozen=True)
class Batch:
    """What one import writes.

    `new`: complete rows (every column but `id`); `changed`: rows with `id` and the columns in
    `update_columns` (the file's columns, plus placement, status and `updated_at`).
    `school_id`: the importing school; `movable`: the ids of other schools' records the import
    may take over (a child who left them: graduated, transferred out).
    """

    school_id: int
    new: Sequence[dict[str, Any]]
    changed: Sequence[dict[str, Any]]
    update_columns: tuple[str, ...]
    movable: Collection[int] = ()
    keep_when_empty: tuple[str, ...] = ()  # an update leaves these (nullable) as they were where the row has None
    # PostgreSQL checks NOT NULL on the row an INSERT … ON CONFLICT proposes before it finds the
    # conflict: a changed row's columns outside `update_columns` get these (never written).
    placeholders: Mapping[str, Any] = field(default_factory=dict)


def _check(session: Session, batch: Batch) -> int:
    township_id = tenant_of(session).township_id
    if township_id is None:
        raise RuntimeError("a roster is written for a township")
    for row in (*batch.new, *batch.changed):
        # The service built these rows; this is the last line before SQL that knows no scope.
        if row["township_id"] != township_id or row["school_id"] != batch.school_id:
            raise RuntimeError("a roster row outside the importing school")
    return township_id


def write(session: Session, batch: Batch) -> None:
    """Insert `batch.new` and update `batch.changed`, in the session's transaction."""
    township_id = _check(session, batch)
    if not batch.new and not batch.changed:
        return
    if session.get_bind().dialect.name == "postgresql":
        _copy_and_upsert(session, batch)
    else:
        _executemany(session, batch, township_id)


# The update's own guard: the existing row is this school's, or one the import may take over.
_ALLOWED = "(students.school_id = :school_id OR students.id = ANY(CAST(:movable AS bigint[])))"


def _copy_and_upsert(session: Session, batch: Batch) -> None:
    connection = session.connection()
    new_ids = [row[0] for row in connection.execute(
        text("SELECT nextval(pg_get_serial_sequence('students', 'id')) FROM generate_series(1, :n)"),
        {"n": len(batch.new)})] if batch.new else []
    # The temporary table has the students' columns and nothing else (no constraint, default or
    # policy): rows are complete for inserts; for updates only `update_columns` are read.
    connection.execute(text("DROP TABLE IF EXISTS pg_temp.roster_rows"))
    connection.execute(text("CREATE TEMPORARY TABLE roster_rows ON COMMIT DROP AS "
                            "SELECT * FROM students WITH NO DATA"))
    columns = ALL_COLUMNS
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY roster_rows ({', '.join(columns)}) FROM STDIN") as copy:
        for row_id, row in zip(new_ids, batch.new, strict=True):
            copy.write_row([row_id if c == "id" else row.get(c) for c in columns])
        for row in batch.changed:
            copy.write_row([row[c] if c in row else batch.placeholders.get(c) for c in columns])
    settings = ", ".join(f"{c} = COALESCE(EXCLUDED.{c}, students.{c})" if c in batch.keep_when_empty
                         else f"{c} = EXCLUDED.{c}" for c in batch.update_columns)
    written = connection.execute(text(
        f"INSERT INTO students ({', '.join(columns)}) SELECT {', '.join(columns)} FROM roster_rows "
        f"ON CONFLICT (township_id, id) DO UPDATE SET {settings} WHERE {_ALLOWED} RETURNING id"),
        {"school_id": batch.school_id, "movable": list(batch.movable)}).all()
    if len(written) != len(batch.new) + len(batch.changed):
        raise Conflict(detail=CONCURRENT)
    connection.execute(text("DROP TABLE pg_temp.roster_rows"))


def _executemany(session: Session, batch: Batch, township_id: int) -> None:
    connection = session.connection()
    if batch.new:
        connection.execute(insert(STUDENTS), [{c: row.get(c) for c in ALL_COLUMNS if c != "id"} for row in batch.new])
    if batch.changed:
        statement = (
            update(STUDENTS)
            .where(and_(STUDENTS.c.township_id == township_id, STUDENTS.c.id == bindparam("row_id"),
                        or_(STUDENTS.c.school_id == batch.school_id,
                            STUDENTS.c.id.in_(list(batch.movable) or [-1]))))
            .values({c: func.coalesce(bindparam(f"v_{c}"), STUDENTS.c[c]) if c in batch.keep_when_empty
                     else bindparam(f"v_{c}") for c in batch.update_columns})
        )
        result = connection.execute(statement, [
            {"row_id": row["id"], **{f"v_{c}": row.get(c) for c in batch.update_columns}} for row in batch.changed])
        if result.rowcount != len(batch.changed):
            raise Conflict(detail=CONCURRENT)
