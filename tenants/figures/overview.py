"""What the home page says about the actor's part of the township: a handful of counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform.access import get_in_township
from baoxue.platform.db import tenant_of
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import Department, Membership, School, SchoolClass, Village
from baoxue.tenants.tenancy.policy import current_township
from baoxue.tenants.tenancy.service import visible_schools

ENROLLED_STATUSES = ("01", "05")  # 在读, 复学


def unit_overview(session: Session) -> dict[str, Any]:
    """Counts of what the actor's scope can see, one small query each."""
    scope = tenant_of(session).scope
    students = session.scalar(select(func.count(Student.id)).where(Student.status.in_(ENROLLED_STATUSES))) or 0
    unit_name = ""
    if scope is not None and not scope.whole_township:
        model = {"school": School, "village": Village, "department": Department}[scope.unit_kind]
        unit = get_in_township(session, model, scope.unit_id)
        unit_name = getattr(unit, "name", "")
    return {
        "township": current_township(session),
        "unit_name": unit_name,
        "students": students,
        "schools": visible_schools(session),
        "classes": session.scalar(select(func.count(SchoolClass.id))) or 0,
        "villages": session.scalar(select(func.count(Village.id))) or 0,
        "people": session.scalar(select(func.count(Membership.id))) or 0,
    }
