"""Students: a scoped list (masked) and one record (unmasked only for roles that need it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.clock import clock
from baoxue.platform.permissions import Permission
from baoxue.platform.resources import Form
from baoxue.platform.spreadsheets import xlsx_download
from baoxue.platform.templating import mask_id_number
from baoxue.platform.templating import page as render_page
from baoxue.tenants.students import service
from baoxue.tenants.students.models import RECORD_LABELS, STATUS_LABELS, Student
from baoxue.tenants.students.policy import access_student
from baoxue.tenants.tenancy.service import GRADE_NAMES, list_villages, visible_schools


@dataclass
class FamilyMemberOut:
    name: str
    relation: str
    phone: str
    is_guardian: bool
    id_type: str
    id_number: str
    address: str
    work_unit: str


@dataclass
class StudentOut:
    id: int
    name: str
    gender: str
    school_id: int
    class_id: int | None
    class_name: str
    residence_village_id: int | None
    status: str
    id_number: str
    student_number: str
    in_transfer_to_school_id: int | None = None
    # The rest of the national record: only for roles that read personal data.
    birth_date: date | None = None
    ethnicity: str | None = None
    id_type: str | None = None
    entry_month: str | None = None
    is_boarding: bool | None = None
    hukou_place: str | None = None
    hukou_nature: str | None = None
    address: str | None = None
    phone: str | None = None
    left_behind: int | None = None
    is_migrant: bool | None = None
    is_orphan: bool | None = None
    disability: str | None = None
    needs_aid: bool | None = None
    receives_subsidy: bool | None = None
    distance_km: float | None = None
    family_circumstances: str | None = None
    guardian_name: str | None = None
    guardian_phone: str | None = None
    family: list[FamilyMemberOut] | None = None


_PERSONAL_FIELDS = ("birth_date", "ethnicity", "id_type", "entry_month", "is_boarding", "hukou_place", "hukou_nature",
                    "address", "phone", "left_behind", "is_migrant", "is_orphan", "disability", "needs_aid",
                    "receives_subsidy", "distance_km", "family_circumstances")


def _out(student: Student, *, personal: bool, class_name: str = "") -> StudentOut:
    out = StudentOut(
        id=student.id, name=student.name, gender=student.gender, school_id=student.school_id,
        class_id=student.class_id, class_name=class_name, residence_village_id=student.residence_village_id,
        status=student.status,
        id_number=(student.id_number or "") if personal else mask_id_number(student.id_number),
        student_number=student.student_number if personal else mask_id_number(student.student_number),
        in_transfer_to_school_id=student.incoming_school_id,
    )
    if personal:
        for name in _PERSONAL_FIELDS:
            setattr(out, name, getattr(student, name))
        out.guardian_name, out.guardian_phone = student.guardian.name, student.guardian.phone
        out.family = [FamilyMemberOut(**vars(m)) for m in (student.family1, student.family2) if m]
    return out


def _filters(q: str, school_id: int | None, class_id: int | None, grade: int | None,
             status: str) -> service.StudentFilters:
    return service.StudentFilters(q=q.strip(), school_id=school_id, class_id=class_id, grade=grade,
                                  status=status.strip())


def _personal(request: Request[Any, Any, Any]) -> bool:
    return actor_of(request).can(Permission.STUDENT_READ_PERSONAL)


@get("/api/students", opt=requires(Permission.STUDENT_READ), summary="Students in my scope (masked)",
     description="`q` matches names. A number matches nothing: look a child up by ID number or 全国学籍号 "
                 "with POST /api/students/lookup (a body, never a URL; audited).", sync_to_thread=True)
def students_api(request: Request[Any, Any, Any], db: Session, q: str = "", school_id: int | None = None,
                 class_id: int | None = None, grade: int | None = None, status: str = "",
                 page: int = 1) -> list[StudentOut]:
    found = service.list_students(db, _filters(q, school_id, class_id, grade, status), page=page,
                                  personal=_personal(request))
    return [_out(s, personal=False, class_name=class_name) for s, class_name in found.rows]


@get("/api/students/{student_id:int}", opt=requires(Permission.STUDENT_READ), summary="One student",
     sync_to_thread=True)
def student_api(request: Request[Any, Any, Any], db: Session, student_id: int) -> StudentOut:
    personal = _personal(request)
    student = access_student(db, student_id, personal=personal)
    return _out(student, personal=personal, class_name=service.class_name_of(db, student))


def _class_choices(db: Session, schools: dict[int, str],
                   school_id: int | None) -> list[tuple[str, list[service.ClassOption]]]:
    """The class filter's options, grouped by school (only the chosen school's, if one is)."""
    groups: dict[int, list[service.ClassOption]] = {}
    for option in service.class_options(db):
        if school_id is None or option.school_id == school_id:
            groups.setdefault(option.school_id, []).append(option)
    return [(schools.get(sid, ""), options) for sid, options in groups.items()]


@get("/students", opt=requires(Permission.STUDENT_READ), include_in_schema=False, sync_to_thread=True)
def students_page(request: Request[Any, Any, Any], db: Session, q: str = "", school_id: int | None = None,
                  class_id: int | None = None, grade: int | None = None, status: str = "",
                  page: int = 1) -> Template:
    return _list_page(request, db, _filters(q, school_id, class_id, grade, status), page=page)


def _list_page(request: Request[Any, Any, Any], db: Session, filters: service.StudentFilters, *, page: int,
               missing: str = "") -> Template:
    personal = _personal(request)
    found = service.list_students(db, filters, page=page, personal=personal)
    schools = {school.id: school.name for school in visible_schools(db)}
    class_choices = _class_choices(db, schools, filters.school_id)
    context = {
        "found": found, "filters": filters, "schools": schools, "class_choices": class_choices,
        "grades": sorted({c.grade for _, options in class_choices for c in options}),
        "villages": {v.id: v.name for v in list_villages(db)},
        "status_labels": STATUS_LABELS, "grade_names": GRADE_NAMES, "personal": personal, "missing": missing,
    }
    # The live search asks for the results alone (a fragment of the same template).
    return render_page(request, "students/list.html", context, fragment="results")


@get("/students/{student_id:int}", opt=requires(Permission.STUDENT_READ), include_in_schema=False,
     sync_to_thread=True)
def student_page(request: Request[Any, Any, Any], db: Session, student_id: int) -> Template:
    personal = _personal(request)
    student = access_student(db, student_id, personal=personal)
    return Template("students/detail.html", context={
        "s": student, "personal": personal, "status_labels": STATUS_LABELS, "labels": RECORD_LABELS,
        "places": service.places_of(db, student), "history": _status_history(request, db, student),
    })


def _status_history(request: Request[Any, Any, Any], db: Session, student: Student) -> list[Any] | None:
    """The record's status changes with every approval (the status_changes concept builds on this
    one, so it is imported here, when the page is drawn, not at import time)."""
    if not actor_of(request).can(Permission.STATUS_READ):
        return None
    from baoxue.tenants.status_changes.service import history_of

    return history_of(db, student.id)


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


LOOKUP = {**requires(Permission.STUDENT_READ_PERSONAL), "probe": {"number": "522727201401010011"}}


@dataclass
class LookupIn:
    number: str  # a whole 18-digit ID number or 19-character 全国学籍号


@dataclass
class LookupOut:
    student: StudentOut | None  # None: no child in your scope has that number


@post("/api/students/lookup", opt=LOOKUP, summary="Look a child up by ID number (audited)", status_code=200,
      description="Answers 200 whether found or not: the lookup itself is on the record either way.",
      sync_to_thread=True)
def student_lookup_api(db: Session, data: LookupIn) -> LookupOut:
    found = service.do_lookup_student(db, data.number)
    if found is None:
        return LookupOut(student=None)
    return LookupOut(student=_out(found, personal=True, class_name=service.class_name_of(db, found)))


@post("/students/lookup", opt=LOOKUP, include_in_schema=False, sync_to_thread=True)
def student_lookup_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    """Found: the child's record. Not found: the list, saying so (200: the lookup's audit row is kept)."""
    found = service.do_lookup_student(db, str(data.get("number", "")))
    if found is not None:
        return Redirect(path=f"/students/{found.id}", status_code=303)
    return _list_page(request, db, _filters("", None, None, None, ""), page=1,
                      missing=mask_id_number(str(data.get("number", "")).strip().upper()))


routes = [students_api, student_api, student_lookup_api, students_page, student_page, student_lookup_page,
          students_export_api, students_export_page]
