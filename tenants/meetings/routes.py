"""Meetings' API and pages. Thin: parse, call `service`, answer.

A unit records its own meetings and publicity (the record forms are multipart: photos); the
township reads them all and each school's count against the routine. The leading group prepares
its meeting (the agenda drawn by the service) and records a decision per item, with its task or
ticket in the same step. The API takes no photos (pages do).
"""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Request, Response, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.response import Template
from sqlalchemy.orm import Session

from baoxue.platform import photos as photo_files
from baoxue.platform.auth import actor_of, requires
from baoxue.platform.clock import clock
from baoxue.platform.errors import InvalidInput
from baoxue.platform.permissions import Permission, UnitKind
from baoxue.platform.resources import Form, form_int, saved
from baoxue.platform.templating import page
from baoxue.tenants.meetings import service
from baoxue.tenants.meetings.flows import KINDS, LEADING_GROUP, SOURCE_LABELS
from baoxue.tenants.meetings.models import Meeting
from baoxue.tenants.meetings.policy import access_meeting
from baoxue.tenants.meetings.schemas import DecisionIn, ItemOut, MeetingIn, MeetingOut, PrepareIn, RoutineOut

READ = requires(Permission.MEETING_READ)
WRITE = requires(Permission.MEETING_WRITE)
LEAD = requires(Permission.LEADING_GROUP)
RECORD = {"meeting_kind": "broadcast", "held_on": "2026-11-02", "place": "探针", "attendees": "探针",
          "minutes": "探针"}
RECORD_PROBE = {**WRITE, "probe": RECORD}
DELETE_PROBE = {**WRITE, "probe": {}}
PREPARE_PROBE = {**LEAD, "probe": {"held_on": "2026-11-02", "place": "探针"}}
DECIDE_PROBE = {**LEAD, "probe": {"item_id": 0, "decision": "探针"}}
PAGE_LIMIT = service.MAX_PHOTOS * photo_files.MAX_PHOTO_BYTES + 256 * 1024
_FIELDS = ("meeting_kind", "held_on", "place", "attendees", "agenda", "minutes")


def _settings(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.settings


def _out(db: Session, meeting: Meeting, *, detail: bool = False) -> MeetingOut:
    out = MeetingOut(id=meeting.id, meeting_kind=meeting.kind, kind_label=KINDS[meeting.kind].label,
                     unit_kind=meeting.unit_kind, unit_id=meeting.unit_id, held_on=meeting.held_on,
                     place=meeting.place, attendees=meeting.attendees, agenda=meeting.agenda, minutes=meeting.minutes,
                     photos=len(meeting.photos or []), task_copy_id=meeting.task_copy_id,
                     recorded_by_name=meeting.recorded_by_name, recorded_at=meeting.recorded_at)
    if detail and meeting.kind == LEADING_GROUP:
        items = service.items_of(db, [meeting.id]).get(meeting.id, [])
        status = service.follow_ups(db, items)
        out.items = [ItemOut(i.id, i.number, i.source_kind, i.source_id, i.text, i.href, i.decision, i.task_id,
                             i.referral_id, status[i.id].open,
                             "；".join(t for t in (status[i.id].task, status[i.id].ticket) if t)) for i in items]
    return out


def _values(data: MeetingIn) -> dict[str, Any]:
    return {"meeting_kind": data.meeting_kind, "held_on": data.held_on, "place": data.place,
            "attendees": data.attendees, "agenda": data.agenda, "minutes": data.minutes}


# --- API -------------------------------------------------------------------------------------------

@get("/api/meetings", opt=READ, summary="会议和宣传活动记录（本单位的；乡镇可见全部）",
     description="`meeting_kind` 可筛选类别。", sync_to_thread=True)
def meetings_api(db: Session, meeting_kind: str = "") -> list[MeetingOut]:
    return [_out(db, m) for m in service.meetings(db, kind=meeting_kind)]


@post("/api/meetings", opt=RECORD_PROBE, status_code=201, sync_to_thread=True,
      summary="登记本单位的会议或宣传活动（可选作为本单位一项未验收任务的完成材料）；照片请在页面上传")
def record_api(request: Request[Any, Any, Any], db: Session, data: MeetingIn) -> MeetingOut:
    meeting = service.do_record_meeting(db, actor_of(request), values=_values(data), task_copy_id=data.task_copy_id)
    return _out(db, meeting, detail=True)


@get("/api/meetings/routine", opt=READ, summary="各学校本学期会议次数与要求对照（行政会 3 次、教导处每月例会、活动月专题会）",
     sync_to_thread=True)
def routine_api(request: Request[Any, Any, Any], db: Session) -> list[RoutineOut]:
    return [RoutineOut(r.school_id, r.name, r.term, r.team_held, r.team_due, r.academic_months, r.academic_held,
                       r.activity_months, r.activity_held, r.complete) for r in service.routine_for(db, actor_of(request))]


@get("/api/meetings/{meeting_id:int}", opt=READ, summary="一条会议或宣传活动记录（领导小组会议含议题、决定及其落实情况）",
     sync_to_thread=True)
def meeting_api(db: Session, meeting_id: int) -> MeetingOut:
    return _out(db, access_meeting(db, meeting_id), detail=True)


@put("/api/meetings/{meeting_id:int}", opt=RECORD_PROBE, summary="修改本单位的会议或宣传活动记录", sync_to_thread=True)
def change_api(request: Request[Any, Any, Any], db: Session, meeting_id: int, data: MeetingIn) -> MeetingOut:
    meeting = service.do_change_meeting(db, actor_of(request), meeting_id, values=_values(data))
    return _out(db, meeting, detail=True)


@delete("/api/meetings/{meeting_id:int}", opt=DELETE_PROBE, status_code=204, sync_to_thread=True,
        summary="删除误登的记录（领导小组会议、已作为任务完成材料的记录不能删除，409）")
def delete_api(request: Request[Any, Any, Any], db: Session, meeting_id: int) -> None:
    service.do_delete_meeting(db, actor_of(request), meeting_id)


@post("/api/meetings/leading-group", opt=PREPARE_PROBE, status_code=201, sync_to_thread=True,
      summary="筹备领导小组会议：自动生成议题（上次会议未办结的决定、依法控辍个案、逾期转介单、工作滞后的单位、超标指标）")
def prepare_api(request: Request[Any, Any, Any], db: Session, data: PrepareIn) -> MeetingOut:
    meeting = service.do_prepare_meeting(db, actor_of(request), held_on=data.held_on, place=data.place,
                                         attendees=data.attendees)
    return _out(db, meeting, detail=True)


@post("/api/meetings/{meeting_id:int}/decisions", opt=DECIDE_PROBE, status_code=200, sync_to_thread=True,
      summary="记录领导小组会议对一个议题的决定，并可同时下达任务（task）、转介部门（ticket）")
def decide_api(request: Request[Any, Any, Any], db: Session, meeting_id: int, data: DecisionIn) -> MeetingOut:
    task = ({"title": data.task.title, "deadline": data.task.deadline, "assignees": data.task.assignees,
             "instructions": data.task.instructions, "evidence": data.task.evidence,
             "count_label": data.task.count_label} if data.task is not None else None)
    ticket = ({"kind": data.ticket.kind, "department_id": data.ticket.department_id, "reason": data.ticket.reason}
              if data.ticket is not None else None)
    service.do_decide_item(db, actor_of(request), meeting_id, data.item_id, decision=data.decision, task=task,
                           ticket=ticket)
    return _out(db, access_meeting(db, meeting_id), detail=True)


# --- pages: the list, a record ---------------------------------------------------------------------

def _unit_of(request: Request[Any, Any, Any]) -> UnitKind | None:
    m = actor_of(request).membership
    return m.unit_kind if m is not None else None


@get("/meetings", opt=READ, include_in_schema=False, sync_to_thread=True)
def list_page(request: Request[Any, Any, Any], db: Session, meeting_kind: str = "") -> Template:
    found = service.meetings(db, kind=meeting_kind)
    unit = _unit_of(request)
    routine = service.routine_for(db, actor_of(request))
    return page(request, "meetings/list.html", {
        "meetings": found, "names": service.unit_names(db, found), "kinds": KINDS, "kind": meeting_kind,
        "routine": routine, "school_view": unit == UnitKind.SCHOOL, "today": clock.today(),
        "can_lead": actor_of(request).can(Permission.LEADING_GROUP) and unit == UnitKind.TOWNSHIP})


def _form_page(request: Request[Any, Any, Any], db: Session, meeting: Meeting | None, *, status: int = 200,
               values: dict[str, Any] | None = None, errors: dict[str, str] | None = None) -> Template:
    unit = _unit_of(request)
    kinds = {c: k for c, k in KINDS.items() if unit in k.units and c != LEADING_GROUP}
    if meeting is not None and meeting.kind == LEADING_GROUP:
        kinds = {LEADING_GROUP: KINDS[LEADING_GROUP]}
    if values is None and meeting is not None:
        values = {"meeting_kind": meeting.kind, "held_on": meeting.held_on.isoformat(), "place": meeting.place,
                  "attendees": meeting.attendees, "agenda": meeting.agenda, "minutes": meeting.minutes}
    return page(request, "meetings/form.html", {
        "meeting": meeting, "kinds": kinds, "values": values or {"held_on": clock.today().isoformat()},
        "errors": errors or {}, "copies": service.open_copies(db, actor_of(request)) if meeting is None else [],
        "max_photos": service.MAX_PHOTOS}, status=status)


@get("/meetings/new", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def new_page(request: Request[Any, Any, Any], db: Session) -> Template:
    return _form_page(request, db, None)


def _uploads(form: Any) -> list[service.Upload]:
    found = []
    for value in form.getall("photos", []):
        if isinstance(value, UploadFile) and value.filename:
            found.append(service.Upload(value.file.read(photo_files.MAX_PHOTO_BYTES + 1), value.filename))
    return found


def _form_values(form: Any) -> dict[str, Any]:
    return {k: v for k in (*_FIELDS, "task_copy_id") if isinstance(v := form.get(k, ""), str)}


@post("/meetings", opt=RECORD_PROBE, request_max_body_size=PAGE_LIMIT, include_in_schema=False)
async def record_page(request: Request[Any, Any, Any], db: Session) -> Response[Any]:
    form = await request.form()
    return await anyio.to_thread.run_sync(_record, request, db, _form_values(form), _uploads(form))


def _record(request: Request[Any, Any, Any], db: Session, values: dict[str, Any],
            uploads: list[service.Upload]) -> Response[Any]:
    try:
        meeting = service.do_record_meeting(db, actor_of(request), values=values, photos=uploads,
                                            task_copy_id=form_int(values.get("task_copy_id")),
                                            settings=_settings(request))
    except InvalidInput as refused:
        return _form_page(request, db, None, status=400, values=values, errors=refused.errors)
    return saved(f"/meetings/{meeting.id}")


@get("/meetings/{meeting_id:int}/edit", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def edit_page(request: Request[Any, Any, Any], db: Session, meeting_id: int) -> Template:
    return _form_page(request, db, access_meeting(db, meeting_id, for_write=True))


@post("/meetings/{meeting_id:int}", opt=RECORD_PROBE, request_max_body_size=PAGE_LIMIT, include_in_schema=False)
async def change_page(request: Request[Any, Any, Any], db: Session, meeting_id: int) -> Response[Any]:
    form = await request.form()
    return await anyio.to_thread.run_sync(_change, request, db, meeting_id, _form_values(form), _uploads(form))


def _change(request: Request[Any, Any, Any], db: Session, meeting_id: int, values: dict[str, Any],
            uploads: list[service.Upload]) -> Response[Any]:
    try:
        service.do_change_meeting(db, actor_of(request), meeting_id, values=values, photos=uploads,
                                  settings=_settings(request))
    except InvalidInput as refused:
        meeting = access_meeting(db, meeting_id, for_write=True)
        return _form_page(request, db, meeting, status=400, values=values, errors=refused.errors)
    return saved(f"/meetings/{meeting_id}")


@post("/meetings/{meeting_id:int}/delete", opt=DELETE_PROBE, include_in_schema=False, sync_to_thread=True)
def delete_page(request: Request[Any, Any, Any], db: Session, meeting_id: int) -> Response[Any]:
    service.do_delete_meeting(db, actor_of(request), meeting_id)
    return saved("/meetings")


def _meeting_page(request: Request[Any, Any, Any], db: Session, meeting_id: int, *, status: int = 200,
                  errors: dict[str, str] | None = None, failed_item: int | None = None,
                  values: dict[str, Any] | None = None) -> Template:
    from baoxue.tenants.circulars.service import all_units
    from baoxue.tenants.referrals.service import routes_of

    meeting = access_meeting(db, meeting_id)
    actor = actor_of(request)
    items = service.items_of(db, [meeting.id]).get(meeting.id, []) if meeting.kind == LEADING_GROUP else []
    leading = meeting.kind == LEADING_GROUP and actor.can(Permission.LEADING_GROUP)
    context: dict[str, Any] = {
        "meeting": meeting, "kind": KINDS[meeting.kind], "names": service.unit_names(db, [meeting]), "items": items,
        "status": service.follow_ups(db, items) if items else {}, "sources": SOURCE_LABELS, "leading": leading,
        "may_write": (actor.can(Permission.LEADING_GROUP) if meeting.kind == LEADING_GROUP
                      else actor.can(Permission.MEETING_WRITE)) and _own(actor, meeting),
        "errors": errors or {}, "failed_item": failed_item, "values": values or {}, "today": clock.today()}
    if leading:
        routes = routes_of(db)
        units = all_units(db)
        context["units"] = units
        context["routes"] = routes
        context["departments"] = [(u.id, u.name) for u in units if u.kind == "department"]
    return page(request, "meetings/meeting.html", context, status=status)


def _own(actor: Any, meeting: Meeting) -> bool:
    m = actor.membership
    return m is not None and m.unit_kind.value == meeting.unit_kind and m.unit_id == meeting.unit_id


@get("/meetings/{meeting_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def meeting_page(request: Request[Any, Any, Any], db: Session, meeting_id: int) -> Template:
    return _meeting_page(request, db, meeting_id)


@get("/meetings/{meeting_id:int}/photo", opt=READ, include_in_schema=False, sync_to_thread=True)
def photo_page(request: Request[Any, Any, Any], db: Session, meeting_id: int, index: int = 0,
               small: bool = False) -> Response[bytes]:
    meeting = access_meeting(db, meeting_id)
    data = service.photo_bytes(meeting, index, small=small, settings=_settings(request))
    key = (meeting.photos or [])[index]["small_key" if small else "key"]
    return Response(content=data, media_type=photo_files.media_type(key), headers={"Content-Disposition": "inline"})


# --- pages: the leading group ---------------------------------------------------------------------

@post("/meetings/prepare", opt=PREPARE_PROBE, include_in_schema=False, sync_to_thread=True)
def prepare_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    try:
        meeting = service.do_prepare_meeting(db, actor_of(request), held_on=data.get("held_on", ""),
                                             place=data.get("place", ""), attendees=data.get("attendees", ""))
    except InvalidInput as refused:
        found = service.meetings(db)
        return page(request, "meetings/list.html", {
            "meetings": found, "names": service.unit_names(db, found), "kinds": KINDS, "kind": "",
            "routine": service.routine_for(db, actor_of(request)), "school_view": False, "today": clock.today(), "can_lead": True,
            "errors": refused.errors, "values": data}, status=400)
    return saved(f"/meetings/{meeting.id}")


def _ticked(data: Any, prefix: str) -> list[str]:
    """Checkboxes `<prefix>school.3` = "1" name "school:3"."""
    return [key[len(prefix):].replace(".", ":", 1) for key, value in data.items()
            if key.startswith(prefix) and value == "1"]


@post("/meetings/{meeting_id:int}/decisions", opt=DECIDE_PROBE, include_in_schema=False, sync_to_thread=True)
def decide_page(request: Request[Any, Any, Any], db: Session, meeting_id: int, data: Form) -> Response[Any]:
    item_id = form_int(data.get("item_id"))
    task = {"title": data.get("task_title", ""), "deadline": data.get("task_deadline", ""),
            "assignees": _ticked(data, "task_assignee."), "instructions": data.get("task_instructions", ""),
            "evidence": [e for e in ("note", "files", "count") if data.get(f"task_evidence.{e}") == "1"] or ["note"],
            "count_label": data.get("task_count_label", "")}
    ticket = {"kind": data.get("ticket_kind", ""), "department_id": form_int(data.get("ticket_department_id")),
              "reason": data.get("ticket_reason", "")}
    try:
        service.do_decide_item(db, actor_of(request), meeting_id, item_id, decision=data.get("decision", ""),
                               task=task, ticket=ticket)
    except InvalidInput as refused:
        return _meeting_page(request, db, meeting_id, status=400, errors=refused.errors, failed_item=item_id,
                             values=data)
    return saved(f"/meetings/{meeting_id}")


routes = [meetings_api, record_api, routine_api, meeting_api, change_api, delete_api, prepare_api, decide_api,
          list_page, new_page, record_page, edit_page, change_page, delete_page, meeting_page, photo_page,
          prepare_page, decide_page]
