"""Tasks' API and pages. Thin: parse, call `service`, answer.

A refused form is its page again with the errors (a 400, rolled back); a saved one a 303.
Which side may take a step is the service's to say (a 409 in Chinese otherwise).
"""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Request, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.response import Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.clock import clock
from baoxue.platform.errors import InvalidInput
from baoxue.platform.files import MAX_DOCUMENT_BYTES
from baoxue.platform.permissions import Permission
from baoxue.platform.resources import Form, attachment, base64_bytes, saved
from baoxue.platform.templating import page
from baoxue.tenants.tasks import service
from baoxue.tenants.tasks.flows import ACTION_LABELS, STEPS, WORKING, Evidence, Recurrence, Side, State
from baoxue.tenants.tasks.models import Task, TaskCopy, TaskTemplate
from baoxue.tenants.tasks.policy import access_copy, access_task, access_template
from baoxue.tenants.tasks.schemas import (CopyOut, EvidenceOut, RecordIn, StepIn, StepOut, TaskIn, TaskOut,
                                          TemplateIn, TemplateOut)

READ = requires(Permission.TASK_READ)
ASSIGN = requires(Permission.TASK_ASSIGN)
WORK = requires(Permission.TASK_WORK)
PROBE_DEADLINE = "2099-12-31"
ASSIGN_API_PROBE = {**ASSIGN, "probe": {"title": "探针", "deadline": PROBE_DEADLINE, "assignees": ["school:$school"]}}
ASSIGN_PAGE_PROBE = {**ASSIGN, "probe": {"title": "探针", "deadline": PROBE_DEADLINE, "assignees": "school:$school",
                                         "evidence": "note"}}
STEP_PROBE = {**READ, "probe": {"action": "progress", "note": "探针"}}
RECORD_PROBE = {**WORK, "probe": {"label": "探针", "href": "/tasks"}}
EVIDENCE_API_PROBE = {**WORK, "probe": {"name": "probe.pdf", "content": "JVBERi0="}}
EVIDENCE_PAGE_PROBE = {**WORK, "probe": {"label": "探针"}}
TEMPLATE_API_PROBE = {**ASSIGN, "probe": {"title": "探针", "recurrence": "monthly", "day_of_month": 1,
                                          "deadline_days": 5, "assignees": ["village:$village"]}}
TEMPLATE_PAGE_PROBE = {**ASSIGN, "probe": {"title": "探针", "recurrence": "monthly", "day_of_month": "1",
                                           "deadline_days": "5", "assignees": "village:$village", "evidence": "note"}}
PAGE_BODY_LIMIT = MAX_DOCUMENT_BYTES + 64 * 1024


def _settings(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.settings


def _copy_out(db: Session, task: Task, copy: TaskCopy, *, detail: bool = False) -> CopyOut:
    out = CopyOut(id=copy.id, task_id=task.id, title=task.title, assignee=copy.assignee,
                  assignee_name=copy.assignee_name, state=copy.state, state_label=State(copy.state).label,
                  deadline=task.deadline, overdue=service.Row(task, copy).overdue, progress=copy.progress,
                  note=copy.note, count_label=task.count_label, count_value=copy.count_value,
                  sent_back_reason=copy.sent_back_reason)
    if detail:
        out.evidence = [EvidenceOut(e.id, e.label, e.href, bool(e.file_key), e.added_by_name, e.added_at)
                        for e in service.evidence_of(db, [copy.id])[copy.id]]
        out.steps = [StepOut(s.number, s.action, s.state, s.note, s.actor_name, s.occurred_at)
                     for s in service.steps_of(db, copy)]
    return out


def _task_out(db: Session, task: Task) -> TaskOut:
    copies = service.copies_of(db, [task.id])[task.id]
    return TaskOut(id=task.id, title=task.title, instructions=task.instructions, evidence=list(task.evidence_kinds),
                   count_label=task.count_label, deadline=task.deadline, assigned_by_name=task.assigned_by_name,
                   source_label=task.source_label, period=task.period,
                   copies=[_copy_out(db, task, c) for c in copies])


def _template_out(t: TaskTemplate) -> TemplateOut:
    return TemplateOut(t.id, t.title, t.recurrence, t.day_of_month, t.deadline_days,
                       [k for k in t.assignees.split(",") if k], [e for e in t.evidence.split(",") if e],
                       t.count_label, t.active)


# --- API -------------------------------------------------------------------------------------------

@get("/api/tasks", opt=READ, summary="工作任务（乡镇：全部下达的；单位和个人：交给自己的）",
     description="`task_state` 可筛选：assigned、in_progress、submitted、sent_back、accepted；`overdue=1` 只看逾期。",
     sync_to_thread=True)
def tasks_api(db: Session, task_state: str = "", overdue: bool = False) -> list[CopyOut]:
    return [_copy_out(db, r.task, r.copy) for r in service.rows(db, state=task_state, overdue=overdue)]


@post("/api/tasks", opt=ASSIGN_API_PROBE, status_code=201, sync_to_thread=True,
      summary="下达任务（可一次交给多个单位或个人，每个接受方各有一份）",
      description="`assignees` 每项为 school:<id>、village:<id>、department:<id> 或 member:<任职 id>；"
                  "`evidence` 为 note（文字说明）、files（附件或记录）、count（数量，须给 count_label）的组合。")
def assign_api(request: Request[Any, Any, Any], db: Session, data: TaskIn) -> TaskOut:
    task = service.do_assign_task(db, actor_of(request), title=data.title, instructions=data.instructions,
                                  evidence=data.evidence, count_label=data.count_label, deadline=data.deadline,
                                  assignees=data.assignees)
    return _task_out(db, task)


@get("/api/tasks/{task_id:int}", opt=READ, summary="一项任务及各接受方的办理情况", sync_to_thread=True)
def task_api(db: Session, task_id: int) -> TaskOut:
    return _task_out(db, access_task(db, task_id))


@get("/api/tasks/copies/{copy_id:int}", opt=READ, summary="一个接受方的任务：进展、材料和办理经过",
     sync_to_thread=True)
def copy_api(db: Session, copy_id: int) -> CopyOut:
    copy = access_copy(db, copy_id)
    return _copy_out(db, access_task(db, copy.task_id), copy, detail=True)


@post("/api/tasks/copies/{copy_id:int}/steps", opt=STEP_PROBE, status_code=200, sync_to_thread=True,
      summary="办理任务：progress 报告进展、submit 提交（note、count_value）、accept 验收通过、send_back 退回（note 写理由）")
def step_api(request: Request[Any, Any, Any], db: Session, copy_id: int, data: StepIn) -> CopyOut:
    copy = service.do_task_step(db, actor_of(request), copy_id, data.action, data.note, data.count_value)
    return _copy_out(db, access_task(db, copy.task_id), copy, detail=True)


@post("/api/tasks/copies/{copy_id:int}/records", opt=RECORD_PROBE, status_code=201, sync_to_thread=True,
      summary="把平台上的一条记录（如会议记录）关联为任务的完成材料")
def record_api(request: Request[Any, Any, Any], db: Session, copy_id: int, data: RecordIn) -> EvidenceOut:
    e = service.do_attach_record(db, actor_of(request), copy_id, label=data.label, href=data.href)
    return EvidenceOut(e.id, e.label, e.href, False, e.added_by_name, e.added_at)


@post("/api/tasks/copies/{copy_id:int}/evidence", opt=EVIDENCE_API_PROBE, status_code=201, sync_to_thread=True,
      request_max_body_size=PAGE_BODY_LIMIT * 2, summary="上传任务的完成材料（PDF、JPG、PNG，base64，5 MB 以内）")
def evidence_api(request: Request[Any, Any, Any], db: Session, copy_id: int, data: dict[str, str]) -> EvidenceOut:
    content = base64_bytes(str(data.get("content", "")), "file")
    e = service.do_add_evidence_file(db, actor_of(request), copy_id, content, str(data.get("name", "")),
                                     _settings(request))
    return EvidenceOut(e.id, e.label, e.href, True, e.added_by_name, e.added_at)


@get("/api/tasks/copies/{copy_id:int}/evidence/{evidence_id:int}", opt=READ, sync_to_thread=True,
     summary="下载任务的完成材料（记入操作日志）")
def evidence_download_api(request: Request[Any, Any, Any], db: Session, copy_id: int,
                          evidence_id: int) -> Response[bytes]:
    data, media_type, name = service.do_download_evidence(db, copy_id, evidence_id, _settings(request))
    return attachment(data, name, media_type)


@get("/api/tasks/templates", opt=ASSIGN, summary="周期性任务模板", sync_to_thread=True)
def templates_api(db: Session) -> list[TemplateOut]:
    return [_template_out(t) for t in service.templates(db)]


def _template_values(data: TemplateIn) -> dict[str, Any]:
    return {"title": data.title, "instructions": data.instructions, "evidence": data.evidence,
            "count_label": data.count_label, "recurrence": data.recurrence, "day_of_month": data.day_of_month,
            "deadline_days": data.deadline_days, "assignees": data.assignees, "active": "1" if data.active else "0"}


@post("/api/tasks/templates", opt=TEMPLATE_API_PROBE, status_code=201, sync_to_thread=True,
      summary="新建周期性任务模板（每月某日，或每年三月、九月某日自动下达）")
def new_template_api(request: Request[Any, Any, Any], db: Session, data: TemplateIn) -> TemplateOut:
    return _template_out(service.do_save_template(db, actor_of(request), _template_values(data)))


@put("/api/tasks/templates/{template_id:int}", opt=TEMPLATE_API_PROBE, sync_to_thread=True,
     summary="修改周期性任务模板（只影响以后各期）")
def save_template_api(request: Request[Any, Any, Any], db: Session, template_id: int, data: TemplateIn) -> TemplateOut:
    return _template_out(service.do_save_template(db, actor_of(request), _template_values(data), template_id))


# --- pages -----------------------------------------------------------------------------------------

@get("/tasks", opt=READ, include_in_schema=False, sync_to_thread=True)
def list_page(request: Request[Any, Any, Any], db: Session, task_state: str = "", overdue: bool = False) -> Template:
    actor = actor_of(request)
    found = service.rows(db, state=task_state, overdue=overdue)
    return page(request, "tasks/list.html", {
        "rows": found, "state": task_state, "overdue": overdue, "states": list(State), "today": clock.today(),
        "counts": service.counts_by_state(db), "overdue_count": service.overdue_count(db),
        "assigner": actor.can(Permission.TASK_ASSIGN), "state_labels": {s.value: s.label for s in State}})


def _new_page(request: Request[Any, Any, Any], db: Session, *, status: int = 200, values: Any = None,
              errors: dict[str, str] | None = None) -> Template:
    return page(request, "tasks/new.html", {
        "choices": service.assignee_choices(db), "values": values or {}, "errors": errors or {},
        "evidence_kinds": list(Evidence), "today": clock.today(), "chosen": _chosen(values)}, status=status)


def _chosen(values: Any) -> set[str]:
    raw = (values or {}).get("assignees") or []
    return {raw} if isinstance(raw, str) else set(raw)


@get("/tasks/new", opt=ASSIGN, include_in_schema=False, sync_to_thread=True)
def new_page(request: Request[Any, Any, Any], db: Session) -> Template:
    return _new_page(request, db)


@post("/tasks", opt=ASSIGN_PAGE_PROBE, include_in_schema=False, sync_to_thread=True)
def assign_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    try:
        task = service.do_assign_task(
            db, actor_of(request), title=data.get("title", ""), instructions=data.get("instructions", ""),
            evidence=_many(data.get("evidence")), count_label=data.get("count_label", ""),
            deadline=data.get("deadline", ""), assignees=_many(data.get("assignees")))
    except InvalidInput as refused:
        return _new_page(request, db, status=400, values=data, errors=refused.errors)
    return saved(f"/tasks/{task.id}")


def _many(value: Any) -> list[str]:
    """A form's repeated field (ticked boxes): one value, a list, or nothing."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


@get("/tasks/{task_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def task_page(request: Request[Any, Any, Any], db: Session, task_id: int) -> Template:
    task = access_task(db, task_id)
    copies = service.copies_of(db, [task.id])[task.id]
    return page(request, "tasks/task.html", {
        "task": task, "rows": [service.Row(task, c) for c in copies], "state_labels": {s.value: s.label for s in State},
        "evidence_labels": {e.value: e.label for e in Evidence}})


def _copy_page(request: Request[Any, Any, Any], db: Session, copy_id: int, *, status: int = 200,
               errors: dict[str, str] | None = None, action: str = "", values: Any = None) -> Template:
    copy = access_copy(db, copy_id)
    task = access_task(db, copy.task_id)
    actor = actor_of(request)
    assignee = service.is_assignee(actor, copy)
    assigner = actor.can(Permission.TASK_ASSIGN) and not service.is_own_work(actor, copy) and not assignee
    sides = {Side.ASSIGNEE} if assignee else set()
    if assigner:
        sides.add(Side.ASSIGNER)
    actions = [s for s in STEPS.values() if s.side in sides and State(copy.state) in s.before]
    return page(request, "tasks/copy.html", {
        "task": task, "copy": copy, "row": service.Row(task, copy), "steps": service.steps_of(db, copy),
        "evidence": service.evidence_of(db, [copy.id])[copy.id], "actions": actions,
        "can_add": assignee and State(copy.state) in WORKING, "errors": errors or {},
        "failed_action": action, "values": values or {}, "evidence_labels": {e.value: e.label for e in Evidence},
        "action_labels": ACTION_LABELS, "max_mb": MAX_DOCUMENT_BYTES // (1024 * 1024)}, status=status)


@get("/tasks/copies/{copy_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def copy_page(request: Request[Any, Any, Any], db: Session, copy_id: int) -> Template:
    return _copy_page(request, db, copy_id)


@post("/tasks/copies/{copy_id:int}/steps", opt=STEP_PROBE, include_in_schema=False, sync_to_thread=True)
def step_page(request: Request[Any, Any, Any], db: Session, copy_id: int, data: Form) -> Response[Any]:
    try:
        service.do_task_step(db, actor_of(request), copy_id, data.get("action", ""), data.get("note", ""),
                             data.get("count_value"))
    except InvalidInput as refused:
        return _copy_page(request, db, copy_id, status=400, errors=refused.errors,
                          action=str(data.get("action", "")), values=data)
    return saved(f"/tasks/copies/{copy_id}")


@post("/tasks/copies/{copy_id:int}/evidence", opt=EVIDENCE_PAGE_PROBE, request_max_body_size=PAGE_BODY_LIMIT,
      include_in_schema=False)
async def evidence_page(request: Request[Any, Any, Any], db: Session, copy_id: int) -> Response[Any]:
    """The upload form: multipart from the page (read whatever encoding it comes in)."""
    form = await request.form()
    return await anyio.to_thread.run_sync(_add_evidence, request, db, copy_id, dict(form.items()))


def _add_evidence(request: Request[Any, Any, Any], db: Session, copy_id: int, data: dict[str, Any]) -> Response[Any]:
    upload = data.get("file")
    content, name = (upload.file.read(MAX_DOCUMENT_BYTES + 1), upload.filename) if (
        isinstance(upload, UploadFile) and upload.filename) else (None, "")
    try:
        service.do_add_evidence_file(db, actor_of(request), copy_id, content, name, _settings(request))
    except InvalidInput as refused:
        return _copy_page(request, db, copy_id, status=400, errors=refused.errors, action="evidence")
    return saved(f"/tasks/copies/{copy_id}")


@get("/tasks/copies/{copy_id:int}/evidence/{evidence_id:int}", opt=READ, include_in_schema=False,
     sync_to_thread=True)
def evidence_download_page(request: Request[Any, Any, Any], db: Session, copy_id: int,
                           evidence_id: int) -> Response[bytes]:
    data, media_type, name = service.do_download_evidence(db, copy_id, evidence_id, _settings(request))
    return attachment(data, name, media_type)


# --- recurring templates ------------------------------------------------------------------------------

def _templates_page(request: Request[Any, Any, Any], db: Session, *, template: TaskTemplate | None = None,
                    status: int = 200, values: Any = None, errors: dict[str, str] | None = None) -> Template:
    if values is None and template is not None:
        values = {"title": template.title, "instructions": template.instructions,
                  "evidence": template.evidence.split(","), "count_label": template.count_label,
                  "recurrence": template.recurrence, "day_of_month": template.day_of_month,
                  "deadline_days": template.deadline_days, "assignees": template.assignees.split(","),
                  "active": "1" if template.active else "0"}
    values = values or {"active": "1", "day_of_month": 1, "deadline_days": 10}
    return page(request, "tasks/templates.html", {
        "templates": service.templates(db), "template": template, "values": values, "errors": errors or {},
        "choices": service.assignee_choices(db), "chosen": _chosen(values),
        "chosen_evidence": set(_many(values.get("evidence"))), "evidence_kinds": list(Evidence),
        "recurrences": list(Recurrence)}, status=status)


@get("/tasks/templates", opt=ASSIGN, include_in_schema=False, sync_to_thread=True)
def templates_page(request: Request[Any, Any, Any], db: Session) -> Template:
    return _templates_page(request, db)


@get("/tasks/templates/{template_id:int}", opt=ASSIGN, include_in_schema=False, sync_to_thread=True)
def template_page(request: Request[Any, Any, Any], db: Session, template_id: int) -> Template:
    return _templates_page(request, db, template=access_template(db, template_id))


def _form_template(data: Form) -> dict[str, Any]:
    return {**data, "evidence": _many(data.get("evidence")), "assignees": _many(data.get("assignees")),
            "active": "1" if data.get("active") == "1" else "0"}


@post("/tasks/templates", opt=TEMPLATE_PAGE_PROBE, include_in_schema=False, sync_to_thread=True)
def new_template_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    values = _form_template(data)
    try:
        template = service.do_save_template(db, actor_of(request), values)
    except InvalidInput as refused:
        return _templates_page(request, db, status=400, values=values, errors=refused.errors)
    return saved(f"/tasks/templates/{template.id}")


@post("/tasks/templates/{template_id:int}", opt=TEMPLATE_PAGE_PROBE, include_in_schema=False, sync_to_thread=True)
def save_template_page(request: Request[Any, Any, Any], db: Session, template_id: int, data: Form) -> Response[Any]:
    values = _form_template(data)
    try:
        service.do_save_template(db, actor_of(request), values, template_id)
    except InvalidInput as refused:
        return _templates_page(request, db, template=access_template(db, template_id), status=400, values=values,
                               errors=refused.errors)
    return saved(f"/tasks/templates/{template_id}")


routes = [tasks_api, assign_api, task_api, copy_api, step_api, record_api, evidence_api, evidence_download_api,
          templates_api, new_template_api, save_template_api, list_page, new_page, assign_page, task_page,
          copy_page, step_page, evidence_page, evidence_download_page, templates_page, template_page,
          new_template_page, save_template_page]
