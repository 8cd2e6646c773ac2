"""Status changes: the JSON API and the pages (list, request form, a change with its steps, graduation).

Thin on purpose: parse, call `service`, answer. The pages' forms post to their own handlers;
a refused form is its page again with the errors (a 400, rolled back), a saved one a 303. No
page offers 退学 or 开除: the request form lists `flows.REQUESTABLE_KINDS` only.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

import anyio
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.errors import InvalidInput
from baoxue.platform.permissions import Permission, Role
from baoxue.platform.resources import Form, form_int, saved
from baoxue.platform.templating import page
from baoxue.platform.files import MAX_DOCUMENT_BYTES
from baoxue.tenants.status_changes import service
from baoxue.tenants.status_changes.flows import (
    KIND_LABELS,
    NEEDS_DOCUMENT,
    REFUSED_KINDS,
    REQUESTABLE_KINDS,
    STATE_LABELS,
    Step,
)
from baoxue.tenants.status_changes.policy import access_change
from baoxue.tenants.status_changes.schemas import (
    API_BODY_LIMIT,
    DocumentIn,
    GraduationIn,
    GraduationOut,
    StatusChangeIn,
    StatusChangeOut,
    StepIn,
)
from baoxue.tenants.students.models import STATUS_LABELS
from baoxue.tenants.students.service import first_page_named
from baoxue.tenants.tenancy.service import GRADE_NAMES

READ = requires(Permission.STATUS_READ)
WRITE = requires(Permission.STATUS_WRITE)
CREATE_PROBE = {**WRITE, "probe": {"student_id": "$student", "change_kind": "transfer_out",
                                   "destination": "探针县探针中学", "reason": "探针"}}
STEP_PROBE = {**WRITE, "probe": {"step": "class_teacher", "approved": True, "opinion": "探针"}}
GRADUATION_API_PROBE = {**WRITE, "probe": {"grade": 9}}
GRADUATION_PAGE_PROBE = {**WRITE, "probe": {"school_id": "$school", "grade": 9}}
PAGE_BODY_LIMIT = MAX_DOCUMENT_BYTES + 64 * 1024
# Filters and forms never offer what is refused: 退学 and 开除.
KIND_CHOICES = {str(k): v for k, v in KIND_LABELS.items() if k not in REFUSED_KINDS}


def _settings(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.settings


def _filters(change_state: str, change_kind: str, student_id: int | None = None) -> service.ChangeFilters:
    return service.ChangeFilters(state=change_state.strip(), kind=change_kind.strip(), student_id=student_id)


def _detail_out(request: Request[Any, Any, Any], db: Session, change_id: int) -> StatusChangeOut:
    view = service.get_change(db, change_id)
    return StatusChangeOut.of(view, can_decide=service.may_decide(actor_of(request), view.change))


def _document_bytes(document: DocumentIn | None) -> tuple[bytes | None, str]:
    if document is None:
        return None, ""
    try:
        return base64.b64decode(document.content, validate=True), document.filename
    except (binascii.Error, ValueError):
        raise InvalidInput({"document": "证明材料的内容不是有效的 Base64 编码。"}) from None


def _download(data: bytes, filename: str, media_type: str) -> Response[bytes]:
    suffix = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    disposition = f"attachment; filename=\"document.{suffix}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content=data, media_type=media_type, headers={"Content-Disposition": disposition})


# --- the API ----------------------------------------------------------------------------------

@get("/api/status-changes", opt=READ, summary="学籍变动列表（本人范围内，新的在前）",
     description="每页 50 条；`change_state`、`change_kind`、`student_id` 可筛选。", sync_to_thread=True)
def changes_api(db: Session, change_state: str = "", change_kind: str = "", student_id: int | None = None,
                page: int = 1) -> list[StatusChangeOut]:
    found = service.list_changes(db, _filters(change_state, change_kind, student_id), page=page)
    return [StatusChangeOut.of(view) for view in found.rows]


@post("/api/status-changes", opt=CREATE_PROBE, request_max_body_size=API_BODY_LIMIT,
      summary="提出学籍变动申请",
      description="退学（withdrawal）、开除（expulsion）对义务教育阶段的学生一律不予办理（《义务教育法》），"
                  "答复 400 并说明理由。休学、死亡须附证明材料（PDF、JPG、PNG，不超过 5 MB，Base64）。",
      sync_to_thread=True)
def change_create_api(request: Request[Any, Any, Any], db: Session, data: StatusChangeIn) -> StatusChangeOut:
    document, document_name = _document_bytes(data.document)
    change = service.do_request_change(
        db, actor_of(request), data.student_id, data.change_kind, reason=data.reason,
        to_school_id=data.to_school_id, to_class_id=data.to_class_id, destination=data.destination,
        effective_on=data.effective_on, document=document, document_name=document_name,
        settings=_settings(request))
    return _detail_out(request, db, change.id)


@get("/api/status-changes/{change_id:int}", opt=READ, summary="一项学籍变动及其每一步审批", sync_to_thread=True)
def change_api(request: Request[Any, Any, Any], db: Session, change_id: int) -> StatusChangeOut:
    return _detail_out(request, db, change_id)


@post("/api/status-changes/{change_id:int}/steps", opt=STEP_PROBE, summary="办理待办的审批环节（同意或不同意）",
      description="只能办理当前待办的环节，且须是该环节的办理人（否则 403）；不同意须写明意见（理由）。"
                  "转入学校确认到校（arrival）须选择本校的班级（to_class_id）。", sync_to_thread=True)
def step_api(request: Request[Any, Any, Any], db: Session, change_id: int, data: StepIn) -> StatusChangeOut:
    service.do_decide_step(db, actor_of(request), change_id, data.step, data.approved, data.opinion,
                           to_class_id=data.to_class_id)
    return _detail_out(request, db, change_id)


@get("/api/status-changes/{change_id:int}/download", opt={**READ, "download": "application/octet-stream"},
     summary="下载学籍变动的证明材料（记入操作日志）", sync_to_thread=True)
def document_api(request: Request[Any, Any, Any], db: Session, change_id: int) -> Response[bytes]:
    data, name, _media_type = service.do_download_document(db, access_change(db, change_id), _settings(request))
    return _download(data, name, "application/octet-stream")


@post("/api/schools/{school_id:int}/graduations", opt=GRADUATION_API_PROBE, summary="年级毕业（校长整批办理）",
      description="为本校毕业年级（小学 6、初中 9）的全部在读学生办理毕业（学籍状态 07）；"
                  "有未办结学籍变动的学生不随年级毕业，在 held 中列出。", sync_to_thread=True)
def graduation_api(request: Request[Any, Any, Any], db: Session, school_id: int, data: GraduationIn) -> GraduationOut:
    result = service.do_graduate_grade(db, actor_of(request), school_id, data.grade)
    return GraduationOut(school_id=result.school_id, grade=result.grade, graduated=result.graduated,
                         held=result.held)


# --- pages: the list --------------------------------------------------------------------------

def _can_write(request: Request[Any, Any, Any]) -> bool:
    return actor_of(request).can(Permission.STATUS_WRITE)


@get("/status-changes", opt=READ, include_in_schema=False, sync_to_thread=True)
def changes_page(request: Request[Any, Any, Any], db: Session, change_state: str = "", change_kind: str = "",
                 student_id: int | None = None, page: int = 1) -> Template:
    filters = _filters(change_state, change_kind, student_id)
    actor = actor_of(request)
    return _page(request, "list.html", {
        "found": service.list_changes(db, filters, page=page), "filters": filters, "kinds": KIND_CHOICES,
        "states": {str(k): v for k, v in STATE_LABELS.items()}, "can_write": _can_write(request),
        "is_principal": actor.role == Role.PRINCIPAL, "saved": request.query_params.get("saved"),
    }, fragment="results")


def _page(request: Request[Any, Any, Any], name: str, context: dict[str, Any], *, status: int = 200,
          fragment: str = "") -> Template:
    return page(request, f"status_changes/{name}", context, status=status, fragment=fragment)


# --- pages: a new request ---------------------------------------------------------------------

def _new_page(request: Request[Any, Any, Any], db: Session, *, student_id: int | None, change_kind: str, q: str = "",
              values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
              status: int = 200) -> Template:
    kind = change_kind if change_kind in {str(k) for k in REQUESTABLE_KINDS} else ""
    form = service.request_form(db, student_id) if student_id is not None else None
    return _page(request, "new.html", {
        "form": form, "kind": kind, "kinds": [(str(k), k.label) for k in REQUESTABLE_KINDS],
        "q": q.strip(), "found": first_page_named(db, q) if form is None and q.strip() else None,
        "values": values or {}, "errors": errors or {},
        "needs_document": {str(k): v for k, v in NEEDS_DOCUMENT.items()},
        "status_labels": STATUS_LABELS, "grade_names": GRADE_NAMES,
        "max_mb": MAX_DOCUMENT_BYTES // (1024 * 1024),
    }, status=status, fragment="fields")


@get("/status-changes/new", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def new_change_page(request: Request[Any, Any, Any], db: Session, student_id: int | None = None,
                    change_kind: str = "", q: str = "") -> Template:
    return _new_page(request, db, student_id=student_id, change_kind=change_kind.strip(), q=q)


def _upload(value: Any) -> tuple[bytes | None, str]:
    """A file input's part: (bytes, name), or (None, "") when no file was chosen."""
    if isinstance(value, UploadFile) and value.filename:
        return value.file.read(MAX_DOCUMENT_BYTES + 1), value.filename
    return None, ""


@post("/status-changes", opt=CREATE_PROBE, request_max_body_size=PAGE_BODY_LIMIT, include_in_schema=False)
async def new_change_submit(request: Request[Any, Any, Any], db: Session) -> Response[Any]:
    """The request form: multipart with its certificate from the page, read whatever form encoding
    it comes in (Litestar's multipart body parameter refuses a plain form outright)."""
    form = await request.form()
    return await anyio.to_thread.run_sync(_submit_new_change, request, db, dict(form.items()))


def _submit_new_change(request: Request[Any, Any, Any], db: Session, data: dict[str, Any]) -> Response[Any]:
    text = {k: v for k, v in data.items() if isinstance(v, str)}
    student_id = form_int(text.get("student_id"))
    kind = text.get("change_kind", "").strip()
    document, document_name = _upload(data.get("document"))
    try:
        change = service.do_request_change(
            db, actor_of(request), student_id if student_id is not None else -1, kind,
            reason=text.get("reason", ""), to_school_id=form_int(text.get("to_school_id")),
            to_class_id=form_int(text.get("to_class_id")), destination=text.get("destination", ""),
            effective_on=text.get("effective_on", ""), document=document, document_name=document_name,
            settings=_settings(request))
    except InvalidInput as refused:
        return _new_page(request, db, student_id=student_id, change_kind=kind, values=text, errors=refused.errors,
                         status=400)
    return saved(f"/status-changes/{change.id}")


# --- pages: one change ------------------------------------------------------------------------

def _detail_page(request: Request[Any, Any, Any], db: Session, change_id: int, *,
                 values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status: int = 200) -> Template:
    view = service.get_change(db, change_id)
    may = service.may_decide(actor_of(request), view.change)
    arrival = may and view.change.next_step == Step.ARRIVAL
    return _page(request, "detail.html", {
        "v": view, "c": view.change, "may_decide": may,
        "arrival_classes": service.classes_of_school(db, view.change.to_school_id) if arrival else [],
        "values": values or {}, "errors": errors or {}, "saved": request.query_params.get("saved"),
        "grade_names": GRADE_NAMES,
    }, status=status)


@get("/status-changes/{change_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def change_page(request: Request[Any, Any, Any], db: Session, change_id: int) -> Template:
    return _detail_page(request, db, change_id)


def _approved(value: Any) -> bool | None:
    text = str(value or "").strip().lower()
    return True if text in ("1", "true", "yes") else False if text in ("0", "false", "no") else None


@post("/status-changes/{change_id:int}/steps", opt=STEP_PROBE, include_in_schema=False, sync_to_thread=True)
def step_submit(request: Request[Any, Any, Any], db: Session, change_id: int, data: Form) -> Response[Any]:
    values = {k: str(data.get(k, "")) for k in ("step", "approved", "opinion", "to_class_id")}
    try:
        service.do_decide_step(db, actor_of(request), change_id, values["step"], _approved(values["approved"]),
                               values["opinion"], to_class_id=form_int(values["to_class_id"]))
    except InvalidInput as refused:
        return _detail_page(request, db, change_id, values=values, errors=refused.errors, status=400)
    return saved(f"/status-changes/{change_id}")


@get("/status-changes/{change_id:int}/download", opt=READ, include_in_schema=False, sync_to_thread=True)
def document_page(request: Request[Any, Any, Any], db: Session, change_id: int) -> Response[bytes]:
    data, name, media_type = service.do_download_document(db, access_change(db, change_id), _settings(request))
    return _download(data, name, media_type)


# --- pages: graduation ------------------------------------------------------------------------

def _graduation_page(request: Request[Any, Any, Any], db: Session, *, errors: dict[str, str] | None = None,
                     status: int = 200) -> Template:
    graduated = form_int(request.query_params.get("graduated"))
    return _page(request, "graduation.html", {
        "plan": service.graduation_plan(db, actor_of(request)), "errors": errors or {},
        "graduated": graduated if graduated is not None and graduated >= 0 else None,
    }, status=status)


@get("/status-changes/graduation", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def graduation_page(request: Request[Any, Any, Any], db: Session) -> Template:
    return _graduation_page(request, db)


@post("/status-changes/graduation", opt=GRADUATION_PAGE_PROBE, include_in_schema=False, sync_to_thread=True)
def graduation_submit(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    school_id = form_int(data.get("school_id"))
    try:
        result = service.do_graduate_grade(db, actor_of(request), school_id if school_id is not None else -1,
                                           form_int(data.get("grade")))
    except InvalidInput as refused:
        return _graduation_page(request, db, errors=refused.errors, status=400)
    return Redirect(path=f"/status-changes/graduation?graduated={result.graduated}", status_code=303)


routes = [changes_api, change_create_api, change_api, step_api, document_api, graduation_api, changes_page,
          new_change_page, new_change_submit, change_page, step_submit, document_page, graduation_page,
          graduation_submit]
