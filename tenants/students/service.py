"""Reading students. Lists show masked personal data; the full record is a recorded event."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.service import access

PAGE_SIZE = 50


def list_students(session: Session, *, q: str = "", school_id: int | None = None, class_id: int | None = None,
                  page: int = 1) -> tuple[list[Student], int]:
    query = select(Student)
    if q:
        query = query.where(or_(Student.name.contains(q), Student.student_number == q.upper(),
                                Student.id_number == q.upper()))
    if school_id:
        query = query.where(Student.school_id == school_id)
    if class_id:
        query = query.where(Student.class_id == class_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Student.school_id, Student.class_id, Student.id)
        .limit(PAGE_SIZE).offset(max(page - 1, 0) * PAGE_SIZE)
    )
    return list(rows), total


def access_student(session: Session, student_id: int, *, personal: bool) -> Student:
    """Fetch one student in scope; reading the unmasked record is audited."""
    student = access(session, Student, student_id)
    if personal:
        audit.record(session, "students:student:personal_viewed", entity=student)
    return student
