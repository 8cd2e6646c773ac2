"""Students: a scoped list (masked) and one record (unmasked only for roles that need it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar import Request, Response, get
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.clock import clock
from baoxue.platform.spreadsheets import xlsx_download
from baoxue.platform.permissions import Permission
from baoxue.platform.templating import mask_id_number, mask_phone
from baoxue.tenants.students import service
from baoxue.tenants.students.policy import access_student
from baoxue.tenants.students.models import STATUS_LABELS, Student
from baoxue.tenants.tenancy.models import School, SchoolClass, Village
from baoxue.tenants.tenancy.service import visible_schools


@dataclass
class StudentOut:
    id: int
    name: str
    gender: str
    school_id: int
    class_id: int | None
    residence_village_id: int | None
    status: str
    id_number: str
    student_number: str
    birth_date: date | None = None
    guardian_name: str | None = None
    guardian_phone: str | None = None
    address: str | None = None
    family_circumstances: str | None = None
    left_behind: int | None = None


def _out(student: Student, *, personal: bool) -> StudentOut:
    out = StudentOut(
        id=student.id, name=student.name, gender=student.gender, school_id=student.school_id,
        class_id=student.class_id, residence_village_id=student.residence_village_id, status=student.status,
        id_number=student.id_number if personal else mask_id_number(student.id_number),
        student_number=student.student_number if personal else mask_id_number(student.student_number),
    )
    if personal:
        out.birth_date = student.birth_date
        out.guardian_name, out.guardian_phone = student.guardian_name, student.guardian_phone
        out.address, out.family_circumstances = student.address, student.family_circumstances
        out.left_behind = student.left_behind
    return out


@get("/api/students", opt=requires(Permission.STUDENT_READ), summary="Students in my scope (masked)",
     sync_to_thread=True)
def students_api(db: Session, q: str = "", school_id: int | None = None, class_id: int | None = None,
                 page: int = 1) -> list[StudentOut]:
    rows, _ = service.list_students(db, q=q, school_id=school_id, class_id=class_id, page=page)
    return [_out(s, personal=False) for s in rows]


@get("/api/students/{student_id:int}", opt=requires(Permission.STUDENT_READ), summary="One student",
     sync_to_thread=True)
def student_api(request: Request[Any, Any, Any], db: Session, student_id: int) -> StudentOut:
    personal = actor_of(request).can(Permission.STUDENT_READ_PERSONAL)
    return _out(access_student(db, student_id, personal=personal), personal=personal)


@get("/students", opt=requires(Permission.STUDENT_READ), include_in_schema=False, sync_to_thread=True)
def students_page(request: Request[Any, Any, Any], db: Session, q: str = "", school_id: int | None = None,
                  class_id: int | None = None, page: int = 1) -> Template:
    rows, total = service.list_students(db, q=q, school_id=school_id, class_id=class_id, page=page)
    context = {
        "students": rows, "total": total, "q": q, "school_id": school_id or "", "class_id": class_id or "",
        "page": page, "pages": max(1, -(-total // service.PAGE_SIZE)),
        "schools": {school.id: school.name for school in visible_schools(db)},
        "classes": dict(db.execute(select(SchoolClass.id, SchoolClass.name)).all()),
        "villages": dict(db.execute(select(Village.id, Village.name)).all()),
        "status_labels": STATUS_LABELS, "mask_phone": mask_phone,
    }
    only_rows = bool(request.headers.get("hx-request"))
    response = Template("students/list.html", context={**context, "only_rows": only_rows})
    response.headers["Vary"] = "HX-Request"
    return response


@get("/students/{student_id:int}", opt=requires(Permission.STUDENT_READ), include_in_schema=False,
     sync_to_thread=True)
def student_page(request: Request[Any, Any, Any], db: Session, student_id: int) -> Template:
    personal = actor_of(request).can(Permission.STUDENT_READ_PERSONAL)
    student = access_student(db, student_id, personal=personal)
    return Template("students/detail.html", context={
        "s": student, "personal": personal, "status_labels": STATUS_LABELS,
        "school": db.get(School, student.school_id),
        "klass": db.get(SchoolClass, student.class_id) if student.class_id else None,
        "village": db.get(Village, student.residence_village_id) if student.residence_village_id else None,
    })


def _xlsx(data: bytes) -> Response[bytes]:
    return xlsx_download(data, f"学生名册-{clock.today().isoformat()}.xlsx")


@get("/api/students/export", opt=requires(Permission.STUDENT_READ_PERSONAL),
     summary="Download the students in my scope as xlsx (audited)", sync_to_thread=True)
def students_export_api(db: Session) -> Response[bytes]:
    return _xlsx(service.do_export_students(db)[0])


@get("/students/export", opt=requires(Permission.STUDENT_READ_PERSONAL), include_in_schema=False,
     sync_to_thread=True)
def students_export_page(db: Session) -> Response[bytes]:
    return _xlsx(service.do_export_students(db)[0])


routes = [students_api, student_api, students_page, student_page, students_export_api, students_export_page]
