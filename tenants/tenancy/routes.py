"""Tenancy routes: the township's structure and people, as JSON API and as admin pages.

Villages, schools, classes and departments are `Resource`s: described once below, their API and
page handlers made by `baoxue.platform.resources`. What is particular stays explicit: the
schools page (with its classes, filtered by htmx), the class list's school filter, people and
their memberships, the Excel import.

Thin on purpose: parse, call `service` (or `excel`), answer. Every write route declares, next
to its permission, an isolation `probe`: a body that would be valid if its `$school`,
`$village`, `$department`, `$class`, `$user` placeholders were ids of the actor's township.
The isolation matrix fills them with another township's (or unit's) ids and expects 403/404.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.errors import InvalidInput, not_found
from baoxue.platform.files import storage
from baoxue.platform.resources import Form, FormState, Resource, form_int, routes_for, submit
from baoxue.platform.spreadsheets import xlsx_download
from baoxue.platform.permissions import CLASS_BOUND_ROLES, DUTY_LABELS, Permission, Role, UnitKind
from baoxue.platform.templating import page
from baoxue.tenants.tenancy import excel, policy, service
from baoxue.tenants.tenancy.models import SCHOOL_KINDS, Membership, SchoolClass
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
)

Upload = Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)]
UploadForm = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
# The file itself may be MAX_UPLOAD_BYTES; the multipart envelope adds a little.
UPLOAD_BODY_LIMIT = excel.MAX_UPLOAD_BYTES + 64 * 1024
TEMPLATE_FILENAME = "保学-结构导入模板.xlsx"

STRUCTURE_WRITE = requires(Permission.STRUCTURE_WRITE)
PEOPLE_WRITE = requires(Permission.PEOPLE_WRITE)


def _probe(permission: dict[str, Any], body: Any) -> dict[str, Any]:
    return {**permission, "probe": body}


# === the structure: villages, schools, classes, departments ====================================

def _can(request: Request[Any, Any, Any], permission: Permission) -> bool:
    return actor_of(request).can(permission)


def _page(request: Request[Any, Any, Any], name: str, context: dict[str, Any], *, status: int = 200,
          fragment: str = "") -> Template:
    return page(request, f"tenancy/{name}", {
        "saved": request.query_params.get("saved"), **context}, status=status, fragment=fragment)


def _villages_page(request: Request[Any, Any, Any], db: Session, state: FormState) -> Template:
    return _page(request, "villages.html", {
        "villages": service.list_villages(db), "editing": state.editing, "values": state.values,
        "errors": state.errors, "can_write": _can(request, Permission.STRUCTURE_WRITE),
        "liaisons": dict(service.liaison_choices(db)),
    }, status=state.status)


def _departments_page(request: Request[Any, Any, Any], db: Session, state: FormState) -> Template:
    return _page(request, "departments.html", {
        "departments": service.list_departments(db), "duties": {str(k): v for k, v in DUTY_LABELS.items()},
        "editing": state.editing, "values": state.values, "errors": state.errors,
        "can_write": _can(request, Permission.STRUCTURE_WRITE),
    }, status=state.status)


def _schools_page(request: Request[Any, Any, Any], db: Session, *, school: FormState = FormState(),
                  klass: FormState = FormState(), class_school_id: int | None = None) -> Template:
    """Schools and their classes on one page; htmx asks for one school's class rows alone."""
    status = max(school.status, klass.status)
    schools = service.list_schools(db)
    # All classes in one query: the school table counts them all, the class table may show one school's.
    by_school: dict[int, list[SchoolClass]] = {}
    for c in service.list_classes(db):
        by_school.setdefault(c.school_id, []).append(c)
    classes = [c for group in by_school.values() for c in group] if class_school_id is None \
        else by_school.get(class_school_id, [])
    return _page(request, "schools.html", {
        "schools": schools, "school_names": {s.id: s.name for s in schools},
        "villages": {v.id: v.name for v in service.list_villages(db)}, "classes": classes,
        "classes_by_school": by_school, "class_school_id": class_school_id, "kinds": SCHOOL_KINDS,
        "grade_names": service.GRADE_NAMES,
        "grade_options": [(g, service.GRADE_NAMES[g]) for g in range(1, 10)],
        "can_write": _can(request, Permission.STRUCTURE_WRITE),
        "editing_school": school.editing, "school_values": school.values, "school_errors": school.errors,
        "editing_class": klass.editing, "class_values": klass.values, "class_errors": klass.errors,
    }, status=status, fragment="classes")


def _class_state(state: FormState) -> FormState:
    """An edited class keeps showing its school in the form, which does not send it again."""
    if state.editing is None:
        return state
    return FormState(state.editing, {"school_id": state.editing.school_id, **state.values}, state.errors,
                     state.status)


STRUCTURE = dict(read=Permission.STRUCTURE_READ, write=Permission.STRUCTURE_WRITE)

VILLAGES = Resource(
    key="village", plural="villages", label="村委会", **STRUCTURE,
    access=policy.access_village, items=service.list_villages,
    create=service.do_create_village, update=service.do_update_village,
    schema_in=VillageIn, schema_patch=VillagePatch, schema_out=VillageOut, render=_villages_page,
    form_fields=("name", "code", "liaison_membership_id"), int_fields=frozenset({"liaison_membership_id"}),
    probe_create={"name": "探针村", "code": "X1"},
    probe_update={"name": "探针改名", "liaison_membership_id": "$membership"},
)
SCHOOLS = Resource(
    key="school", plural="schools", label="学校", **STRUCTURE,
    access=policy.access_school, items=service.list_schools,
    create=service.do_create_school, update=service.do_update_school,
    schema_in=SchoolIn, schema_patch=SchoolPatch, schema_out=SchoolOut,
    render=lambda request, db, state: _schools_page(request, db, school=state),
    form_fields=("name", "kind", "code", "village_id"), int_fields=frozenset({"village_id"}),
    probe_create={"name": "探针学校", "kind": "primary", "code": "X1", "village_id": "$village"},
    probe_update={"name": "探针改名", "village_id": "$village"},
    list_page=False,
)
CLASSES = Resource(
    key="class", plural="classes", label="班级", **STRUCTURE,
    access=policy.access_class, items=None,
    create=service.do_create_class, update=service.do_update_class,
    schema_in=ClassIn, schema_patch=ClassPatch, schema_out=ClassOut,
    render=lambda request, db, state: _schools_page(request, db, klass=_class_state(state)),
    form_fields=("school_id", "grade", "name", "entry_year"), update_fields=("grade", "name", "entry_year"),
    int_fields=frozenset({"school_id", "grade", "entry_year"}), after_saving="/admin/schools", list_page=False,
    probe_create={"school_id": "$school", "grade": 7, "name": "探针班", "entry_year": 2026},
    probe_update={"name": "探针班改名"},
)
DEPARTMENTS = Resource(
    key="department", plural="departments", label="部门", **STRUCTURE,
    access=policy.access_department, items=service.list_departments,
    create=service.do_create_department, update=service.do_update_department,
    schema_in=DepartmentIn, schema_patch=DepartmentPatch, schema_out=DepartmentOut, render=_departments_page,
    form_fields=("duty_code", "name"),
    probe_create={"duty_code": "youth_league", "name": "探针部门"}, probe_update={"name": "探针部门改名"},
)


@get("/admin/schools", opt=requires(Permission.STRUCTURE_READ), include_in_schema=False, sync_to_thread=True)
def schools_page(request: Request[Any, Any, Any], db: Session, school_id: int | None = None) -> Template:
    if school_id is not None:
        policy.access_school(db, school_id)
    return _schools_page(request, db, class_school_id=school_id)


@get("/api/classes", opt=requires(Permission.STRUCTURE_READ), summary="班级列表（可按学校筛选）",
     sync_to_thread=True)
def classes_api(db: Session, school_id: int | None = None) -> list[ClassOut]:
    if school_id is not None:
        policy.access_school(db, school_id)  # another township's school: 404, not an empty list
    return [ClassOut.of(c) for c in service.list_classes(db, school_id=school_id)]


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
    return ImportOut(**excel.do_import_structure(db, data.file.read()))


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
        ids["school_id"] = form_int(data.get("school_id"))
        if role in CLASS_BOUND_ROLES:
            ids["class_ids"] = _ints(data.get("class_ids"))
    elif role is not None and role.unit_kind == UnitKind.VILLAGE:
        ids["village_id"] = form_int(data.get("village_id"))
    elif role is not None and role.unit_kind == UnitKind.DEPARTMENT:
        ids["department_id"] = form_int(data.get("department_id"))
    return {"role": data.get("role", ""), "title": data.get("title", ""), **ids}


def _ints(value: Any) -> list[int]:
    """Ticked checkboxes: one value is a string, several a list; junk is -1 (not found)."""
    values = value if isinstance(value, list) else [value]
    return [i for i in (form_int(v) for v in values) if i is not None]


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
        "rows": [] if fragment and request.htmx else service.list_people(db), "values": values,
        "errors": errors or {}, "role": _role_or_none(values.get("role")),
        "can_write": _can(request, Permission.PEOPLE_WRITE), **_units_context(db),
    }
    return _page(request, "people.html", context, status=status, fragment=fragment)


@get("/admin/people", opt=requires(Permission.PEOPLE_READ), include_in_schema=False, sync_to_thread=True)
def people_page(request: Request[Any, Any, Any], db: Session, role: str = "") -> Template:
    # htmx asks for the unit fields again when the role select changes (a fragment of this page).
    if role:
        return _people_page(request, db, values={"role": role}, fragment="units")
    return _people_page(request, db)


@post("/admin/people", opt=_probe(PEOPLE_WRITE, {"username": "probe_person", "display_name": "探针人员",
                                                "password": "Probe2026x", "role": "class_teacher",
                                                "school_id": "$school"}),
      include_in_schema=False, sync_to_thread=True)
def person_create_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    person = {k: data.get(k, "") for k in ("username", "display_name", "phone", "password")}
    placement = _placement(data)
    shown = {**person, **placement, "password": ""}  # a password is never sent back into a page
    return submit(lambda: service.do_create_person_with_membership(db, **person, **placement), done="/admin/people",
                  refused=lambda errors: _people_page(request, db, values=shown, errors=errors, status=400))


def _person_page(request: Request[Any, Any, Any], db: Session, user_id: int, *,
                 values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status: int = 200) -> Template:
    user = policy.access_user(db, user_id)
    values = values or {"role": Role.SUBJECT_TEACHER.value}
    return _page(request, "person.html", {
        "person": user, "rows": service.list_people(db, user_id=user_id, active_only=False), "values": values,
        "errors": errors or {}, "role": _role_or_none(values.get("role")),
        "can_write": _can(request, Permission.PEOPLE_WRITE),
        "current_membership_id": actor_of(request).membership_id, **_units_context(db),
    }, status=status)


@get("/admin/people/{user_id:int}", opt=requires(Permission.PEOPLE_READ), include_in_schema=False,
     sync_to_thread=True)
def person_page(request: Request[Any, Any, Any], db: Session, user_id: int) -> Template:
    return _person_page(request, db, user_id)


@post("/admin/memberships", opt=_probe(PEOPLE_WRITE, {"user_id": "$user", "role": "class_teacher",
                                                     "school_id": "$school"}),
      include_in_schema=False, sync_to_thread=True)
def membership_create_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    user_id = form_int(data.get("user_id")) or 0
    user = policy.access_user(db, user_id)
    placement = _placement(data)
    return submit(lambda: service.do_add_membership(db, user=user, **placement), done=f"/admin/people/{user_id}",
                  refused=lambda errors: _person_page(request, db, user_id, values=placement, errors=errors,
                                                      status=400))


@post("/admin/memberships/{membership_id:int}/deactivate", opt=_probe(PEOPLE_WRITE, {}), include_in_schema=False,
      sync_to_thread=True)
def membership_deactivate_page(request: Request[Any, Any, Any], db: Session, membership_id: int) -> Response[Any]:
    membership = policy.access_membership(db, membership_id, for_write=True)
    user_id = membership.user_id
    return submit(lambda: service.do_deactivate_membership(db, membership), done=f"/admin/people/{user_id}",
                  refused=lambda errors: _person_page(request, db, user_id, errors=errors, status=400))


# --- import -----------------------------------------------------------------------------------

def _import_page(request: Request[Any, Any, Any], *, problems: list[excel.Problem] | None = None,
                 message: str = "", errors_key: str = "", status: int = 200) -> Template:
    counts = {k: int(v) for k in ("villages", "schools", "classes", "people")
              if (v := request.query_params.get(k, "")).isdigit()}
    return _page(request, "import.html", {
        "problems": problems or [], "message": message, "summary": excel.summary(counts) if counts else "",
        "max_mb": excel.MAX_UPLOAD_BYTES // (1024 * 1024), "sheets": excel.SHEETS, "errors_key": errors_key,
    }, status=status)


@get("/admin/import", opt=STRUCTURE_WRITE, include_in_schema=False, sync_to_thread=False)
def import_page(request: Request[Any, Any, Any]) -> Template:
    return _import_page(request)


@get("/admin/import/template", opt=STRUCTURE_WRITE, include_in_schema=False, sync_to_thread=True)
def import_template_page() -> Response[bytes]:
    return _template_response()


ERROR_WORKBOOKS = "import-errors"


@get("/admin/import/errors", opt=STRUCTURE_WRITE, include_in_schema=False, sync_to_thread=True)
def import_errors_page(request: Request[Any, Any, Any], key: str) -> Response[bytes]:
    """The clerk's own file back, each problem marked beside its row: fix it there and upload again."""
    actor = actor_of(request)
    if f"/{ERROR_WORKBOOKS}/" not in key:
        raise not_found()
    data = storage(request.app.state.settings).read(actor.township_id or 0, key)
    return xlsx_download(data, "导入问题-请修改后重新上传.xlsx")


@post("/admin/import", opt=_probe(STRUCTURE_WRITE, "xlsx"), request_max_body_size=UPLOAD_BODY_LIMIT,
      include_in_schema=False, sync_to_thread=True)
def import_submit_page(request: Request[Any, Any, Any], db: Session, data: UploadForm) -> Response[Any]:
    _require_people_write(request)
    upload = data.get("file")
    content = upload.file.read() if isinstance(upload, UploadFile) else b""
    try:
        counts = excel.do_import_structure(db, content)
    except excel.ImportRejected as rejected:
        marked = rejected.error_workbook()
        key = (storage(request.app.state.settings).save(actor_of(request).township_id or 0, ERROR_WORKBOOKS,
                                                        marked, ".xlsx") if marked else "")
        return _import_page(request, problems=rejected.problems, message=str(rejected.detail), errors_key=key,
                            status=400)
    except InvalidInput as refused:
        return _import_page(request, message="；".join(refused.errors.values()), status=400)
    query = "&".join(f"{k}={v}" for k, v in counts.items())
    return Redirect(path=f"/admin/import?{query}", status_code=303)


routes = [
    *routes_for(VILLAGES), *routes_for(SCHOOLS), *routes_for(CLASSES), *routes_for(DEPARTMENTS),
    schools_page, classes_api,
    people_api, person_create_api, membership_create_api, membership_deactivate_api,
    import_template_api, import_api,
    people_page, person_create_page, person_page, membership_create_page, membership_deactivate_page,
    import_page, import_template_page, import_errors_page, import_submit_page,
]
