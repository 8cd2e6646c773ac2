"""Tenancy routes: the township's structure and people, as JSON API and as admin pages.

Thin on purpose: parse, call `service` (or `excel`), answer. Every write route declares, next
to its permission, an isolation `probe`: a body that would be valid if its `$school`,
`$village`, `$department`, `$class`, `$user` placeholders were ids of the actor's township.
The isolation matrix fills them with another township's (or unit's) ids and expects 403/404.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.errors import InvalidInput
from baoxue.platform.spreadsheets import xlsx_download
from baoxue.platform.permissions import CLASS_BOUND_ROLES, DUTY_LABELS, Permission, Role, UnitKind
from baoxue.tenants.tenancy import excel, policy, service
from baoxue.tenants.tenancy.models import SCHOOL_KINDS, Department, Membership, School, SchoolClass, Village
from baoxue.tenants.tenancy.schemas import (
    ClassIn,
    ClassOut,
    ClassPatch,
    DepartmentIn,
    DepartmentOut,
    DepartmentPatch,
    ImportOut,
    MembershipIn,
    PersonIn,
    PersonOut,
    SchoolIn,
    SchoolOut,
    SchoolPatch,
    VillageIn,
    VillageOut,
    VillagePatch,
    changes_of,
)

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Upload = Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)]
UploadForm = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
# The file itself may be MAX_UPLOAD_BYTES; the multipart envelope adds a little.
UPLOAD_BODY_LIMIT = excel.MAX_UPLOAD_BYTES + 64 * 1024
TEMPLATE_FILENAME = "保学-结构导入模板.xlsx"

STRUCTURE_WRITE = requires(Permission.STRUCTURE_WRITE)
PEOPLE_WRITE = requires(Permission.PEOPLE_WRITE)


def _probe(permission: dict[str, Any], body: Any) -> dict[str, Any]:
    return {**permission, "probe": body}


# === API ======================================================================================

# --- villages ---------------------------------------------------------------------------------

@get("/api/villages", opt=requires(Permission.STRUCTURE_READ), summary="村委会列表", sync_to_thread=True)
def villages_api(db: Session) -> list[VillageOut]:
    return [VillageOut.of(v) for v in service.list_villages(db)]


@post("/api/villages", opt=_probe(STRUCTURE_WRITE, {"name": "探针村", "code": "X1"}), summary="新增村委会",
      sync_to_thread=True)
def village_create_api(db: Session, data: VillageIn) -> VillageOut:
    return VillageOut.of(service.do_create_village(db, name=data.name, code=data.code))


@get("/api/villages/{village_id:int}", opt=requires(Permission.STRUCTURE_READ), summary="一个村委会",
     sync_to_thread=True)
def village_api(db: Session, village_id: int) -> VillageOut:
    return VillageOut.of(policy.access_village(db, village_id))


@patch("/api/villages/{village_id:int}", opt=_probe(STRUCTURE_WRITE, {"name": "探针改名"}),
       summary="修改村委会", sync_to_thread=True)
def village_update_api(db: Session, village_id: int, data: VillagePatch) -> VillageOut:
    village = policy.access_village(db, village_id, for_write=True)
    return VillageOut.of(service.do_update_village(db, village, **changes_of(data)))


# --- schools ----------------------------------------------------------------------------------

@get("/api/schools", opt=requires(Permission.STRUCTURE_READ), summary="学校列表", sync_to_thread=True)
def schools_api(db: Session) -> list[SchoolOut]:
    return [SchoolOut.of(s) for s in service.list_schools(db)]


@post("/api/schools", opt=_probe(STRUCTURE_WRITE, {"name": "探针学校", "kind": "primary", "code": "X1",
                                                   "village_id": "$village"}),
      summary="新增学校", sync_to_thread=True)
def school_create_api(db: Session, data: SchoolIn) -> SchoolOut:
    return SchoolOut.of(service.do_create_school(db, name=data.name, kind=data.kind, code=data.code,
                                                 village_id=data.village_id))


@get("/api/schools/{school_id:int}", opt=requires(Permission.STRUCTURE_READ), summary="一所学校",
     sync_to_thread=True)
def school_api(db: Session, school_id: int) -> SchoolOut:
    return SchoolOut.of(policy.access_school(db, school_id))


@patch("/api/schools/{school_id:int}", opt=_probe(STRUCTURE_WRITE, {"name": "探针改名", "village_id": "$village"}),
       summary="修改学校", sync_to_thread=True)
def school_update_api(db: Session, school_id: int, data: SchoolPatch) -> SchoolOut:
    school = policy.access_school(db, school_id, for_write=True)
    return SchoolOut.of(service.do_update_school(db, school, **changes_of(data)))


# --- classes ----------------------------------------------------------------------------------

@get("/api/classes", opt=requires(Permission.STRUCTURE_READ), summary="班级列表（可按学校筛选）",
     sync_to_thread=True)
def classes_api(db: Session, school_id: int | None = None) -> list[ClassOut]:
    if school_id is not None:
        policy.access_school(db, school_id)  # another township's school: 404, not an empty list
    return [ClassOut.of(c) for c in service.list_classes(db, school_id=school_id)]


@post("/api/classes", opt=_probe(STRUCTURE_WRITE, {"school_id": "$school", "grade": 7, "name": "探针班",
                                                   "entry_year": 2026}),
      summary="新增班级", sync_to_thread=True)
def class_create_api(db: Session, data: ClassIn) -> ClassOut:
    return ClassOut.of(service.do_create_class(db, school_id=data.school_id, grade=data.grade, name=data.name,
                                               entry_year=data.entry_year))


@get("/api/classes/{class_id:int}", opt=requires(Permission.STRUCTURE_READ), summary="一个班级",
     sync_to_thread=True)
def class_api(db: Session, class_id: int) -> ClassOut:
    return ClassOut.of(policy.access_class(db, class_id))


@patch("/api/classes/{class_id:int}", opt=_probe(STRUCTURE_WRITE, {"name": "探针班改名"}), summary="修改班级",
       sync_to_thread=True)
def class_update_api(db: Session, class_id: int, data: ClassPatch) -> ClassOut:
    school_class = policy.access_class(db, class_id, for_write=True)
    return ClassOut.of(service.do_update_class(db, school_class, **changes_of(data)))


# --- departments ------------------------------------------------------------------------------

@get("/api/departments", opt=requires(Permission.STRUCTURE_READ), summary="部门列表", sync_to_thread=True)
def departments_api(db: Session) -> list[DepartmentOut]:
    return [DepartmentOut.of(d) for d in service.list_departments(db)]


@post("/api/departments", opt=_probe(STRUCTURE_WRITE, {"duty_code": "youth_league", "name": "探针部门"}),
      summary="新增部门", sync_to_thread=True)
def department_create_api(db: Session, data: DepartmentIn) -> DepartmentOut:
    return DepartmentOut.of(service.do_create_department(db, duty_code=data.duty_code, name=data.name))


@get("/api/departments/{department_id:int}", opt=requires(Permission.STRUCTURE_READ), summary="一个部门",
     sync_to_thread=True)
def department_api(db: Session, department_id: int) -> DepartmentOut:
    return DepartmentOut.of(policy.access_department(db, department_id))


@patch("/api/departments/{department_id:int}", opt=_probe(STRUCTURE_WRITE, {"name": "探针部门改名"}),
       summary="修改部门", sync_to_thread=True)
def department_update_api(db: Session, department_id: int, data: DepartmentPatch) -> DepartmentOut:
    department = policy.access_department(db, department_id, for_write=True)
    return DepartmentOut.of(service.do_update_department(db, department, **changes_of(data)))


# --- people and memberships -------------------------------------------------------------------

def _person_out(db: Session, membership: Membership) -> PersonOut:
    row = next(r for r in service.list_people(db, user_id=membership.user_id, active_only=False)
               if r.membership_id == membership.id)
    return PersonOut.of(row)


@get("/api/people", opt=requires(Permission.PEOPLE_READ), summary="人员与身份（本人可见范围内）",
     sync_to_thread=True)
def people_api(db: Session) -> list[PersonOut]:
    return [PersonOut.of(r) for r in service.list_people(db)]


@post("/api/people", opt=_probe(PEOPLE_WRITE, {"username": "probe_person", "display_name": "探针人员",
                                              "password": "Probe2026x", "role": "class_teacher",
                                              "school_id": "$school"}),
      summary="新增人员及其第一个身份", sync_to_thread=True)
def person_create_api(db: Session, data: PersonIn) -> PersonOut:
    _user, membership = service.do_create_person_with_membership(
        db, username=data.username, display_name=data.display_name, phone=data.phone, password=data.password,
        role=data.role, school_id=data.school_id, village_id=data.village_id, department_id=data.department_id,
        class_ids=data.class_ids, title=data.title)
    return _person_out(db, membership)


@post("/api/memberships", opt=_probe(PEOPLE_WRITE, {"user_id": "$user", "role": "class_teacher",
                                                   "school_id": "$school"}),
      summary="为本乡镇已有人员增加身份", sync_to_thread=True)
def membership_create_api(db: Session, data: MembershipIn) -> PersonOut:
    user = policy.access_user(db, data.user_id)
    membership = service.do_add_membership(
        db, user=user, role=data.role, school_id=data.school_id, village_id=data.village_id,
        department_id=data.department_id, class_ids=data.class_ids, title=data.title)
    return _person_out(db, membership)


@delete("/api/memberships/{membership_id:int}", opt=_probe(PEOPLE_WRITE, {}), summary="停用一个身份",
        sync_to_thread=True)
def membership_deactivate_api(db: Session, membership_id: int) -> None:
    service.do_deactivate_membership(db, policy.access_membership(db, membership_id, for_write=True))


# --- import -----------------------------------------------------------------------------------

def _require_people_write(request: Request[Any, Any, Any]) -> None:
    # The route's guard checked STRUCTURE_WRITE; the import also creates people.
    if not actor_of(request).can(Permission.PEOPLE_WRITE):
        raise PermissionDeniedException(detail="您当前的身份没有权限导入人员。")


def _template_response() -> Response[bytes]:
    return xlsx_download(excel.build_template(), TEMPLATE_FILENAME)


@get("/api/imports/structure/template", opt=STRUCTURE_WRITE, summary="下载批量导入模板（xlsx）",
     sync_to_thread=True)
def import_template_api() -> Response[bytes]:
    return _template_response()


@post("/api/imports/structure", opt=_probe(STRUCTURE_WRITE, "xlsx"), request_max_body_size=UPLOAD_BODY_LIMIT,
      summary="批量导入村委会、学校、班级、人员（xlsx，全部无误才导入）", status_code=200, sync_to_thread=True)
def import_api(request: Request[Any, Any, Any], db: Session, data: Upload) -> ImportOut:
    _require_people_write(request)
    return ImportOut(**excel.import_structure(db, data.file.read()))


# === pages ====================================================================================

def _can(request: Request[Any, Any, Any], permission: Permission) -> bool:
    return actor_of(request).can(permission)


def _int_or_none(value: Any) -> int | None:
    """A form's select or number: blank is None; junk is -1, which no row has (so: not found)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return -1


def _int_list(value: Any) -> list[int]:
    """Ticked checkboxes: one value is a string, several a list; junk is -1 (not found)."""
    values = value if isinstance(value, list) else [value]
    return [i for i in (_int_or_none(v) for v in values) if i is not None]


def _done(path: str) -> Redirect:
    # 303: the browser follows with GET (post-redirect-get); the request's commit covers redirects.
    return Redirect(path=f"{path}?saved=1", status_code=303)


def _page(name: str, context: dict[str, Any], *, status: int = 200) -> Template:
    return Template(f"tenancy/{name}", context=context, status_code=status)


# --- villages ---------------------------------------------------------------------------------

def _villages_page(request: Request[Any, Any, Any], db: Session, *, editing: Village | None = None,
                   values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                   status: int = 200) -> Template:
    return _page("villages.html", {
        "villages": service.list_villages(db), "editing": editing, "values": values or {}, "errors": errors or {},
        "can_write": _can(request, Permission.STRUCTURE_WRITE), "saved": request.query_params.get("saved"),
    }, status=status)


@get("/admin/villages", opt=requires(Permission.STRUCTURE_READ), include_in_schema=False, sync_to_thread=True)
def villages_page(request: Request[Any, Any, Any], db: Session) -> Template:
    return _villages_page(request, db)


@post("/admin/villages", opt=_probe(STRUCTURE_WRITE, {"name": "探针村", "code": "X1"}), include_in_schema=False,
      sync_to_thread=True)
def village_create_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    values = {"name": data.get("name", ""), "code": data.get("code", "")}
    try:
        service.do_create_village(db, **values)
    except InvalidInput as refused:
        return _villages_page(request, db, values=values, errors=refused.errors, status=400)
    return _done("/admin/villages")


@get("/admin/villages/{village_id:int}", opt=STRUCTURE_WRITE, include_in_schema=False, sync_to_thread=True)
def village_edit_page(request: Request[Any, Any, Any], db: Session, village_id: int) -> Template:
    village = policy.access_village(db, village_id)
    return _villages_page(request, db, editing=village, values={"name": village.name, "code": village.code})


@post("/admin/villages/{village_id:int}", opt=_probe(STRUCTURE_WRITE, {"name": "探针改名"}),
      include_in_schema=False, sync_to_thread=True)
def village_update_page(request: Request[Any, Any, Any], db: Session, village_id: int, data: Form) -> Response[Any]:
    village = policy.access_village(db, village_id)
    values = {"name": data.get("name", ""), "code": data.get("code", "")}
    try:
        service.do_update_village(db, village, **values)
    except InvalidInput as refused:
        return _villages_page(request, db, editing=policy.access_village(db, village_id), values=values,
                              errors=refused.errors, status=400)
    return _done("/admin/villages")


# --- schools and classes ----------------------------------------------------------------------

def _schools_context(request: Request[Any, Any, Any], db: Session, *, class_school_id: int | None = None,
                     **extra: Any) -> dict[str, Any]:
    schools = service.list_schools(db)
    # All classes in one query: the school table counts them all, the class table may show one school's.
    by_school: dict[int, list[SchoolClass]] = {}
    for c in service.list_classes(db):
        by_school.setdefault(c.school_id, []).append(c)
    classes = [c for group in by_school.values() for c in group] if class_school_id is None \
        else by_school.get(class_school_id, [])
    context = {
        "schools": schools, "school_names": {s.id: s.name for s in schools},
        "villages": {v.id: v.name for v in service.list_villages(db)}, "classes": classes,
        "classes_by_school": by_school, "class_school_id": class_school_id, "kinds": SCHOOL_KINDS,
        "grade_names": service.GRADE_NAMES,
        "grade_options": [(g, service.GRADE_NAMES[g]) for g in range(1, 10)],
        "can_write": _can(request, Permission.STRUCTURE_WRITE), "saved": request.query_params.get("saved"),
        "editing_school": None, "editing_class": None, "school_values": {}, "school_errors": {},
        "class_values": {}, "class_errors": {}, "fragment": "",
    }
    return {**context, **extra}


@get("/admin/schools", opt=requires(Permission.STRUCTURE_READ), include_in_schema=False, sync_to_thread=True)
def schools_page(request: Request[Any, Any, Any], db: Session, school_id: int | None = None) -> Template:
    if school_id is not None:
        policy.access_school(db, school_id)
    fragment = "classes" if request.headers.get("hx-request") else ""
    response = _page("schools.html", _schools_context(request, db, class_school_id=school_id, fragment=fragment))
    response.headers["Vary"] = "HX-Request"
    return response


def _school_form(data: dict[str, str]) -> dict[str, Any]:
    return {"name": data.get("name", ""), "kind": data.get("kind", ""), "code": data.get("code", ""),
            "village_id": _int_or_none(data.get("village_id"))}


@post("/admin/schools", opt=_probe(STRUCTURE_WRITE, {"name": "探针学校", "kind": "primary",
                                                    "village_id": "$village"}),
      include_in_schema=False, sync_to_thread=True)
def school_create_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    values = _school_form(data)
    try:
        service.do_create_school(db, **values)
    except InvalidInput as refused:
        return _page("schools.html", _schools_context(request, db, school_values=values,
                                                      school_errors=refused.errors), status=400)
    return _done("/admin/schools")


@get("/admin/schools/{school_id:int}", opt=STRUCTURE_WRITE, include_in_schema=False, sync_to_thread=True)
def school_edit_page(request: Request[Any, Any, Any], db: Session, school_id: int) -> Template:
    school = policy.access_school(db, school_id)
    values = {"name": school.name, "kind": school.kind, "code": school.code, "village_id": school.village_id}
    return _page("schools.html", _schools_context(request, db, editing_school=school, school_values=values))


@post("/admin/schools/{school_id:int}", opt=_probe(STRUCTURE_WRITE, {"name": "探针改名", "kind": "primary"}),
      include_in_schema=False, sync_to_thread=True)
def school_update_page(request: Request[Any, Any, Any], db: Session, school_id: int, data: Form) -> Response[Any]:
    school = policy.access_school(db, school_id)
    values = _school_form(data)
    try:
        service.do_update_school(db, school, **values)
    except InvalidInput as refused:
        return _page("schools.html", _schools_context(
            request, db, editing_school=policy.access_school(db, school_id), school_values=values,
            school_errors=refused.errors), status=400)
    return _done("/admin/schools")


def _class_form(data: dict[str, str]) -> dict[str, Any]:
    return {"grade": _int_or_none(data.get("grade")), "name": data.get("name", ""),
            "entry_year": _int_or_none(data.get("entry_year"))}


@post("/admin/classes", opt=_probe(STRUCTURE_WRITE, {"school_id": "$school", "grade": "7", "name": "探针班",
                                                    "entry_year": "2026"}),
      include_in_schema=False, sync_to_thread=True)
def class_create_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    school_id = _int_or_none(data.get("school_id"))
    values = {"school_id": school_id, **_class_form(data)}
    try:
        if school_id is None:
            raise InvalidInput({"school_id": "请选择学校。"})
        service.do_create_class(db, **values)
    except InvalidInput as refused:
        return _page("schools.html", _schools_context(request, db, class_values=values,
                                                      class_errors=refused.errors), status=400)
    return _done("/admin/schools")


@get("/admin/classes/{class_id:int}", opt=STRUCTURE_WRITE, include_in_schema=False, sync_to_thread=True)
def class_edit_page(request: Request[Any, Any, Any], db: Session, class_id: int) -> Template:
    school_class = policy.access_class(db, class_id)
    values = {"school_id": school_class.school_id, "grade": school_class.grade, "name": school_class.name,
              "entry_year": school_class.entry_year}
    return _page("schools.html", _schools_context(request, db, editing_class=school_class, class_values=values))


@post("/admin/classes/{class_id:int}", opt=_probe(STRUCTURE_WRITE, {"name": "探针班改名", "grade": "7",
                                                                   "entry_year": "2026"}),
      include_in_schema=False, sync_to_thread=True)
def class_update_page(request: Request[Any, Any, Any], db: Session, class_id: int, data: Form) -> Response[Any]:
    school_class = policy.access_class(db, class_id)
    values = _class_form(data)
    try:
        service.do_update_class(db, school_class, **values)
    except InvalidInput as refused:
        editing = policy.access_class(db, class_id)
        return _page("schools.html", _schools_context(
            request, db, editing_class=editing, class_values={"school_id": editing.school_id, **values},
            class_errors=refused.errors), status=400)
    return _done("/admin/schools")


# --- departments ------------------------------------------------------------------------------

def _departments_page(request: Request[Any, Any, Any], db: Session, *, editing: Department | None = None,
                      values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                      status: int = 200) -> Template:
    return _page("departments.html", {
        "departments": service.list_departments(db), "duties": {str(k): v for k, v in DUTY_LABELS.items()},
        "editing": editing, "values": values or {}, "errors": errors or {},
        "can_write": _can(request, Permission.STRUCTURE_WRITE), "saved": request.query_params.get("saved"),
    }, status=status)


@get("/admin/departments", opt=requires(Permission.STRUCTURE_READ), include_in_schema=False, sync_to_thread=True)
def departments_page(request: Request[Any, Any, Any], db: Session) -> Template:
    return _departments_page(request, db)


@post("/admin/departments", opt=_probe(STRUCTURE_WRITE, {"duty_code": "youth_league", "name": "探针部门"}),
      include_in_schema=False, sync_to_thread=True)
def department_create_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    values = {"duty_code": data.get("duty_code", ""), "name": data.get("name", "")}
    try:
        service.do_create_department(db, **values)
    except InvalidInput as refused:
        return _departments_page(request, db, values=values, errors=refused.errors, status=400)
    return _done("/admin/departments")


@get("/admin/departments/{department_id:int}", opt=STRUCTURE_WRITE, include_in_schema=False, sync_to_thread=True)
def department_edit_page(request: Request[Any, Any, Any], db: Session, department_id: int) -> Template:
    department = policy.access_department(db, department_id)
    return _departments_page(request, db, editing=department,
                             values={"duty_code": department.duty_code, "name": department.name})


@post("/admin/departments/{department_id:int}", opt=_probe(STRUCTURE_WRITE, {"name": "探针部门改名"}),
      include_in_schema=False, sync_to_thread=True)
def department_update_page(request: Request[Any, Any, Any], db: Session, department_id: int,
                           data: Form) -> Response[Any]:
    department = policy.access_department(db, department_id)
    values = {"duty_code": data.get("duty_code", department.duty_code), "name": data.get("name", "")}
    try:
        service.do_update_department(db, department, **values)
    except InvalidInput as refused:
        return _departments_page(request, db, editing=policy.access_department(db, department_id),
                                 values=values, errors=refused.errors, status=400)
    return _done("/admin/departments")


# --- people -----------------------------------------------------------------------------------

def _role_or_none(value: str | None) -> Role | None:
    try:
        return Role(value or "")
    except ValueError:
        return None


def _placement(data: dict[str, str]) -> dict[str, Any]:
    """The role and only the unit fields that role uses: a stale select left by a role change is ignored."""
    role = _role_or_none(data.get("role"))
    ids: dict[str, Any] = {}
    if role is not None and role.unit_kind == UnitKind.SCHOOL:
        ids["school_id"] = _int_or_none(data.get("school_id"))
        if role in CLASS_BOUND_ROLES:
            ids["class_ids"] = _int_list(data.get("class_ids"))
    elif role is not None and role.unit_kind == UnitKind.VILLAGE:
        ids["village_id"] = _int_or_none(data.get("village_id"))
    elif role is not None and role.unit_kind == UnitKind.DEPARTMENT:
        ids["department_id"] = _int_or_none(data.get("department_id"))
    return {"role": data.get("role", ""), "title": data.get("title", ""), **ids}


def _units_context(db: Session) -> dict[str, Any]:
    """What the role and unit selects offer: every unit of the township, as (id, name)."""
    schools = service.list_schools(db)
    return {"roles": service.role_choices(), "units": {
        "school_options": [(s.id, s.name) for s in schools],
        "village_options": [(v.id, v.name) for v in service.list_villages(db)],
        "department_options": [(d.id, d.name) for d in service.list_departments(db)],
        "classes": service.list_classes(db), "school_names": {s.id: s.name for s in schools},
    }}


def _people_page(request: Request[Any, Any, Any], db: Session, *, values: dict[str, Any] | None = None,
                 errors: dict[str, str] | None = None, status: int = 200, fragment: str = "") -> Template:
    values = values or {"role": Role.CLASS_TEACHER.value}
    context = {
        "rows": [] if fragment else service.list_people(db), "values": values, "errors": errors or {},
        "role": _role_or_none(values.get("role")), "can_write": _can(request, Permission.PEOPLE_WRITE),
        "saved": request.query_params.get("saved"), "fragment": fragment, **_units_context(db),
    }
    response = _page("people.html", context, status=status)
    response.headers["Vary"] = "HX-Request"
    return response


@get("/admin/people", opt=requires(Permission.PEOPLE_READ), include_in_schema=False, sync_to_thread=True)
def people_page(request: Request[Any, Any, Any], db: Session, role: str = "") -> Template:
    # htmx asks for the unit fields again when the role select changes (a fragment of this page).
    if request.headers.get("hx-request") and role:
        return _people_page(request, db, values={"role": role}, fragment="units")
    return _people_page(request, db)


@post("/admin/people", opt=_probe(PEOPLE_WRITE, {"username": "probe_person", "display_name": "探针人员",
                                                "password": "Probe2026x", "role": "class_teacher",
                                                "school_id": "$school"}),
      include_in_schema=False, sync_to_thread=True)
def person_create_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    person = {k: data.get(k, "") for k in ("username", "display_name", "phone", "password")}
    placement = _placement(data)
    try:
        service.do_create_person_with_membership(db, **person, **placement)
    except InvalidInput as refused:
        values = {**person, **placement, "password": ""}  # a password is never sent back into a page
        return _people_page(request, db, values=values, errors=refused.errors, status=400)
    return _done("/admin/people")


def _person_page(request: Request[Any, Any, Any], db: Session, user_id: int, *,
                 values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status: int = 200) -> Template:
    user = policy.access_user(db, user_id)
    values = values or {"role": Role.SUBJECT_TEACHER.value}
    return _page("person.html", {
        "person": user, "rows": service.list_people(db, user_id=user_id, active_only=False), "values": values,
        "errors": errors or {}, "role": _role_or_none(values.get("role")),
        "can_write": _can(request, Permission.PEOPLE_WRITE), "saved": request.query_params.get("saved"),
        "current_membership_id": actor_of(request).membership_id, "fragment": "", **_units_context(db),
    }, status=status)


@get("/admin/people/{user_id:int}", opt=requires(Permission.PEOPLE_READ), include_in_schema=False,
     sync_to_thread=True)
def person_page(request: Request[Any, Any, Any], db: Session, user_id: int) -> Template:
    return _person_page(request, db, user_id)


@post("/admin/memberships", opt=_probe(PEOPLE_WRITE, {"user_id": "$user", "role": "class_teacher",
                                                     "school_id": "$school"}),
      include_in_schema=False, sync_to_thread=True)
def membership_create_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    user_id = _int_or_none(data.get("user_id")) or 0
    user = policy.access_user(db, user_id)
    placement = _placement(data)
    try:
        service.do_add_membership(db, user=user, **placement)
    except InvalidInput as refused:
        return _person_page(request, db, user_id, values=placement, errors=refused.errors, status=400)
    return _done(f"/admin/people/{user_id}")


@post("/admin/memberships/{membership_id:int}/deactivate", opt=_probe(PEOPLE_WRITE, {}), include_in_schema=False,
      sync_to_thread=True)
def membership_deactivate_page(request: Request[Any, Any, Any], db: Session, membership_id: int) -> Response[Any]:
    membership = policy.access_membership(db, membership_id)
    user_id = membership.user_id
    try:
        service.do_deactivate_membership(db, membership)
    except InvalidInput as refused:
        return _person_page(request, db, user_id, errors=refused.errors, status=400)
    return _done(f"/admin/people/{user_id}")


# --- import -----------------------------------------------------------------------------------

def _import_page(request: Request[Any, Any, Any], *, problems: list[excel.Problem] | None = None,
                 message: str = "", status: int = 200) -> Template:
    counts = {k: int(v) for k in ("villages", "schools", "classes", "people")
              if (v := request.query_params.get(k, "")).isdigit()}
    return _page("import.html", {
        "problems": problems or [], "message": message, "summary": excel.summary(counts) if counts else "",
        "max_mb": excel.MAX_UPLOAD_BYTES // (1024 * 1024), "sheets": excel.SHEETS,
    }, status=status)


@get("/admin/import", opt=STRUCTURE_WRITE, include_in_schema=False, sync_to_thread=False)
def import_page(request: Request[Any, Any, Any]) -> Template:
    return _import_page(request)


@get("/admin/import/template", opt=STRUCTURE_WRITE, include_in_schema=False, sync_to_thread=True)
def import_template_page() -> Response[bytes]:
    return _template_response()


@post("/admin/import", opt=_probe(STRUCTURE_WRITE, "xlsx"), request_max_body_size=UPLOAD_BODY_LIMIT,
      include_in_schema=False, sync_to_thread=True)
def import_submit_page(request: Request[Any, Any, Any], db: Session, data: UploadForm) -> Response[Any]:
    _require_people_write(request)
    upload = data.get("file")
    content = upload.file.read() if isinstance(upload, UploadFile) else b""
    try:
        counts = excel.import_structure(db, content)
    except excel.ImportRejected as rejected:
        return _import_page(request, problems=rejected.problems, message=str(rejected.detail), status=400)
    except InvalidInput as refused:
        return _import_page(request, message="；".join(refused.errors.values()), status=400)
    query = "&".join(f"{k}={v}" for k, v in counts.items())
    return Redirect(path=f"/admin/import?{query}", status_code=303)


routes = [
    villages_api, village_create_api, village_api, village_update_api,
    schools_api, school_create_api, school_api, school_update_api,
    classes_api, class_create_api, class_api, class_update_api,
    departments_api, department_create_api, department_api, department_update_api,
    people_api, person_create_api, membership_create_api, membership_deactivate_api,
    import_template_api, import_api,
    villages_page, village_create_page, village_edit_page, village_update_page,
    schools_page, school_create_page, school_edit_page, school_update_page,
    class_create_page, class_edit_page, class_update_page,
    departments_page, department_create_page, department_edit_page, department_update_page,
    people_page, person_create_page, person_page, membership_create_page, membership_deactivate_page,
    import_page, import_template_page, import_submit_page,
]
