"""Rosters: the roster page of a school (upload, report, downloads) and the same as JSON API.

Thin: resolve the school (`access_roster_school`: 404 outside the scope), call the service,
answer. A refused file's marked copy (the error workbook) and an applied import's report are
kept with the platform's file storage, as the structure import keeps its error workbook
(`tenancy.routes.import_errors_page`): saved under the township with a random key, served only
to someone who may open that school's roster, and only for a key of that school's kind
(`roster-errors-s<id>`, `roster-reports-s<id>`), so one school's key never opens another's file.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.errors import TITLES, InvalidInput, not_found
from baoxue.platform.files import storage
from baoxue.platform.imports import ImportRejected
from baoxue.platform.permissions import Permission
from baoxue.platform.spreadsheets import xlsx_download
from baoxue.platform.templating import page
from baoxue.tenants.rosters import service
from baoxue.tenants.rosters.layout import COLUMNS
from baoxue.tenants.rosters.policy import access_roster_school
from baoxue.tenants.rosters.schemas import RosterProblemOut, RosterReportOut

ROSTER = requires(Permission.ROSTER_IMPORT)
Upload = Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)]
UploadForm = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
UPLOAD_BODY_LIMIT = service.UPLOAD_BYTES + 64 * 1024  # the file, and the multipart envelope around it
TEMPLATE_FILENAME = "保学-学籍名册导入模板.xlsx"
PROBLEMS_SHOWN = 50  # the page lists the first problems; the error workbook has them all


def _probe(body: Any) -> dict[str, Any]:
    return {**ROSTER, "probe": body}


def _errors_kind(school_id: int) -> str:
    return f"roster-errors-s{school_id}"


def _reports_kind(school_id: int) -> str:
    return f"roster-reports-s{school_id}"


def _stored(request: Request[Any, Any, Any], kind: str, key: str) -> bytes:
    """A stored file of this kind (a key of another kind, school or township: the one 404)."""
    if not key or f"/{kind}/" not in key:
        raise not_found()
    return storage(request.app.state.settings).read(actor_of(request).township_id or 0, key)


def _save(request: Request[Any, Any, Any], kind: str, data: bytes, suffix: str) -> str:
    return storage(request.app.state.settings).save(actor_of(request).township_id or 0, kind, data, suffix)


def _errors_key(request: Request[Any, Any, Any], school_id: int, rejected: ImportRejected) -> str:
    marked = rejected.error_workbook()
    return _save(request, _errors_kind(school_id), marked, ".xlsx") if marked else ""


def _errors_download(request: Request[Any, Any, Any], school_id: int, key: str) -> Response[bytes]:
    return xlsx_download(_stored(request, _errors_kind(school_id), key), "学籍名册-问题-请修改后重新上传.xlsx")


# === the API =====================================================================================

@post("/api/schools/{school_id:int}/roster/imports", opt=_probe("xlsx"), request_max_body_size=UPLOAD_BODY_LIMIT,
      summary="导入学籍名册（全国学籍系统导出的 .xlsx/.xls；全部无误才导入）", status_code=200,
      description="答复导入报告。文件中有任何问题时不导入任何数据，答复 422（problem details），"
                  "另含 `problems`（每处问题的 Excel 行号、列、字段、原因）和 `error_workbook`"
                  "（标出问题的文件的下载地址）。文件本身无法读取时答复 400。", sync_to_thread=True)
def import_api(request: Request[Any, Any, Any], db: Session, school_id: int, data: Upload) -> RosterReportOut:
    access_roster_school(db, school_id)
    try:
        return RosterReportOut.of(service.do_import_roster(db, school_id, data.file.read()))
    except ImportRejected as rejected:
        key = _errors_key(request, school_id, rejected)
        workbook = f"/api/schools/{school_id}/roster/errors?key={key}" if key else ""
        return _rejected(request, rejected, workbook)  # type: ignore[return-value]


def _rejected(request: Request[Any, Any, Any], rejected: ImportRejected, workbook: str) -> Response[Any]:
    """The platform's problem details for a refused file (see baoxue.platform.errors), with the
    two members a client needs to act on it: every problem in place, and the marked file."""
    problems = service.described_problems(rejected)
    body = {
        "type": "https://baoxue.example/problems/422", "title": TITLES[422], "status": 422,
        "detail": str(rejected.detail), "instance": request.url.path,
        "request_id": request.scope.get("state", {}).get("request_id", ""),
        "errors": [{"field": p.key, "message": p.message} for p in rejected.problems],
        "problems": [RosterProblemOut.of(p) for p in problems],
        "error_workbook": workbook,
    }
    return Response(content=body, status_code=422, media_type="application/problem+json")


@get("/api/schools/{school_id:int}/roster/errors", opt=ROSTER, summary="下载导入被拒文件的标注版（xlsx）",
     sync_to_thread=True)
def errors_api(request: Request[Any, Any, Any], db: Session, school_id: int, key: str = "") -> Response[bytes]:
    access_roster_school(db, school_id)
    return _errors_download(request, school_id, key)


@get("/api/schools/{school_id:int}/roster", opt=ROSTER, summary="导出本校学籍名册（全国学籍格式，xlsx；记入操作日志）",
     sync_to_thread=True)
def export_api(db: Session, school_id: int) -> Response[bytes]:
    data, filename = service.do_export_roster(db, school_id)
    return xlsx_download(data, filename)


@get("/api/schools/{school_id:int}/roster/template", opt=ROSTER, summary="下载学籍名册导入模板（xlsx）",
     sync_to_thread=True)
def template_api(db: Session, school_id: int) -> Response[bytes]:
    access_roster_school(db, school_id)
    return xlsx_download(service.roster_template(), TEMPLATE_FILENAME)


# === the pages ===================================================================================

@get("/roster", opt=ROSTER, include_in_schema=False, sync_to_thread=True)
def roster_home(request: Request[Any, Any, Any], db: Session) -> Response[Any]:
    """The menu's entry: one's own school's roster, or (the township) a choice of schools."""
    schools = service.roster_schools(db)
    if len(schools) == 1:
        return Redirect(path=f"/schools/{schools[0].id}/roster", status_code=303)
    return page(request, "rosters/schools.html", {"schools": schools})


def _roster_page(request: Request[Any, Any, Any], db: Session, school_id: int, *,
                 report: dict[str, Any] | None = None, problems: list[service.RosterProblem] | None = None,
                 message: str = "", errors_key: str = "", status: int = 200) -> Template:
    return page(request, "rosters/roster.html", {
        "overview": service.roster_overview(db, school_id), "report": report, "problems": (problems or [])[
            :PROBLEMS_SHOWN], "problem_count": len(problems or []), "message": message, "errors_key": errors_key,
        "max_mb": service.UPLOAD_BYTES // (1024 * 1024), "max_rows": service.MAX_ROWS,
        "headers": [c.header for c in COLUMNS], "required": [c.header for c in COLUMNS if c.required],
    }, status=status)


def _report(request: Request[Any, Any, Any], school_id: int, key: str) -> dict[str, Any] | None:
    if not key:
        return None
    report = json.loads(_stored(request, _reports_kind(school_id), key))
    if report.get("school_id") != school_id:
        raise not_found()
    return report


@get("/schools/{school_id:int}/roster", opt=ROSTER, include_in_schema=False, sync_to_thread=True)
def roster_page(request: Request[Any, Any, Any], db: Session, school_id: int, report: str = "") -> Template:
    access_roster_school(db, school_id)
    return _roster_page(request, db, school_id, report=_report(request, school_id, report))


@post("/schools/{school_id:int}/roster", opt=_probe("xlsx"), request_max_body_size=UPLOAD_BODY_LIMIT,
      include_in_schema=False, sync_to_thread=True)
def roster_submit(request: Request[Any, Any, Any], db: Session, school_id: int, data: UploadForm) -> Response[Any]:
    access_roster_school(db, school_id)
    upload = data.get("file")
    content = upload.file.read() if isinstance(upload, UploadFile) else b""
    try:
        report = service.do_import_roster(db, school_id, content)
    except ImportRejected as rejected:
        return _roster_page(request, db, school_id, problems=service.described_problems(rejected),
                            message=str(rejected.detail), errors_key=_errors_key(request, school_id, rejected),
                            status=400)
    except InvalidInput as refused:
        return _roster_page(request, db, school_id, message="；".join(refused.errors.values()), status=400)
    # Post, redirect, get: the report is kept (it names children: in the township's storage, not in the URL).
    body = json.dumps(msgspec.to_builtins(RosterReportOut.of(report)), ensure_ascii=False).encode()
    key = _save(request, _reports_kind(school_id), body, ".json")
    return Redirect(path=f"/schools/{school_id}/roster?report={key}", status_code=303)


@get("/schools/{school_id:int}/roster/errors", opt=ROSTER, include_in_schema=False, sync_to_thread=True)
def errors_page(request: Request[Any, Any, Any], db: Session, school_id: int, key: str = "") -> Response[bytes]:
    """The clerk's own file back, each problem cell marked red with its reason: fix it there, upload again."""
    access_roster_school(db, school_id)
    return _errors_download(request, school_id, key)


@get("/schools/{school_id:int}/roster/export", opt=ROSTER, include_in_schema=False, sync_to_thread=True)
def export_page(db: Session, school_id: int) -> Response[bytes]:
    data, filename = service.do_export_roster(db, school_id)
    return xlsx_download(data, filename)


@get("/schools/{school_id:int}/roster/template", opt=ROSTER, include_in_schema=False, sync_to_thread=True)
def template_page(db: Session, school_id: int) -> Response[bytes]:
    access_roster_school(db, school_id)
    return xlsx_download(service.roster_template(), TEMPLATE_FILENAME)


@get("/schools/{school_id:int}/roster/sample", opt=ROSTER, include_in_schema=False, sync_to_thread=True)
def sample_page(db: Session, school_id: int) -> Response[bytes]:
    data, filename = service.do_export_sample_roster(db, school_id)
    return xlsx_download(data, filename)


routes = [
    import_api, errors_api, export_api, template_api,
    roster_home, roster_page, roster_submit, errors_page, export_page, template_page, sample_page,
]
