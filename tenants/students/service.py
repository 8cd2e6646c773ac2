"""Reading students. Lists show masked personal data; the full record is a recorded event."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.tenants.students.events import Event
from baoxue.tenants.students.models import Student

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


EXPORT_HEADERS = ("姓名", "性别", "出生日期", "身份证件号", "全国学籍号", "学校", "班级", "户籍所在村",
                  "学籍状态", "是否留守儿童", "监护人", "联系电话", "现住址", "家庭情况")


def do_export_students(session: Session) -> tuple[bytes, int]:
    """Every student in scope, unmasked, as xlsx. The download itself is an audited event."""
    from baoxue.platform.spreadsheets import workbook_bytes
    from baoxue.tenants.students.models import STATUS_LABELS
    from baoxue.tenants.tenancy.models import School, SchoolClass, Village

    schools = dict(session.execute(select(School.id, School.name)).all())
    classes = dict(session.execute(select(SchoolClass.id, SchoolClass.name)).all())
    villages = dict(session.execute(select(Village.id, Village.name)).all())
    students = list(session.scalars(select(Student).order_by(Student.school_id, Student.class_id, Student.id)))
    left_behind = {0: "否", 1: "单亲留守", 2: "双亲留守"}
    rows = (
        (s.name, s.gender, s.birth_date.strftime("%Y%m%d"), s.id_number, s.student_number,
         schools.get(s.school_id, ""), classes.get(s.class_id, ""), villages.get(s.residence_village_id, ""),
         STATUS_LABELS.get(s.status, s.status), left_behind.get(s.left_behind, ""), s.guardian_name,
         s.guardian_phone, s.address, s.family_circumstances)
        for s in students
    )
    data = workbook_bytes([("学生名册", EXPORT_HEADERS, rows)])
    audit.record(session, Event.EXPORTED, entity_type="students", changes={"rows": len(students)})
    return data, len(students)
