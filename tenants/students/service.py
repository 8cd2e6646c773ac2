"""Reading students. Lists show masked personal data; the full record is a recorded event.

Searching by ID number or national student number is itself a way to read personal data (a
masked number plus a few guesses is the number), so it is allowed only to roles that may read
the unmasked record, only for a complete number, and each such search is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.templating import mask_id_number
from baoxue.tenants.students.events import Event
from baoxue.tenants.students.idnumbers import is_valid_id_number
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import SchoolClass

PAGE_SIZE = 50

# The class names a student list shows, read as a plain table joined from the students the
# scope already lets the reader see. A village cadre may read their residents' records, whose
# class is part of them, but the SchoolClass policy (what a scope may read of classes
# themselves) stays closed to villages: only this join, and only the name and grade, reach them.
_CLASSES = SchoolClass.__table__

# Anything shaped like an ID number or a 全国学籍号 (or a piece of one, or a masked one).
_NUMBER_LIKE = re.compile(r"[GJL]?[0-9X*]{6,19}")


def looks_like_number(q: str) -> bool:
    return bool(_NUMBER_LIKE.fullmatch(q.strip().upper()))


def _complete_number(q: str) -> bool:
    q = q.strip().upper()
    return is_valid_id_number(q) or (len(q) == 19 and q[0] in "GJL" and q[1:].isdigit())


@dataclass(frozen=True)
class StudentFilters:
    q: str = ""
    school_id: int | None = None
    class_id: int | None = None
    grade: int | None = None
    status: str = ""

    def query(self) -> dict[str, Any]:
        """The filters that are set, as query parameters (for the pager's links)."""
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass(frozen=True)
class StudentPage:
    rows: list[tuple[Student, str]]  # each student with their class's name ("" if none)
    total: int
    page: int  # clamped to 1..pages
    pages: int
    # Why a search that looks like an ID number found nothing: "refused" (the role may not look a
    # child up by number) or "lookup" (it may, with the lookup form: never in a URL), or "".
    number_search: str = ""


def _with_class(query: Any) -> Any:
    return query.outerjoin(_CLASSES, and_(_CLASSES.c.id == Student.class_id,
                                          _CLASSES.c.township_id == Student.township_id))


def list_students(session: Session, filters: StudentFilters = StudentFilters(), *, page: int = 1,
                  personal: bool = False) -> StudentPage:
    """One page of the students in scope; `personal`: the reader may search by ID number."""
    query = _with_class(select(Student, _CLASSES.c.name))
    q = filters.q.strip()
    if q and looks_like_number(q):
        # A number is looked up by `do_lookup_student`, from a request body: a URL would leave it in
        # access logs and browser history, and a masked number plus exact matches gives it away.
        return StudentPage([], 0, 1, 1, number_search="lookup" if personal else "refused")
    if q:
        query = query.where(Student.name.contains(q, autoescape=True))
    if filters.school_id is not None:
        query = query.where(Student.school_id == filters.school_id)
    if filters.class_id is not None:
        query = query.where(Student.class_id == filters.class_id)
    if filters.grade is not None:
        query = query.where(_CLASSES.c.grade == filters.grade)
    if filters.status:
        query = query.where(Student.status == filters.status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)  # past the end: the last page, not an empty "第 99 / 43 页"
    rows = [(student, name or "") for student, name in session.execute(
        query.order_by(Student.school_id, Student.class_id, Student.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))]
    return StudentPage(rows, total, page, pages)


def first_page_named(session: Session, q: str) -> list[tuple[Student, str]]:
    """Children in scope whose name holds `q`, with their class (a form's "which child?")."""
    return list_students(session, StudentFilters(q=q.strip())).rows


def do_lookup_student(session: Session, number: str) -> Student | None:
    """The child in scope with this whole ID number or 全国学籍号, or None.

    Looking a child up by number reads their personal data, so every lookup is audited, found or
    not, with the number masked; only a whole, valid number is looked up.
    """
    number = number.strip().upper()
    found = None
    if _complete_number(number):
        found = session.scalars(select(Student).where(
            or_(Student.id_number == number, Student.student_number == number)).limit(1)).first()
    audit.record(session, Event.PERSONAL_SEARCHED, entity=found, entity_type="students",
                 changes={"number": mask_id_number(number), "found": found is not None})
    return found


@dataclass(frozen=True)
class ClassOption:
    id: int
    school_id: int
    grade: int
    name: str


def class_options(session: Session) -> list[ClassOption]:
    """The classes of the students in scope (for the list's filters), by school, grade and name."""
    query = _with_class(select(_CLASSES.c.id, _CLASSES.c.school_id, _CLASSES.c.grade, _CLASSES.c.name)
                        .select_from(Student)).where(_CLASSES.c.id.is_not(None)).distinct()
    found = [ClassOption(*row) for row in session.execute(query)]
    return sorted(found, key=lambda c: (c.school_id, c.grade, c.name))


def class_name_of(session: Session, student: Student) -> str:
    """The name of a student's class, by the same narrow read as the list (for the record page)."""
    query = _with_class(select(_CLASSES.c.name).select_from(Student)).where(Student.id == student.id)
    return session.scalar(query) or ""


@dataclass(frozen=True)
class Places:
    """Where a student belongs, by name: what the record page shows beside the record."""

    school: str
    class_name: str
    village: str


def places_of(session: Session, student: Student) -> Places:
    """One query: the school and village of residence (the township's structure, readable by all),
    and the class by the list's narrow read."""
    from baoxue.tenants.tenancy.models import School, Village

    row = session.execute(
        _with_class(select(School.name, _CLASSES.c.name, Village.name).select_from(Student))
        .join(School, School.id == Student.school_id)
        .outerjoin(Village, Village.id == Student.residence_village_id)
        .where(Student.id == student.id)).one()
    return Places(school=row[0] or "", class_name=row[1] or "", village=row[2] or "")


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
         STATUS_LABELS.get(s.status, s.status), left_behind.get(s.left_behind, ""), s.guardian.name,
         s.guardian.phone, s.address, s.family_circumstances)
        for s in students
    )
    data = workbook_bytes([("学生名册", EXPORT_HEADERS, rows)])
    audit.record(session, Event.EXPORTED, entity_type="students", changes={"rows": len(students)})
    return data, len(students)
