"""The case file: the JSON API and the pages (list, open, a case with its timeline, visits, registers).

Thin on purpose: parse, call `service`, answer. A refused form is its page again with the errors
(a 400, rolled back), a saved one a 303. The visit and closing forms are multipart (photos, the
closing's document) and read whatever encoding they come in, as the status changes' form does.
Photos, signatures and documents are served only here, after the record's `access_*` check.
"""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Template
from sqlalchemy.orm import Session

from baoxue.platform import photos as photo_files
from baoxue.platform.auth import actor_of, requires
from baoxue.platform.clock import CHINA, clock
from baoxue.platform.errors import InvalidInput
from baoxue.platform.permissions import Permission, UnitKind
from baoxue.platform.resources import Form, attachment as _attachment, base64_bytes as _bytes, form_int, saved
from baoxue.platform.spreadsheets import xlsx_download
from baoxue.platform.templating import page
from baoxue.platform.files import MAX_DOCUMENT_BYTES
from baoxue.tenants.cases import registers, service
from baoxue.tenants.cases.flows import (
    CLOSING_LABELS,
    CLOSINGS,
    ENTRY_LABELS,
    REASONS,
    STAGE_LABELS,
    VISIT_MODES,
)
from baoxue.tenants.cases.notice_routes import notice_routes
from baoxue.tenants.cases.policy import access_case, access_photo, access_visit
from baoxue.tenants.cases.schemas import (
    CLOSE_BODY_LIMIT,
    MAX_API_PHOTOS,
    VISIT_BODY_LIMIT,
    CaseIn,
    CaseOut,
    CloseIn,
    EntryIn,
    EntryOut,
    StageIn,
    VisitIn,
    VisitOut,
)
from baoxue.tenants.students.models import STATUS_LABELS
from baoxue.tenants.students.policy import access_student
from baoxue.tenants.students.service import first_page_named
from baoxue.tenants.tenancy.service import GRADE_NAMES

READ = requires(Permission.CASE_READ)
WRITE = requires(Permission.CASE_WRITE)
OPEN_PROBE = {**WRITE, "probe": {"student_id": "$student", "note": "探针"}}
STAGE_PROBE = {**WRITE, "probe": {"stage": "reported", "report": "absence_report", "first_absent_on": "2026-11-02",
                                  "reason_code": "weary", "note": "探针"}}
VISIT_PROBE = {**WRITE, "probe": {"met": "探针", "found": "探针", "mode": "phone", "reason_code": "weary"}}
ROUTINE_VISIT_PROBE = {**WRITE, "probe": {"student_id": "$student", "met": "探针", "found": "探针", "mode": "phone"}}
ENTRY_PROBE = {**WRITE, "probe": {"entry_kind": "note", "summary": "探针"}}
CLOSE_PROBE = {**WRITE, "probe": {"closing": "returned", "return_date": "2026-11-02", "closing_evidence": "探针"}}
PAGE_VISIT_LIMIT = service.MAX_PHOTOS * photo_files.MAX_PHOTO_BYTES + photo_files.MAX_SIGNATURE_BYTES * 2 + 256 * 1024
PAGE_CLOSE_LIMIT = MAX_DOCUMENT_BYTES + 64 * 1024
ENTRY_CHOICES = [(str(k), ENTRY_LABELS[k]) for k in service.ENTRY_KINDS]


def _settings(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.settings


def _filters(stage: str, school_id: int | None, student_id: int | None, q: str, watch: str) -> service.CaseFilters:
    return service.CaseFilters(stage=stage.strip() if stage.strip() in STAGE_LABELS else "", school_id=school_id,
                               student_id=student_id, q=q.strip()[:40], watch=watch.strip() == "1")


def _inline(data: bytes, media_type: str) -> Response[bytes]:
    # Private: the security headers already say no-store; nosniff keeps it a picture.
    return Response(content=data, media_type=media_type, headers={"Content-Disposition": "inline"})


def _detail_out(db: Session, case_id: int) -> CaseOut:
    detail = service.get_case(db, case_id)
    return CaseOut.of(detail.view, detail)


# --- the API ----------------------------------------------------------------------------------

@get("/api/cases", opt=READ, summary="控辍个案列表（本人范围内，未结案的在前）",
     description="每页 50 条；`stage`、`school_id`、`student_id`、`q`（姓名）、`watch=1`（只看辍返生）可筛选。",
     sync_to_thread=True)
def cases_api(db: Session, stage: str = "", school_id: int | None = None, student_id: int | None = None,
              q: str = "", watch: str = "", page: int = 1) -> list[CaseOut]:
    found = service.list_cases(db, _filters(stage, school_id, student_id, q, watch), page=page)
    return [CaseOut.of(view) for view in found.rows]


@post("/api/cases", opt=OPEN_PROBE, summary="建立控辍个案（疑似辍学）",
      description="每名学生同时只能有一个未结案的个案（已有则 409）；学生曾结案的，新个案关联前一个案（再次辍学）。",
      sync_to_thread=True)
def case_create_api(request: Request[Any, Any, Any], db: Session, data: CaseIn) -> CaseOut:
    case = service.do_open_case(db, actor_of(request), data.student_id, first_absent_on=data.first_absent_on,
                                reason_code=data.reason_code, reason_text=data.reason_text, note=data.note)
    return _detail_out(db, case.id)


@get("/api/cases/{case_id:int}", opt=READ, summary="一个控辍个案及其全部记录（按顺序）", sync_to_thread=True)
def case_api(db: Session, case_id: int) -> CaseOut:
    return _detail_out(db, case_id)


@post("/api/cases/{case_id:int}/stage", opt=STAGE_PROBE, summary="个案转入下一阶段",
      description="疑似辍学 → 已报告（须上报旷课报告单或流失报告：首次缺课日期、原因；流失报告还须去向）→ 劝返中 → "
                  "依法控辍（须已劝返至少 3 次并写明理由）。已结案的个案不能修改（409）。", sync_to_thread=True)
def stage_api(request: Request[Any, Any, Any], db: Session, case_id: int, data: StageIn) -> CaseOut:
    service.do_move_stage(db, actor_of(request), case_id, data.stage, report=data.report,
                          first_absent_on=data.first_absent_on, reason_code=data.reason_code,
                          reason_text=data.reason_text, whereabouts=data.whereabouts, note=data.note)
    return _detail_out(db, case_id)


@post("/api/cases/{case_id:int}/visits", opt=VISIT_PROBE, request_max_body_size=VISIT_BODY_LIMIT,
      summary="登记家访（第N次劝返，或返校后回访）",
      description=f"照片为 JPG、PNG 或 HEIC（Base64），每次最多 {MAX_API_PHOTOS} 张，EXIF（含 GPS 位置）一律去除；"
                  "监护人签名为 data:image/png;base64 格式。劝返须选择原因，原因为“其他”时须写明。",
      sync_to_thread=True)
def visit_api(request: Request[Any, Any, Any], db: Session, case_id: int, data: VisitIn) -> VisitOut:
    case = access_case(db, case_id, for_write=True)
    if len(data.photos) > MAX_API_PHOTOS:
        raise InvalidInput({"photos": f"通过接口每次最多上传 {MAX_API_PHOTOS} 张照片。"})
    uploads = [service.Upload(_bytes(p.content, "photos"), p.filename) for p in data.photos]
    visit = service.do_record_visit(
        db, actor_of(request), case.student_id, case_id=case.id, visited_at=data.visited_at, mode=data.mode,
        visitor_ids=data.visitor_ids, met=data.met, found=data.found, reason_code=data.reason_code,
        reason_text=data.reason_text, agreed=data.agreed, next_visit_on=data.next_visit_on, photos=uploads,
        signature=data.signature or None, settings=_settings(request))
    return VisitOut.of(service.visits_of(db, [visit.id])[visit.id])


@post("/api/cases/{case_id:int}/entries", opt=ENTRY_PROBE, summary="个案记事：电话联系、到校面谈、备注、流失报告、更正",
      description="记录只增不改：更正须指明被更正的记录（corrects_entry_id）。", sync_to_thread=True)
def entry_api(request: Request[Any, Any, Any], db: Session, case_id: int, data: EntryIn) -> EntryOut:
    entry = service.do_record_entry(db, actor_of(request), case_id, data.entry_kind, data.summary,
                                    occurred_at=data.occurred_at, corrects_entry_id=data.corrects_entry_id,
                                    reason_code=data.reason_code, reason_text=data.reason_text,
                                    whereabouts=data.whereabouts, first_absent_on=data.first_absent_on)
    return EntryOut.of(entry)


@post("/api/cases/{case_id:int}/close", opt=CLOSE_PROBE, request_max_body_size=CLOSE_BODY_LIMIT,
      summary="结案（只能是五种结案方式之一，各附其依据）",
      description="returned 返校复学（返校日期、返校后班级，由学校确认）；transferred 依法转学、exempted 免学缓学、"
                  "home_teaching 送教上门、died 死亡（结案依据和证明材料）。没有“其他”。", sync_to_thread=True)
def close_api(request: Request[Any, Any, Any], db: Session, case_id: int, data: CloseIn) -> CaseOut:
    document = (service.Upload(_bytes(data.document.content, "document"), data.document.filename)
                if data.document is not None else None)
    service.do_close_case(db, actor_of(request), case_id, data.closing, return_date=data.return_date,
                          return_class_id=data.return_class_id, closing_evidence=data.closing_evidence,
                          document=document, settings=_settings(request))
    return _detail_out(db, case_id)


@get("/api/cases/photos/{photo_id:int}", opt={**READ, "download": "application/octet-stream"},
     summary="下载家访照片（原图，已去除 EXIF；记入操作日志）", sync_to_thread=True)
def photo_api(request: Request[Any, Any, Any], db: Session, photo_id: int) -> Response[bytes]:
    photo = access_photo(db, photo_id)
    data, media_type = service.do_download_photo(db, photo, _settings(request))
    return _attachment(data, f"家访照片-{photo.id}{'.png' if media_type.endswith('png') else '.jpg'}",
                       "application/octet-stream")


# --- pages: the list --------------------------------------------------------------------------

def _page(request: Request[Any, Any, Any], name: str, context: dict[str, Any], *, status: int = 200,
          fragment: str = "") -> Template:
    return page(request, f"cases/{name}", context, status=status, fragment=fragment)


def _personal(request: Request[Any, Any, Any]) -> bool:
    return actor_of(request).can(Permission.STUDENT_READ_PERSONAL)


def _can_write(request: Request[Any, Any, Any]) -> bool:
    return actor_of(request).can(Permission.CASE_WRITE)


@get("/cases", opt=READ, include_in_schema=False, sync_to_thread=True)
def cases_page(request: Request[Any, Any, Any], db: Session, stage: str = "", school_id: int | None = None,
               student_id: int | None = None, q: str = "", watch: str = "", page: int = 1) -> Template:
    filters = _filters(stage, school_id, student_id, q, watch)
    actor = actor_of(request)
    schools = (registers.schools_in_scope(db) if actor.membership is None
               or actor.membership.unit_kind != UnitKind.SCHOOL else [])
    return _page(request, "list.html", {
        "found": service.list_cases(db, filters, page=page), "filters": filters, "stages": STAGE_LABELS,
        "schools": schools, "can_write": _can_write(request), "saved": request.query_params.get("saved"),
    }, fragment="results")


@get("/cases/student/{student_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def student_cases_fragment(request: Request[Any, Any, Any], db: Session, student_id: int) -> Template:
    """The student page's block: the child's cases, current and earlier (loaded after the page)."""
    student = access_student(db, student_id)
    return _page(request, "_student.html", {"student": student, "cases": service.cases_of_student(db, student.id),
                                            "can_write": _can_write(request)})


# --- pages: open a case -----------------------------------------------------------------------

def _new_page(request: Request[Any, Any, Any], db: Session, *, student_id: int | None, q: str = "",
              values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
              status: int = 200) -> Template:
    form = service.open_form(db, student_id) if student_id is not None else None
    return _page(request, "new.html", {
        "form": form, "q": q.strip(), "found": first_page_named(db, q) if form is None and q.strip() else None,
        "values": values or {}, "errors": errors or {}, "reasons": REASONS, "status_labels": STATUS_LABELS,
        "today": clock.today().isoformat(),
    }, status=status)


@get("/cases/new", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def new_case_page(request: Request[Any, Any, Any], db: Session, student_id: int | None = None,
                  q: str = "") -> Template:
    return _new_page(request, db, student_id=student_id, q=q)


@post("/cases", opt=OPEN_PROBE, include_in_schema=False, sync_to_thread=True)
def new_case_submit(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    values = {k: str(data.get(k, "")) for k in ("student_id", "first_absent_on", "reason_code", "reason_text", "note")}
    student_id = form_int(values["student_id"])
    try:
        case = service.do_open_case(db, actor_of(request), student_id if student_id is not None else -1,
                                    first_absent_on=values["first_absent_on"], reason_code=values["reason_code"],
                                    reason_text=values["reason_text"], note=values["note"])
    except InvalidInput as refused:
        return _new_page(request, db, student_id=student_id, values=values, errors=refused.errors, status=400)
    return saved(f"/cases/{case.id}")


# --- pages: one case --------------------------------------------------------------------------

def _now_local() -> str:
    return clock.now().astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")


def _detail_page(request: Request[Any, Any, Any], db: Session, case_id: int, *, form: str = "",
                 values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status: int = 200) -> Template:
    detail = service.get_case(db, case_id)
    case = detail.case
    actor = actor_of(request)
    can_write = actor.can(Permission.CASE_WRITE) and (case.stage != "closed" or detail.view.returner)
    proposal = service.placement(db, case, detail.student) if case.stage != "closed" else None
    from baoxue.tenants.cases.notices import notice_panel
    return _page(request, "detail.html", {
        "d": detail, "c": case, "v": detail.view, "can_write": can_write, "form": form,
        "values": values or {}, "errors": errors or {}, "saved": request.query_params.get("saved"),
        "visitors": service.visitor_choices(db, case.school_id, case.village_id) if can_write else [],
        "me": actor.membership_id, "modes": VISIT_MODES, "reasons": REASONS, "entry_choices": ENTRY_CHOICES,
        "closings": CLOSING_LABELS, "evidence": {str(k): v for k, v in CLOSINGS.items()},
        "proposal": proposal, "grade_names": GRADE_NAMES, "now": _now_local(), "today": clock.today().isoformat(),
        "max_photos": service.MAX_PHOTOS, "entry_labels": {str(k): v for k, v in ENTRY_LABELS.items()},
        "notice_panel": notice_panel(db, actor, case),
        "is_school": actor.membership is not None and actor.membership.unit_kind == UnitKind.SCHOOL
        and actor.membership.unit_id == case.school_id,
    }, status=status)


@get("/cases/{case_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def case_page(request: Request[Any, Any, Any], db: Session, case_id: int) -> Template:
    return _detail_page(request, db, case_id)


@post("/cases/{case_id:int}/stage", opt=STAGE_PROBE, include_in_schema=False, sync_to_thread=True)
def stage_submit(request: Request[Any, Any, Any], db: Session, case_id: int, data: Form) -> Response[Any]:
    values = {k: str(data.get(k, "")) for k in ("stage", "report", "first_absent_on", "reason_code", "reason_text",
                                                 "whereabouts", "note")}
    try:
        service.do_move_stage(db, actor_of(request), case_id, values["stage"], report=values["report"],
                              first_absent_on=values["first_absent_on"], reason_code=values["reason_code"],
                              reason_text=values["reason_text"], whereabouts=values["whereabouts"],
                              note=values["note"])
    except InvalidInput as refused:
        return _detail_page(request, db, case_id, form="stage", values=values, errors=refused.errors, status=400)
    return saved(f"/cases/{case_id}")


@post("/cases/{case_id:int}/entries", opt=ENTRY_PROBE, include_in_schema=False, sync_to_thread=True)
def entry_submit(request: Request[Any, Any, Any], db: Session, case_id: int, data: Form) -> Response[Any]:
    values = {k: str(data.get(k, "")) for k in ("entry_kind", "summary", "occurred_at", "corrects_entry_id",
                                                 "reason_code", "reason_text", "whereabouts", "first_absent_on")}
    try:
        service.do_record_entry(db, actor_of(request), case_id, values["entry_kind"], values["summary"],
                                occurred_at=values["occurred_at"],
                                corrects_entry_id=form_int(values["corrects_entry_id"]),
                                reason_code=values["reason_code"], reason_text=values["reason_text"],
                                whereabouts=values["whereabouts"], first_absent_on=values["first_absent_on"])
    except InvalidInput as refused:
        return _detail_page(request, db, case_id, form="entry", values=values, errors=refused.errors, status=400)
    return saved(f"/cases/{case_id}")


def _uploads(values: list[Any]) -> list[service.Upload]:
    """The file inputs' parts that carry a file (an empty input sends a part with no name)."""
    found = []
    for value in values:
        if isinstance(value, UploadFile) and value.filename:
            found.append(service.Upload(value.file.read(photo_files.MAX_PHOTO_BYTES + 1), value.filename))
    return found


_VISIT_FIELDS = ("student_id", "visited_at", "mode", "met", "found", "reason_code", "reason_text", "agreed",
                 "next_visit_on", "signature")


def _visit_form(form: Any) -> tuple[dict[str, str], list[int], list[service.Upload]]:
    values = {k: v for k in _VISIT_FIELDS if isinstance(v := form.get(k, ""), str)}
    visitor_ids = [i for i in (form_int(v) for v in form.getall("visitor_ids", []) if isinstance(v, str))
                   if i is not None]
    return values, visitor_ids, _uploads(form.getall("photos", []))


def _record_visit(request: Request[Any, Any, Any], db: Session, student_id: int, case_id: int | None,
                  values: dict[str, str], visitor_ids: list[int], uploads: list[service.Upload]) -> Any:
    return service.do_record_visit(
        db, actor_of(request), student_id, case_id=case_id, visited_at=values.get("visited_at"),
        mode=values.get("mode", ""), visitor_ids=visitor_ids, met=values.get("met", ""),
        found=values.get("found", ""), reason_code=values.get("reason_code", ""),
        reason_text=values.get("reason_text", ""), agreed=values.get("agreed", ""),
        next_visit_on=values.get("next_visit_on"), photos=uploads, signature=values.get("signature") or None,
        settings=_settings(request))


@post("/cases/{case_id:int}/visits", opt=VISIT_PROBE, request_max_body_size=PAGE_VISIT_LIMIT,
      include_in_schema=False)
async def visit_submit(request: Request[Any, Any, Any], db: Session, case_id: int) -> Response[Any]:
    form = await request.form()
    return await anyio.to_thread.run_sync(_submit_case_visit, request, db, case_id, *_visit_form(form))


def _submit_case_visit(request: Request[Any, Any, Any], db: Session, case_id: int, values: dict[str, str],
                       visitor_ids: list[int], uploads: list[service.Upload]) -> Response[Any]:
    case = access_case(db, case_id, for_write=True)
    try:
        _record_visit(request, db, case.student_id, case.id, values, visitor_ids, uploads)
    except InvalidInput as refused:
        values = {**values, "visitor_ids": visitor_ids}  # type: ignore[dict-item]
        return _detail_page(request, db, case_id, form="visit", values=values, errors=refused.errors, status=400)
    return saved(f"/cases/{case_id}")


@post("/cases/{case_id:int}/close", opt=CLOSE_PROBE, request_max_body_size=PAGE_CLOSE_LIMIT,
      include_in_schema=False)
async def close_submit(request: Request[Any, Any, Any], db: Session, case_id: int) -> Response[Any]:
    form = await request.form()
    values = {k: v for k in ("closing", "return_date", "return_class_id", "closing_evidence")
              if isinstance(v := form.get(k, ""), str)}
    document = form.get("document")
    upload = (service.Upload(document.file.read(MAX_DOCUMENT_BYTES + 1), document.filename)
              if isinstance(document, UploadFile) and document.filename else None)
    return await anyio.to_thread.run_sync(_submit_close, request, db, case_id, values, upload)


def _submit_close(request: Request[Any, Any, Any], db: Session, case_id: int, values: dict[str, str],
                  document: service.Upload | None) -> Response[Any]:
    try:
        service.do_close_case(db, actor_of(request), case_id, values.get("closing", ""),
                              return_date=values.get("return_date"),
                              return_class_id=form_int(values.get("return_class_id")),
                              closing_evidence=values.get("closing_evidence", ""), document=document,
                              settings=_settings(request))
    except InvalidInput as refused:
        return _detail_page(request, db, case_id, form="close", values=values, errors=refused.errors, status=400)
    return saved(f"/cases/{case_id}")


@get("/cases/{case_id:int}/document", opt=READ, include_in_schema=False, sync_to_thread=True)
def document_page(request: Request[Any, Any, Any], db: Session, case_id: int) -> Response[bytes]:
    case = access_case(db, case_id)
    data, media_type = service.do_download_closing_document(db, case, _settings(request))
    suffix = case.closing_document_key.rsplit(".", 1)[-1]
    return _attachment(data, f"{case.student_name}-结案证明材料.{suffix}", media_type)


@get("/cases/photos/{photo_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def photo_page(request: Request[Any, Any, Any], db: Session, photo_id: int) -> Response[bytes]:
    photo = access_photo(db, photo_id)
    return _inline(service.photo_bytes(db, photo, settings=_settings(request)), photo_files.media_type(photo.key))


@get("/cases/photos/{photo_id:int}/small", opt=READ, include_in_schema=False, sync_to_thread=True)
def photo_small_page(request: Request[Any, Any, Any], db: Session, photo_id: int) -> Response[bytes]:
    photo = access_photo(db, photo_id)
    return _inline(service.photo_bytes(db, photo, small=True, settings=_settings(request)), "image/jpeg")


@get("/cases/visits/{visit_id:int}/signature", opt=READ, include_in_schema=False, sync_to_thread=True)
def signature_page(request: Request[Any, Any, Any], db: Session, visit_id: int) -> Response[bytes]:
    visit = access_visit(db, visit_id)
    return _inline(service.signature_bytes(db, visit, _settings(request)), "image/png")


# --- pages: a routine visit -------------------------------------------------------------------

def _visit_page(request: Request[Any, Any, Any], db: Session, *, student_id: int | None, q: str = "",
                values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                status: int = 200) -> Template:
    form = service.open_form(db, student_id) if student_id is not None else None
    actor = actor_of(request)
    return _page(request, "visit_new.html", {
        "form": form, "q": q.strip(), "found": first_page_named(db, q) if form is None and q.strip() else None,
        "visitors": service.visitor_choices(db, form.student.school_id, form.student.residence_village_id)
        if form else [], "me": actor.membership_id, "modes": VISIT_MODES, "reasons": REASONS,
        "values": values or {}, "errors": errors or {}, "now": _now_local(), "today": clock.today().isoformat(),
        "max_photos": service.MAX_PHOTOS,
    }, status=status)


@get("/visits/new", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def new_visit_page(request: Request[Any, Any, Any], db: Session, student_id: int | None = None,
                   q: str = "") -> Template:
    return _visit_page(request, db, student_id=student_id, q=q)


@post("/visits", opt=ROUTINE_VISIT_PROBE, request_max_body_size=PAGE_VISIT_LIMIT, include_in_schema=False)
async def new_visit_submit(request: Request[Any, Any, Any], db: Session) -> Response[Any]:
    form = await request.form()
    return await anyio.to_thread.run_sync(_submit_routine_visit, request, db, *_visit_form(form))


def _submit_routine_visit(request: Request[Any, Any, Any], db: Session, values: dict[str, str],
                          visitor_ids: list[int], uploads: list[service.Upload]) -> Response[Any]:
    student_id = form_int(values.get("student_id"))
    try:
        visit = _record_visit(request, db, student_id if student_id is not None else -1, None, values, visitor_ids,
                              uploads)
    except InvalidInput as refused:
        values = {**values, "visitor_ids": visitor_ids}  # type: ignore[dict-item]
        return _visit_page(request, db, student_id=student_id, values=values, errors=refused.errors, status=400)
    if visit.case_id is not None:
        return saved(f"/cases/{visit.case_id}")
    return saved("/cases/registers")


# --- pages: the registers ---------------------------------------------------------------------

@get("/cases/registers", opt=READ, include_in_schema=False, sync_to_thread=True)
def registers_page(request: Request[Any, Any, Any], db: Session, semester: str = "",
                   school_id: int | None = None) -> Template:
    chosen = registers.semester_of(semester)
    register = registers.visit_register(db, chosen, school_id=school_id)
    return _page(request, "registers.html", {
        "register": register, "flags": registers.rote_flags(db, chosen, school_id=school_id, visits=register.visits),
        "semester": chosen,
        "semesters": registers.recent_semesters(), "schools": registers.schools_in_scope(db),
        "school_id": school_id, "saved": request.query_params.get("saved"),
    })


@get("/cases/registers/visits.xlsx", opt=READ, include_in_schema=False, sync_to_thread=True)
def visit_register_xlsx(db: Session, semester: str = "", school_id: int | None = None) -> Response[bytes]:
    chosen = registers.semester_of(semester)
    data = registers.do_export_visit_register(db, chosen, school_id=school_id)
    return xlsx_download(data, f"家访登记表-{chosen.label}.xlsx")


@get("/cases/registers/dropouts.xlsx", opt=READ, include_in_schema=False, sync_to_thread=True)
def dropout_register_xlsx(request: Request[Any, Any, Any], db: Session,
                          school_id: int | None = None) -> Response[bytes]:
    data = registers.do_export_dropout_register(db, school_id=school_id, personal=_personal(request))
    return xlsx_download(data, f"辍学学生登记表-{clock.today().isoformat()}.xlsx")


@get("/cases/{case_id:int}/persuasion.xlsx", opt=READ, include_in_schema=False, sync_to_thread=True)
def persuasion_record_xlsx(request: Request[Any, Any, Any], db: Session, case_id: int) -> Response[bytes]:
    case = access_case(db, case_id)
    data = registers.do_export_persuasion_record(db, case, personal=_personal(request))
    return xlsx_download(data, f"劝返情况记录-{case.student_name}.xlsx")


routes = [cases_api, case_create_api, case_api, stage_api, visit_api, entry_api, close_api, photo_api, cases_page,
          student_cases_fragment, new_case_page, new_case_submit, case_page, stage_submit, entry_submit, visit_submit,
          close_submit, document_page, photo_page, photo_small_page, signature_page, new_visit_page, new_visit_submit,
          registers_page, visit_register_xlsx, dropout_register_xlsx, persuasion_record_xlsx, *notice_routes]
