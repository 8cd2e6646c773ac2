"""The census's pages and API: a village's census, the lists' imports, the comparison's findings.

Thin: resolve the village or the list (`access_census_village`, `service.access_list`: 404
outside one's scope or duty), call the service, answer. A refused file's marked copy is kept in
the township's file storage under a key of its list's kind, as the roster import keeps its own.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.errors import InvalidInput, not_found
from baoxue.platform.files import storage
from baoxue.platform.imports import ImportRejected
from baoxue.platform.permissions import Permission, UnitKind
from baoxue.platform.resources import Form, saved
from baoxue.platform.spreadsheets import xlsx_download
from baoxue.platform.templating import mask_id_number, page
from baoxue.tenants.census import service
from baoxue.tenants.census.layout import LAYOUTS
from baoxue.tenants.census.models import FINDINGS, POVERTY_KINDS
from baoxue.tenants.census.policy import access_census_child, access_census_village
from baoxue.tenants.census.schemas import (COUNT_LABELS, ChildIn, ChildOut, FindingOut, ImportOut, RunOut,
                                           VillageOut)
from baoxue.tenants.rosters.service import described_problems

READ, WRITE, IMPORT = (requires(Permission.CENSUS_READ), requires(Permission.CENSUS_WRITE),
                       requires(Permission.CENSUS_IMPORT))
RECONCILE = requires(Permission.CENSUS_RECONCILE)
UploadForm = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
UPLOAD_BODY_LIMIT = service.UPLOAD_BYTES + 64 * 1024
PROBLEMS_SHOWN = 50


def _errors_kind(kind: str) -> str:
    return f"census-errors-{kind}"


def _import(request: Request[Any, Any, Any], db: Session, kind: str, content: bytes,
            village_id: int | None) -> tuple[service.ImportReport | None, dict[str, Any]]:
    """Import, or what the page says of a refused file (its problems and the marked copy's key)."""
    try:
        return service.do_import_list(db, kind, content, village_id=village_id), {}
    except ImportRejected as rejected:
        marked = rejected.error_workbook()
        key = storage(request.app.state.settings).save(actor_of(request).township_id or 0, _errors_kind(kind),
                                                       marked, ".xlsx") if marked else ""
        header_of = {c.key: c.header for c in LAYOUTS[kind].columns}
        return None, {"problems": described_problems(rejected, header_of)[:PROBLEMS_SHOWN], "problem_count":
                      len(rejected.problems), "message": str(rejected.detail), "errors_key": key}


def _content(data: dict[str, Any]) -> bytes:
    upload = data.get("file")
    return upload.file.read() if isinstance(upload, UploadFile) else b""


# === the API =====================================================================================

@get("/api/census/villages", opt=READ, summary="各村文化户口与比对结果（人数）", sync_to_thread=True)
def villages_api(db: Session) -> list[VillageOut]:
    return [VillageOut.of(line) for line in service.village_lines(db)]


@get("/api/census/villages/{village_id:int}/children", opt=READ, summary="一个村的文化户口（身份证号已遮盖）",
     sync_to_thread=True)
def children_api(db: Session, village_id: int) -> list[ChildOut]:
    return [ChildOut.of(c, mask_id_number(c.id_number)) for c in service.village_children(db, village_id)]


@post("/api/census/villages/{village_id:int}/children", opt={**WRITE, "probe": {"name": "探针", "id_number": "x"}},
      summary="登记一名适龄儿童（文化户口）", status_code=201, sync_to_thread=True)
def add_child_api(db: Session, village_id: int, data: ChildIn) -> ChildOut:
    child = service.do_add_child(db, village_id, data.__dict__)
    return ChildOut.of(child, mask_id_number(child.id_number))


@delete("/api/census/children/{child_id:int}", opt={**WRITE, "probe": {}}, summary="删除一名儿童的文化户口登记",
        status_code=204, sync_to_thread=True)
def remove_child_api(db: Session, child_id: int) -> None:
    service.do_remove_child(db, child_id)


@post("/api/census/villages/{village_id:int}/import", opt={**IMPORT, "probe": "xlsx"},
      request_max_body_size=UPLOAD_BODY_LIMIT, summary="导入一个村的文化户口（.xlsx/.xls；全部无误才导入）",
      status_code=200, sync_to_thread=True)
def import_census_api(request: Request[Any, Any, Any], db: Session, village_id: int, data: UploadForm) -> Any:
    return _import_answer(request, db, "census", _content(data), village_id)


@post("/api/census/lists/register", opt={**IMPORT, "probe": "xlsx"}, request_max_body_size=UPLOAD_BODY_LIMIT,
      summary="导入户籍人口（派出所；.xlsx/.xls，全部无误才导入）", status_code=200, sync_to_thread=True)
def import_register_api(request: Request[Any, Any, Any], db: Session, data: UploadForm) -> Any:
    return _import_answer(request, db, "register", _content(data), None)


@post("/api/census/lists/poverty", opt={**IMPORT, "probe": "xlsx"}, request_max_body_size=UPLOAD_BODY_LIMIT,
      summary="导入脱贫户、低保户名单（财政、社会事务办；全部无误才导入）", status_code=200, sync_to_thread=True)
def import_poverty_api(request: Request[Any, Any, Any], db: Session, data: UploadForm) -> Any:
    return _import_answer(request, db, "poverty", _content(data), None)


def _import_answer(request: Request[Any, Any, Any], db: Session, kind: str, content: bytes,
                   village_id: int | None) -> Any:
    report, refused = _import(request, db, kind, content, village_id)
    if report is not None:
        return ImportOut.of(report)
    body = {"type": "https://baoxue.example/problems/422", "title": "提交的数据有误", "status": 422,
            "detail": refused["message"], "instance": request.url.path,
            "errors": [{"field": f"{p.column}{p.row}", "message": f"{p.field}：{p.reason}" if p.field else p.reason}
                       for p in refused["problems"]],
            "error_workbook": f"/api/census/errors?{urlencode({'list_kind': kind, 'key': refused['errors_key']})}"
                              if refused["errors_key"] else ""}
    return Response(content=body, status_code=422, media_type="application/problem+json")


@get("/api/census/findings", opt=READ, summary="最近一次四查三比对发现的问题", sync_to_thread=True)
def findings_api(db: Session, finding: str = "") -> list[FindingOut]:
    return [FindingOut(f.kind, FINDINGS[f.kind], f.name, f.village_id, f.school_id, f.student_id, f.case_id,
                       f.poverty) for f in service.findings(db, finding or None)]


@post("/api/census/reconcile", opt={**RECONCILE, "probe": {}}, summary="进行四查三比对（后台任务）", status_code=202,
      sync_to_thread=True)
def reconcile_api(db: Session) -> RunOut:
    run = service.do_request_reconcile(db)
    last = service.last_run(db)
    return RunOut(run.key, run.status, last.ran_at if last else None)


# === the pages ===================================================================================

@get("/census", opt=READ, include_in_schema=False, sync_to_thread=True)
def census_home(request: Request[Any, Any, Any], db: Session, finding: str = "") -> Response[Any]:
    """The township's view (villages, findings, lists); a village cadre goes to their village."""
    scope = actor_of(request).context().scope
    if scope is not None and scope.unit_kind == UnitKind.VILLAGE and scope.unit_id is not None:
        return Redirect(path=f"/census/villages/{scope.unit_id}", status_code=303)
    return page(request, "census/home.html", {
        "villages": service.village_lines(db), "run": service.last_run(db), "counts": service.list_counts(db),
        "findings": service.findings(db, finding or None), "finding": finding, "finding_labels": FINDINGS,
        "count_labels": COUNT_LABELS, "lists": [LAYOUTS[k] for k in service.lists_for(db) if k != "census"],
        "can_reconcile": actor_of(request).can(Permission.CENSUS_RECONCILE)})


def _village_page(request: Request[Any, Any, Any], db: Session, village_id: int, *, status: int = 200,
                  **more: Any) -> Template:
    village = access_census_village(db, village_id)
    return page(request, "census/village.html", {
        "village": village, "children": service.village_children(db, village_id),
        "findings": service.findings(db, village_id=village_id), "finding_labels": FINDINGS,
        "run": service.last_run(db), "layout": LAYOUTS["census"], "values": {}, "errors": {},
        "max_mb": service.UPLOAD_BYTES // (1024 * 1024), **more}, status=status)


@get("/census/villages/{village_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def village_page(request: Request[Any, Any, Any], db: Session, village_id: int) -> Template:
    return _village_page(request, db, village_id)


@post("/census/villages/{village_id:int}/children", opt={**WRITE, "probe": {"name": "探针", "id_number": "x"}},
      include_in_schema=False, sync_to_thread=True)
def add_child_page(request: Request[Any, Any, Any], db: Session, village_id: int, data: Form) -> Response[Any]:
    try:
        service.do_add_child(db, village_id, data)
    except InvalidInput as refused:
        return _village_page(request, db, village_id, status=400, values=data, errors=refused.errors)
    return saved(f"/census/villages/{village_id}")


@post("/census/children/{child_id:int}/delete", opt={**WRITE, "probe": {}}, include_in_schema=False,
      sync_to_thread=True)
def remove_child_page(db: Session, child_id: int) -> Redirect:
    village_id = access_census_child(db, child_id).village_id
    service.do_remove_child(db, child_id)
    return saved(f"/census/villages/{village_id}")


@post("/census/villages/{village_id:int}/import", opt={**IMPORT, "probe": "xlsx"},
      request_max_body_size=UPLOAD_BODY_LIMIT, include_in_schema=False, sync_to_thread=True)
def import_census_page(request: Request[Any, Any, Any], db: Session, village_id: int, data: UploadForm) -> Template:
    access_census_village(db, village_id)
    try:
        report, refused = _import(request, db, "census", _content(data), village_id)
    except InvalidInput as problem:
        return _village_page(request, db, village_id, status=400, message="；".join(problem.errors.values()))
    return _village_page(request, db, village_id, status=200 if report else 400, report=report, **refused)


@get("/census/lists", opt=IMPORT, include_in_schema=False, sync_to_thread=True)
def lists_page(request: Request[Any, Any, Any], db: Session) -> Template:
    """A department's (or the office's) page for the lists it keeps: the register, the poverty list."""
    return _lists_page(request, db)


def _lists_page(request: Request[Any, Any, Any], db: Session, *, status: int = 200, **more: Any) -> Template:
    kinds = [k for k in service.lists_for(db) if k != "census"]
    if not kinds:
        raise not_found()
    return page(request, "census/lists.html", {
        "lists": [LAYOUTS[k] for k in kinds], "counts": service.list_counts(db), "poverty_kinds": POVERTY_KINDS,
        "max_mb": service.UPLOAD_BYTES // (1024 * 1024), **more}, status=status)


def _import_list_page(request: Request[Any, Any, Any], db: Session, kind: str, data: dict[str, Any]) -> Template:
    try:
        report, refused = _import(request, db, kind, _content(data), None)
    except InvalidInput as problem:
        return _lists_page(request, db, status=400, message="；".join(problem.errors.values()), kind=kind)
    return _lists_page(request, db, status=200 if report else 400, report=report, kind=kind, **refused)


@post("/census/lists/register", opt={**IMPORT, "probe": "xlsx"}, request_max_body_size=UPLOAD_BODY_LIMIT,
      include_in_schema=False, sync_to_thread=True)
def import_register_page(request: Request[Any, Any, Any], db: Session, data: UploadForm) -> Template:
    return _import_list_page(request, db, "register", data)


@post("/census/lists/poverty", opt={**IMPORT, "probe": "xlsx"}, request_max_body_size=UPLOAD_BODY_LIMIT,
      include_in_schema=False, sync_to_thread=True)
def import_poverty_page(request: Request[Any, Any, Any], db: Session, data: UploadForm) -> Template:
    return _import_list_page(request, db, "poverty", data)


@get("/census/template", opt=IMPORT, include_in_schema=False, sync_to_thread=True)
def template_page(db: Session, list_kind: str = "census") -> Response[bytes]:
    if list_kind not in LAYOUTS or list_kind not in service.lists_for(db):
        raise not_found()
    return xlsx_download(service.list_template(list_kind), f"保学-{LAYOUTS[list_kind].title}导入模板.xlsx")


def _marked_file(request: Request[Any, Any, Any], db: Session, list_kind: str, key: str) -> Response[bytes]:
    """The clerk's own file back with each problem marked (a key of this list's kind only)."""
    if list_kind not in service.lists_for(db) or not key or f"/{_errors_kind(list_kind)}/" not in key:
        raise not_found()
    data = storage(request.app.state.settings).read(actor_of(request).township_id or 0, key)
    return xlsx_download(data, f"{LAYOUTS[list_kind].title}-问题-请修改后重新上传.xlsx")


@get("/census/errors", opt=IMPORT, include_in_schema=False, sync_to_thread=True)
def errors_page(request: Request[Any, Any, Any], db: Session, list_kind: str = "", key: str = "") -> Response[bytes]:
    return _marked_file(request, db, list_kind, key)


@get("/api/census/errors", opt=IMPORT, summary="下载导入被拒文件的标注版（xlsx）", sync_to_thread=True)
def errors_api(request: Request[Any, Any, Any], db: Session, list_kind: str = "", key: str = "") -> Response[bytes]:
    return _marked_file(request, db, list_kind, key)


@post("/census/reconcile", opt={**RECONCILE, "probe": {}}, include_in_schema=False, sync_to_thread=True)
def reconcile_page(db: Session) -> Redirect:
    service.do_request_reconcile(db)
    return saved("/census")


routes = [
    villages_api, children_api, add_child_api, remove_child_api, import_census_api, import_register_api,
    import_poverty_api, findings_api, reconcile_api, errors_api,
    census_home, village_page, add_child_page, remove_child_page, import_census_page, lists_page,
    import_register_page, import_poverty_page, template_page, errors_page, reconcile_page,
]

from baoxue.tenants.census.ledger_routes import routes as ledger_routes  # noqa: E402

routes += ledger_routes
