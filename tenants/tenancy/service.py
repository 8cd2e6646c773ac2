"""Reads and writes of the township's structure: villages, schools, classes, departments, people.

Lookups name their township (`get_*_in_township`); routes call `access_*`, which fetch through
the scope and answer "missing", "another township's" and "not yours" with the same 404.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform.db import tenant_of
from baoxue.platform.errors import not_found
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import Department, Membership, School, SchoolClass, Township, Village

M = TypeVar("M")


def get_in_township(session: Session, model: type[M], object_id: int) -> M | None:
    """The one raw lookup by id: filtered by the township and the actor's scope (the listener)."""
    township_id = tenant_of(session).township_id
    return session.scalars(
        select(model).where(model.id == object_id, model.township_id == township_id)  # type: ignore[attr-defined]
    ).first()


def access(session: Session, model: type[M], object_id: int) -> M:
    """Fetch in scope or 404: what every route uses."""
    found = get_in_township(session, model, object_id)
    if found is None:
        raise not_found()
    return found


def current_township(session: Session) -> Township:
    township = session.get(Township, tenant_of(session).township_id)
    if township is None:
        raise not_found()
    return township


def unit_overview(session: Session) -> dict[str, Any]:
    """What the home page says about the actor's part of the township, in four small queries."""
    scope = tenant_of(session).scope
    students = session.scalar(select(func.count(Student.id)).where(Student.status.in_(("01", "05")))) or 0
    schools = list(session.scalars(select(School).order_by(School.id)))
    if scope is not None and scope.is_school():
        schools = [s for s in schools if s.id == scope.unit_id]
    unit_name = ""
    if scope is not None and not scope.whole_township:
        model = {"school": School, "village": Village, "department": Department}[scope.unit_kind]
        unit = get_in_township(session, model, scope.unit_id)
        unit_name = getattr(unit, "name", "")
    return {
        "township": current_township(session),
        "unit_name": unit_name,
        "students": students,
        "schools": schools,
        "classes": session.scalar(select(func.count(SchoolClass.id))) or 0,
        "villages": session.scalar(select(func.count(Village.id))) or 0,
        "people": session.scalar(select(func.count(Membership.id))) or 0,
    }
