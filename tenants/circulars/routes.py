"""Circulars' API and pages. Thin: parse, call `service`, answer.

Everyone in the township reads the issued circulars; the office and the party-government office
draft, edit and issue (the service says who: `service.may_issue`). An issued circular refuses
every change with a 409 in Chinese. Its PDF download is audited.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post, put
from litestar.response import Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.errors import InvalidInput
from baoxue.platform.permissions import Permission
from baoxue.platform.resources import Form, saved
from baoxue.platform.templating import page
from baoxue.tenants.circulars import service
from baoxue.tenants.circulars.models import Circular
from baoxue.tenants.circulars.policy import ISSUED, access_circular
from baoxue.tenants.circulars.schemas import BehindOut, CircularChange, CircularIn, CircularOut, UnitOut

READ = requires(Permission.CIRCULAR_READ)
ISSUE = requires(Permission.CIRCULAR_ISSUE)
DRAFT_PROBE = {**ISSUE, "probe": {"title": "探针", "body": "探针"}}
CHANGE_PROBE = {**ISSUE, "probe": {"title": "探针", "body": "探针", "units": ["school:0"]}}
ISSUE_PROBE = {**ISSUE, "probe": {}}


def _settings(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.settings


def _out(db: Session, circular: Circular) -> CircularOut:
    units = service.units_of(db, [circular.id]).get(circular.id, [])
    return CircularOut(id=circular.id, state=circular.state, title=circular.title, body=circular.body,
                       number=circular.number, issuer=circular.issuer, drafted_by_name=circular.drafted_by_name,
                       issued_by_name=circular.issued_by_name, issued_at=circular.issued_at,
                       units=[UnitOut(u.unit_kind, u.unit_id, u.name, u.reason) for u in units])


def _pdf(data: bytes, filename: str) -> Response[bytes]:
    disposition = f"attachment; filename=\"circular.pdf\"; filename*=UTF-8''{quote(filename)}"
    return Response(content=data, media_type="application/pdf", headers={"Content-Disposition": disposition})


# --- API -------------------------------------------------------------------------------------------

@get("/api/circulars", opt=READ, summary="乡镇通报列表（已印发的；起草单位还可见本单位的草稿）", sync_to_thread=True)
def circulars_api(db: Session) -> list[CircularOut]:
    return [_out(db, c) for c in service.circulars(db)]


@get("/api/circulars/behind", opt=ISSUE, summary="目前工作滞后的单位（起草通报的依据：逾期事项、月报未报、指标超标）",
     sync_to_thread=True)
def behind_api(db: Session) -> list[BehindOut]:
    return [BehindOut(b.kind, b.id, b.name, b.reasons) for b in service.behind(db)]


@post("/api/circulars", opt=DRAFT_PROBE, status_code=201, sync_to_thread=True,
      summary="起草通报（标题、正文留空则按目前滞后的单位自动拟稿，并列出全部滞后单位）")
def draft_api(request: Request[Any, Any, Any], db: Session, data: CircularIn) -> CircularOut:
    return _out(db, service.do_draft_circular(db, actor_of(request), title=data.title, body=data.body))


@get("/api/circulars/{circular_id:int}", opt=READ, summary="一份通报", sync_to_thread=True)
def circular_api(db: Session, circular_id: int) -> CircularOut:
    return _out(db, access_circular(db, circular_id))


@put("/api/circulars/{circular_id:int}", opt=CHANGE_PROBE, sync_to_thread=True,
     summary="修改通报草稿：标题、正文、被通报单位（\"school:3\"、\"village:2\"、\"department:5\"）；已印发的不能修改（409）")
def change_api(request: Request[Any, Any, Any], db: Session, circular_id: int, data: CircularChange) -> CircularOut:
    circular = service.do_change_circular(db, actor_of(request), circular_id, title=data.title, body=data.body,
                                          units=data.units)
    return _out(db, circular)


@post("/api/circulars/{circular_id:int}/issue", opt=ISSUE_PROBE, status_code=200, sync_to_thread=True,
      summary="印发通报：取本乡镇本年度通报的下一个文号，生成 PDF，通知被通报单位；已印发的再次印发为 409")
def issue_api(request: Request[Any, Any, Any], db: Session, circular_id: int) -> CircularOut:
    return _out(db, service.do_issue_circular(db, actor_of(request), circular_id, settings=_settings(request)))


@get("/api/circulars/{circular_id:int}/pdf", opt={**READ, "download": "application/pdf"}, sync_to_thread=True,
     summary="下载通报 PDF（记入操作日志）")
def pdf_api(request: Request[Any, Any, Any], db: Session, circular_id: int) -> Response[bytes]:
    data, name = service.do_download_circular(db, access_circular(db, circular_id), _settings(request))
    return _pdf(data, name)


# --- pages -----------------------------------------------------------------------------------------

@get("/circulars", opt=READ, include_in_schema=False, sync_to_thread=True)
def list_page(request: Request[Any, Any, Any], db: Session) -> Template:
    found = service.circulars(db)
    return page(request, "circulars/list.html", {
        "circulars": found, "units": service.units_of(db, [c.id for c in found]),
        "may_issue": service.may_issue(actor_of(request))})


@post("/circulars", opt=DRAFT_PROBE, include_in_schema=False, sync_to_thread=True)
def draft_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    circular = service.do_draft_circular(db, actor_of(request), title=data.get("title", ""),
                                         body=data.get("body", ""))
    return saved(f"/circulars/{circular.id}")


def _circular_page(request: Request[Any, Any, Any], db: Session, circular_id: int, *, status: int = 200,
                   values: Any = None, errors: dict[str, str] | None = None) -> Template:
    circular = access_circular(db, circular_id)
    actor = actor_of(request)
    editable = circular.state != ISSUED and service.may_issue(actor)
    named = service.units_of(db, [circular.id]).get(circular.id, [])
    context: dict[str, Any] = {"circular": circular, "named": named, "editable": editable, "errors": errors or {},
                               "values": values or {}}
    if editable:
        found = {b.key: b for b in service.behind(db)}
        context["choices"] = [(u, found.get(u.key)) for u in service.all_units(db)]
        context["chosen"] = set(_ticked(values) if values is not None
                                else [f"{u.unit_kind}:{u.unit_id}" for u in named])
    return page(request, "circulars/circular.html", context, status=status)


def _ticked(data: Any) -> list[str]:
    """The form's ticked units: a checkbox `unit.school.3` = "1" names "school:3"."""
    return [key[5:].replace(".", ":", 1) for key, value in data.items() if key.startswith("unit.") and value == "1"]


@get("/circulars/{circular_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def circular_page(request: Request[Any, Any, Any], db: Session, circular_id: int) -> Template:
    return _circular_page(request, db, circular_id)


@post("/circulars/{circular_id:int}", opt=CHANGE_PROBE, include_in_schema=False, sync_to_thread=True)
def change_page(request: Request[Any, Any, Any], db: Session, circular_id: int, data: Form) -> Response[Any]:
    try:
        service.do_change_circular(db, actor_of(request), circular_id, title=data.get("title", ""),
                                   body=data.get("body", ""), units=_ticked(data))
    except InvalidInput as refused:
        return _circular_page(request, db, circular_id, status=400, values=data, errors=refused.errors)
    return saved(f"/circulars/{circular_id}")


@post("/circulars/{circular_id:int}/issue", opt=ISSUE_PROBE, include_in_schema=False, sync_to_thread=True)
def issue_page(request: Request[Any, Any, Any], db: Session, circular_id: int) -> Response[Any]:
    try:
        service.do_issue_circular(db, actor_of(request), circular_id, settings=_settings(request))
    except InvalidInput as refused:
        return _circular_page(request, db, circular_id, status=400, errors=refused.errors)
    return saved(f"/circulars/{circular_id}")


@get("/circulars/{circular_id:int}/pdf", opt=READ, include_in_schema=False, sync_to_thread=True)
def pdf_page(request: Request[Any, Any, Any], db: Session, circular_id: int) -> Response[bytes]:
    data, name = service.do_download_circular(db, access_circular(db, circular_id), _settings(request))
    return _pdf(data, name)


routes = [circulars_api, behind_api, draft_api, circular_api, change_api, issue_api, pdf_api, list_page, draft_page,
          circular_page, change_page, issue_page, pdf_page]
