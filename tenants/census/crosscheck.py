"""The one cross-township question: is this child on a roll here, elsewhere, both, or nowhere?

On PostgreSQL it is the database function `enrolment_check` (migration 0008): SECURITY
DEFINER, so the row-level wall stays up for everything else, and narrow, so nothing but the
answer crosses it. SQLite is the single embedded deployment with no wall to cross; the same
question is asked of its tables directly, with the same answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from baoxue.platform.db import tenant_of

ON_A_ROLL = ("01", "02", "05")  # 在读, 休学, 复学: a child a school answers for
CHUNK = {"postgresql": 100_000, "sqlite": 10_000}  # ID numbers per call (SQLite binds each one)


class Answer(NamedTuple):
    enrolled: str  # here | elsewhere | both | nowhere
    listed_elsewhere: bool | None  # for a child on a roll here: does another township's list name them


def enrolment_check(session: Session, ids: Sequence[str]) -> dict[str, Answer]:
    """The answer for each ID number on this township's lists or rolls (others are not answered)."""
    answers: dict[str, Answer] = {}
    unique = sorted(set(ids))
    dialect = session.get_bind().dialect.name
    postgresql, size = dialect == "postgresql", CHUNK.get(dialect, 10_000)
    for start in range(0, len(unique), size):
        chunk = unique[start:start + size]
        rows = (session.execute(text("SELECT id_number, enrolled, listed_elsewhere FROM enrolment_check(CAST(:ids AS text[]))"),
                                {"ids": chunk}).all() if postgresql else _embedded(session, chunk))
        answers.update((row[0], Answer(row[1], row[2])) for row in rows)
    return answers


def listed_exceptions(session: Session, earliest: date, latest: date) -> tuple[int, dict[str, Answer]]:
    """The township's school-age children on its lists (born between the two days): how many, and
    the answer for each one not simply on a roll here (the exceptions a run acts on).

    On PostgreSQL the ID numbers never leave the database: the array is built from the township's
    own lists in the asking statement, and only the exceptions come back."""
    township_id = tenant_of(session).township_id
    params = {"t": township_id, "earliest": earliest, "latest": latest}
    listed = ("SELECT DISTINCT id_number FROM census_children "
              "WHERE township_id = :t AND birth_date BETWEEN :earliest AND :latest")
    total = session.execute(text(f"SELECT count(*) FROM ({listed}) AS listed"), params).scalar() or 0
    if session.get_bind().dialect.name != "postgresql":
        answers = enrolment_check(session, list(session.execute(text(listed), params).scalars()))
        return total, {n: a for n, a in answers.items() if a.enrolled != "here"}
    rows = session.execute(text(f"SELECT e.id_number, e.enrolled, e.listed_elsewhere FROM enrolment_check(ARRAY("
                                f"{listed})) AS e WHERE e.enrolled <> 'here'"), params).all()
    return total, {row[0]: Answer(row[1], row[2]) for row in rows}


def _embedded(session: Session, ids: list[str]) -> list[tuple[str, str, bool | None]]:
    township_id = tenant_of(session).township_id
    params = {f"i{n}": value for n, value in enumerate(ids)}
    asked = ", ".join(f":i{n}" for n in range(len(ids))) or "NULL"
    rolled = ", ".join(f"'{status}'" for status in ON_A_ROLL)
    on_rolls = session.execute(text(
        f"SELECT id_number, township_id FROM students WHERE id_number IN ({asked}) AND status IN ({rolled})"),
        params).all()
    listed = session.execute(text(
        f"SELECT id_number, township_id FROM census_children WHERE id_number IN ({asked})"), params).all()
    my_lists = {n for n, t in listed if t == township_id}
    mine = my_lists | set(session.execute(text(
        f"SELECT id_number FROM students WHERE id_number IN ({asked}) AND township_id = :t"),
        {**params, "t": township_id}).scalars())
    here = {n for n, t in on_rolls if t == township_id}
    there = {n for n, t in on_rolls if t != township_id}
    listed_there = {n for n, t in listed if t != township_id and n not in my_lists}
    rows = []
    for id_number in ids:
        if id_number not in mine:
            continue
        enrolled = ("both" if id_number in here and id_number in there else "here" if id_number in here
                    else "elsewhere" if id_number in there else "nowhere")
        rows.append((id_number, enrolled, (id_number in listed_there) if id_number in here else None))
    return rows
