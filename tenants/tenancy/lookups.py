"""Reads of the township's structure that other concepts' actions need whoever acts.

A class teacher asking for a repetition names a class they do not teach; the worklist must
find a class's class teacher whoever acts on a child of it; a village cadre opening a case
names the child's class teacher. These read the classes and memberships as plain tables,
narrowed to the session's township by hand (the row-level wall holds on PostgreSQL anyway),
and only ids, names, grades and roles leave them: never a person's details.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from baoxue.platform.db import township_id_of
from baoxue.platform.permissions import Role
from baoxue.tenants.tenancy.models import Membership, MembershipClass, SchoolClass

_CLASSES = SchoolClass.__table__
_MEMBERSHIPS = Membership.__table__
_MEMBERSHIP_CLASSES = MembershipClass.__table__


@dataclass(frozen=True)
class ClassRow:
    id: int
    school_id: int
    grade: int
    name: str


def _classes(session: Session) -> select:
    return select(_CLASSES.c.id, _CLASSES.c.school_id, _CLASSES.c.grade, _CLASSES.c.name).where(
        _CLASSES.c.township_id == township_id_of(session))


def class_row(session: Session, class_id: int | None) -> ClassRow | None:
    if class_id is None:
        return None
    row = session.execute(_classes(session).where(_CLASSES.c.id == class_id)).first()
    return ClassRow(*row) if row else None


def classes_of_school(session: Session, school_id: int | None) -> list[ClassRow]:
    """The classes of a school, by grade and name (a form's choices)."""
    query = _classes(session).where(_CLASSES.c.school_id == school_id)
    return [ClassRow(*row) for row in session.execute(query.order_by(_CLASSES.c.grade, _CLASSES.c.name))]


def class_teachers(session: Session, class_id: int | None) -> list[int]:
    """The active class teachers' memberships of a class."""
    if class_id is None:
        return []
    m, mc = _MEMBERSHIPS, _MEMBERSHIP_CLASSES
    return list(session.scalars(
        select(m.c.id).join(mc, and_(mc.c.membership_id == m.c.id, mc.c.township_id == m.c.township_id))
        .where(m.c.township_id == township_id_of(session), mc.c.class_id == class_id,
               m.c.role == Role.CLASS_TEACHER.value, m.c.is_active.is_(True)).order_by(m.c.id)))


def first_class_teachers(session: Session, class_ids: Iterable[int | None]) -> dict[int, int]:
    """{class id: its first active class teacher's membership} for many classes in one query."""
    wanted = sorted({i for i in class_ids if i is not None})
    if not wanted:
        return {}
    m, mc = _MEMBERSHIPS, _MEMBERSHIP_CLASSES
    found: dict[int, int] = {}
    for class_id, membership_id in session.execute(
            select(mc.c.class_id, m.c.id).join(m, and_(mc.c.membership_id == m.c.id, mc.c.township_id == m.c.township_id))
            .where(m.c.township_id == township_id_of(session), mc.c.class_id.in_(wanted),
                   m.c.role == Role.CLASS_TEACHER.value, m.c.is_active.is_(True)).order_by(m.c.id)):
        found.setdefault(class_id, membership_id)
    return found
