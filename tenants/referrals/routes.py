"""Referral tickets' API and pages. Thin: parse, call `service`, answer.

A refused form is its page again with the errors (a 400, rolled back); a saved one a 303 to the
ticket. Which side may take a step is the service's to say (a 409 in Chinese otherwise).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post, put
from litestar.response import Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.clock import clock
from baoxue.platform.errors import InvalidInput
from baoxue.platform.permissions import DutyCode, Permission, UnitKind
from baoxue.platform.resources import Form, form_int, saved
from baoxue.platform.templating import page
from baoxue.tenants.cases.policy import access_case
from baoxue.tenants.referrals import service
from baoxue.tenants.referrals.flows import OPEN_STATES, STEPS, Side, State
from baoxue.tenants.referrals.models import Referral
from baoxue.tenants.referrals.policy import access_referral
from baoxue.tenants.referrals.schemas import ChildOut, ReferralIn, ReferralOut, RouteIn, RouteOut, StepIn, StepOut

READ = requires(Permission.REFERRAL_READ)
OPEN = requires(Permission.REFERRAL_OPEN)
OPEN_PROBE = {**OPEN, "probe": {"kind": "poverty", "department_id": "$department", "reason": "探针",
                                "case_id": "$case"}}
STEP_PROBE = {**READ, "probe": {"action": "accept", "note": "探针"}}


def _out(db: Session, actor: Any, ticket: Referral, *, detail: bool = False, child: Any = None) -> ReferralOut:
    routes = service.routes_of(db)
    names = service.department_names(db, {ticket.department_id})
    out = ReferralOut(
        id=ticket.id, number=ticket.number, kind=ticket.kind,
        kind_label=routes[ticket.kind].label if ticket.kind in routes else ticket.kind,
        department=names.get(ticket.department_id, ""), subject=service.subject_for(actor, ticket), state=ticket.state,
        state_label=State(ticket.state).label, referrer_name=ticket.referrer_name, respond_by=ticket.respond_by,
        resolve_by=ticket.resolve_by, opened_at=ticket.opened_at, outcome=ticket.outcome, reason=ticket.reason)
    if detail:
        out.child = ChildOut(child.name, child.age, child.village, child.id_number, child.family) if child else None
        out.steps = [StepOut(s.number, s.action, s.state, s.note, s.actor_name, s.occurred_at)
                     for s in service.steps_of(db, ticket)]
    return out


# --- API -------------------------------------------------------------------------------------------

@get("/api/referrals", opt=READ, summary="转介单列表（部门：收到的；学校、村、乡镇：转出的和本单位个案的）",
     description="`ticket_state` 可筛选：opened、accepted、in_progress、resolved、closed、returned、withdrawn。",
     sync_to_thread=True)
def referrals_api(request: Request[Any, Any, Any], db: Session, ticket_state: str = "") -> list[ReferralOut]:
    actor = actor_of(request)
    return [_out(db, actor, t) for t in service.tickets(db, state=ticket_state)]


@post("/api/referrals", opt=OPEN_PROBE, summary="转介部门（开转介单）", status_code=201, sync_to_thread=True)
def open_api(request: Request[Any, Any, Any], db: Session, data: ReferralIn) -> ReferralOut:
    ticket = service.do_open_referral(
        db, actor_of(request), kind=data.kind, department_id=data.department_id, reason=data.reason,
        case_id=data.case_id, subject=data.subject, grant_family=data.grant_family, grant_photos=data.grant_photos)
    return _out(db, actor_of(request), ticket, detail=True)


@get("/api/referrals/{referral_id:int}", opt=READ,
     summary="一张转介单及其办理经过（部门在办理期间可见学生的必要信息，每次查看记入操作日志）", sync_to_thread=True)
def referral_api(request: Request[Any, Any, Any], db: Session, referral_id: int) -> ReferralOut:
    ticket, actor = access_referral(db, referral_id), actor_of(request)
    return _out(db, actor, ticket, detail=True, child=service.need_to_know(db, actor, ticket))


@post("/api/referrals/{referral_id:int}/steps", opt=STEP_PROBE,
      summary="办理转介单：accept 受理、return 退回、start 开始办理、resolve 办结（note 写办理结果）、"
              "close 确认关闭、reopen 重新办理、withdraw 撤回", status_code=200, sync_to_thread=True)
def step_api(request: Request[Any, Any, Any], db: Session, referral_id: int, data: StepIn) -> ReferralOut:
    actor = actor_of(request)
    ticket = service.do_referral_step(db, actor, referral_id, data.action, data.note)
    return _out(db, actor, ticket, detail=True)


# --- pages -----------------------------------------------------------------------------------------

@get("/referrals", opt=READ, include_in_schema=False, sync_to_thread=True)
def list_page(request: Request[Any, Any, Any], db: Session, ticket_state: str = "") -> Template:
    found, actor = service.tickets(db, state=ticket_state), actor_of(request)
    return page(request, "referrals/list.html", {
        "tickets": found, "subjects": {t.id: service.subject_for(actor, t) for t in found}, "state": ticket_state, "states": list(State), "today": clock.today(),
        "state_labels": {s.value: s.label for s in State},
        "departments": service.department_names(db, {t.department_id for t in found}),
        "department_view": _is_department(request)})


def _is_department(request: Request[Any, Any, Any]) -> bool:
    m = actor_of(request).membership
    return m is not None and m.unit_kind == UnitKind.DEPARTMENT


def _new_page(request: Request[Any, Any, Any], db: Session, case_id: int | None, *, status: int = 200,
              values: Any = None, errors: dict[str, str] | None = None) -> Template:
    case = access_case(db, case_id) if case_id is not None else None
    routes = service.routes_of(db)
    return page(request, "referrals/new.html", {
        "case": case, "routes": routes, "values": values or {}, "errors": errors or {},
        "choices": {kind: service.departments_for(db, route) for kind, route in routes.items()}}, status=status)


@get("/referrals/new", opt=OPEN, include_in_schema=False, sync_to_thread=True)
def new_page(request: Request[Any, Any, Any], db: Session, case_id: int | None = None) -> Template:
    return _new_page(request, db, case_id)


@post("/referrals", opt=OPEN_PROBE, include_in_schema=False, sync_to_thread=True)
def open_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    case_id = form_int(data.get("case_id"))
    try:
        ticket = service.do_open_referral(
            db, actor_of(request), kind=data.get("kind", ""), department_id=data.get("department_id"),
            reason=data.get("reason", ""), case_id=case_id, subject=data.get("subject", ""),
            grant_family=data.get("grant_family") == "1", grant_photos=data.get("grant_photos") == "1")
    except InvalidInput as refused:
        return _new_page(request, db, case_id, status=400, values=data, errors=refused.errors)
    return saved(f"/referrals/{ticket.id}")


@get("/referrals/{referral_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def ticket_page(request: Request[Any, Any, Any], db: Session, referral_id: int) -> Template:
    return _ticket_page(request, db, referral_id)


def _ticket_page(request: Request[Any, Any, Any], db: Session, referral_id: int, *, status: int = 200,
                 errors: dict[str, str] | None = None, action: str = "") -> Template:
    ticket = access_referral(db, referral_id)
    actor = actor_of(request)
    department = _is_department(request)
    side = Side.DEPARTMENT if department else Side.REFERRER
    can_act = actor.can(Permission.REFERRAL_HANDLE if department else Permission.REFERRAL_OPEN)
    steps = [s for s in STEPS.values() if s.side == side and State(ticket.state) in s.before] if can_act else []
    return page(request, "referrals/ticket.html", {
        "ticket": ticket, "out": _out(db, actor, ticket), "child": service.need_to_know(db, actor, ticket),
        "photos": service.granted_photos(db, actor, ticket),
        "steps": service.steps_of(db, ticket), "actions": steps, "department_view": department,
        "open": State(ticket.state) in OPEN_STATES, "errors": errors or {}, "failed_action": action,
        "action_labels": {"open": "开转介单", **{a: s.label for a, s in STEPS.items()}}}, status=status)


@get("/referrals/{referral_id:int}/photos/{photo_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def granted_photo_page(request: Request[Any, Any, Any], db: Session, referral_id: int, photo_id: int) -> Response[bytes]:
    """A photo of the case, for the department the referrer let see it, while the ticket is open."""
    data = service.do_view_granted_photo(db, actor_of(request), access_referral(db, referral_id), photo_id,
                                         request.app.state.settings)
    return Response(content=data, media_type="image/jpeg", headers={"Content-Disposition": "inline"})


@post("/referrals/{referral_id:int}/steps", opt=STEP_PROBE, include_in_schema=False, sync_to_thread=True)
def step_page(request: Request[Any, Any, Any], db: Session, referral_id: int, data: Form) -> Response[Any]:
    try:
        service.do_referral_step(db, actor_of(request), referral_id, data.get("action", ""), data.get("note", ""))
    except InvalidInput as refused:
        return _ticket_page(request, db, referral_id, status=400, errors=refused.errors,
                            action=str(data.get("action", "")))
    return saved(f"/referrals/{referral_id}")


# --- the routing table ------------------------------------------------------------------------------

ROUTES_WRITE = requires(Permission.REFERRAL_ROUTES)


def _routes_out(db: Session) -> list[RouteOut]:
    return [RouteOut(r.kind, r.label, [d.value for d in r.duties], r.respond_days, r.resolve_days)
            for r in service.routes_of(db).values()]


@get("/api/referrals/routes", opt=READ, summary="转介分工表：每类事项的接收部门（职责）与受理、办结期限（天）",
     sync_to_thread=True)
def routes_api(db: Session) -> list[RouteOut]:
    return _routes_out(db)


@put("/api/referrals/routes", opt={**ROUTES_WRITE, "probe": {"poverty": {"duties": ["finance"], "respond_days": 3,
                                                                          "resolve_days": 15}}},
     summary="修改转介分工表（只改给出的事项；每项须有接收部门，期限 1—60 天）", sync_to_thread=True)
def save_routes_api(db: Session, data: dict[str, RouteIn]) -> list[RouteOut]:
    current = {r.kind: r for r in _routes_out(db)}
    values: dict[str, Any] = {}
    for kind, route in current.items():
        given = data.get(kind)
        values[f"{kind}.duties"] = given.duties if given is not None else route.duties
        values[f"{kind}.respond_days"] = given.respond_days if given is not None else route.respond_days
        values[f"{kind}.resolve_days"] = given.resolve_days if given is not None else route.resolve_days
    service.do_save_routes(db, values)
    return _routes_out(db)


def _routes_page(request: Request[Any, Any, Any], db: Session, *, status: int = 200,
                 errors: dict[str, str] | None = None) -> Template:
    return page(request, "referrals/routes.html", {"routes": service.routes_of(db), "duties": list(DutyCode),
                                                   "errors": errors or {}}, status=status)


@get("/referrals/routes", opt=READ, include_in_schema=False, sync_to_thread=True)
def routes_page(request: Request[Any, Any, Any], db: Session) -> Template:
    return _routes_page(request, db)


@post("/referrals/routes", opt={**ROUTES_WRITE, "probe": {"poverty.duty.finance": "1", "poverty.respond_days": "3",
                                                          "poverty.resolve_days": "15"}},
      include_in_schema=False, sync_to_thread=True)
def save_routes_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    values: dict[str, Any] = {}
    for kind, route in service.routes_of(db).items():
        # Ticked boxes keep the order the table had (its first is the usual department), new ones after.
        ticked = [d for d in DutyCode if data.get(f"{kind}.duty.{d.value}") == "1"]
        values[f"{kind}.duties"] = [d.value for d in sorted(ticked, key=lambda d: (
            route.duties.index(d) if d in route.duties else len(route.duties)))]
        for name in ("respond_days", "resolve_days"):
            values[f"{kind}.{name}"] = data.get(f"{kind}.{name}", "")
    try:
        service.do_save_routes(db, values)
    except InvalidInput as refused:
        return _routes_page(request, db, status=400, errors=refused.errors)
    return saved("/referrals/routes")


routes = [referrals_api, open_api, routes_api, save_routes_api, referral_api, step_api, list_page, new_page, open_page,
          routes_page, save_routes_page, ticket_page, granted_photo_page, step_page]
