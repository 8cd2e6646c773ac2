"""Tasks: assign them, work them, accept them; recurring templates; the reads the pages need.

`do_assign_task` gives one task to many assignees, each its own `TaskCopy`. `do_task_step`
takes one step of flows.STEPS by the side it belongs to; evidence is added by
`do_add_evidence_file` (an upload) or `do_attach_record` (another concept's record, such as a
meeting's minutes). Every step is a `TaskStep`, the worklist's items of the copy (the assignee's
work by the deadline; the assigner's review; the assigner's follow-up once it is overdue), a
notification to the other side and an audit row. `create_recurring` makes each active
template's task of the period that has begun, once (the period is unique with the template).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import PurePath
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import clock
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import Conflict, InvalidInput, not_found
from baoxue.platform.files import document_media_type, document_problem, storage
from baoxue.platform.identity import JobActor
from baoxue.platform.permissions import CLASS_BOUND_ROLES, ROLE_LABELS, Permission, Role, UnitKind
from baoxue.platform.scoping import consequences
from baoxue.platform.settings import Settings, get_settings
from baoxue.platform.text import field_date, field_text
from baoxue.tenants.tasks.events import Event
from baoxue.tenants.tasks.flows import STATE_LABELS, STEPS, WORKING, Evidence, Recurrence, Side, State
from baoxue.tenants.tasks.models import Task, TaskCopy, TaskEvidence, TaskStep, TaskTemplate
from baoxue.tenants.tasks.policy import access_copy, access_template
from baoxue.tenants.tenancy.models import Department, Membership, School, User, Village
from baoxue.tenants.worklist.service import Due, Owner, reconcile

SUBJECT = "task_copies"  # what the worklist's items name as their record
EVIDENCE_KIND = "task_evidence"  # the files' folder
MAX_TEXT = 2000
ASSIGNEE_KEY = re.compile(r"(school|village|department|member):[0-9]{1,18}")
MAX_ASSIGNEES = 200
MAX_DAYS_AHEAD = 366  # a deadline more than a year away is a typing slip
REVIEW_DAYS = 3  # the assigner accepts or sends back within this many days
REMIND_DAYS = 3  # the assignee is reminded this many days before the deadline
# Who in a unit answers for the unit's copy (whose worklist it is on).
UNIT_OWNER_ROLE = {UnitKind.SCHOOL: Role.PRINCIPAL.value, UnitKind.VILLAGE: Role.VILLAGE_CADRE.value,
                   UnitKind.DEPARTMENT: ""}


# --- who a task can go to ------------------------------------------------------------------------

@dataclass(frozen=True)
class Assignee:
    key: str  # "school:3", "member:9"
    unit_kind: UnitKind
    unit_id: int | None
    membership_id: int | None
    name: str


def assignee_choices(session: Session) -> dict[str, list[Assignee]]:
    """Every unit and person of the township a task can go to, by kind (four queries)."""
    schools = [Assignee(f"school:{i}", UnitKind.SCHOOL, i, None, n)
               for i, n in session.execute(select(School.id, School.name).order_by(School.id))]
    villages = [Assignee(f"village:{i}", UnitKind.VILLAGE, i, None, n)
                for i, n in session.execute(select(Village.id, Village.name).order_by(Village.id))]
    departments = [Assignee(f"department:{i}", UnitKind.DEPARTMENT, i, None, n)
                   for i, n in session.execute(select(Department.id, Department.name).order_by(Department.id))]
    unit_names = {(a.unit_kind, a.unit_id): a.name for a in schools + villages + departments}
    members = []
    for m, display_name in session.execute(select(Membership, User.display_name).join(User, User.id == Membership.user_id)
                                           .where(Membership.is_active.is_(True)).order_by(Membership.id)):
        role = Role(m.role)
        if role in (Role.SYSTEM_ADMIN, Role.COUNTY_VIEWER):
            continue
        unit_kind = role.unit_kind
        unit = unit_names.get((unit_kind, m.unit_id), "")
        members.append(Assignee(f"member:{m.id}", unit_kind, m.unit_id, m.id,
                                f"{display_name}（{unit}{ROLE_LABELS[role]}）"[:64]))
    return {"school": schools, "village": villages, "department": departments, "member": members}


def _resolve_assignees(session: Session, keys: Iterable[Any], errors: dict[str, str]) -> list[Assignee]:
    wanted = list(dict.fromkeys(str(k).strip() for k in keys if str(k).strip()))
    if not wanted:
        errors["assignees"] = "请至少选择一个接受任务的单位或个人。"
        return []
    if len(wanted) > MAX_ASSIGNEES:
        errors["assignees"] = f"一次最多下达给 {MAX_ASSIGNEES} 个单位或个人。"
        return []
    malformed = [k for k in wanted if not ASSIGNEE_KEY.fullmatch(k)]
    if malformed:
        errors["assignees"] = "接受任务的单位或个人应写作 school:编号、village:编号、department:编号 或 member:编号。"
        return []
    known = {a.key: a for group in assignee_choices(session).values() for a in group}
    if any(k not in known for k in wanted):
        raise not_found()  # another township's unit, or no such one: "not yours" is a 404
    return [known[k] for k in wanted]


# --- assigning -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskText:
    title: str
    instructions: str
    evidence: str  # comma-separated flows.Evidence
    count_label: str


def _task_text(values: Mapping[str, Any], errors: dict[str, str]) -> TaskText:
    title = field_text(values.get("title"), errors, "title", label="任务名称", max_length=120)
    instructions = field_text(values.get("instructions"), errors, "instructions", label="任务要求",
                              max_length=MAX_TEXT, required=False, multiline=True)
    raw = values.get("evidence") or []
    kinds = [str(k).strip() for k in ([raw] if isinstance(raw, str) else raw) if str(k).strip()]
    if any(k not in Evidence.__members__.values() for k in kinds):
        errors["evidence"] = "完成材料只能是：文字说明、附件或记录、数量。"
    elif not kinds:
        errors["evidence"] = "请选择完成任务需要提交的材料（文字说明、附件或记录、数量）。"
    count_label = field_text(values.get("count_label"), errors, "count_label", label="数量的名称", max_length=40,
                             required=Evidence.COUNT.value in kinds)
    ordered = [e.value for e in Evidence if e.value in kinds]
    return TaskText(title, instructions, ",".join(ordered), count_label if Evidence.COUNT.value in kinds else "")


def do_assign_task(session: Session, actor: Any, *, title: str, instructions: str = "", evidence: Iterable[str] = ("note",),
                   count_label: str = "", deadline: Any, assignees: Iterable[Any], source_label: str = "",
                   source_href: str = "") -> Task:
    """Give a task to every assignee (each gets its own copy); validated whole before anything is written."""
    _require_assigner(actor)
    errors: dict[str, str] = {}
    text = _task_text({"title": title, "instructions": instructions, "evidence": list(evidence),
                       "count_label": count_label}, errors)
    due = _deadline(deadline, errors)
    chosen = _resolve_assignees(session, assignees, errors)
    if errors:
        raise InvalidInput(errors)
    assert due is not None
    task = _create(session, actor, text, due, chosen, source_label=source_label[:120], source_href=source_href[:200])
    audit.record(session, Event.ASSIGNED, entity=task, changes={
        "title": task.title, "deadline": task.deadline.isoformat(), "assignees": [a.name for a in chosen]})
    return task


def is_assigner(actor: Any) -> bool:
    m = actor.membership
    return m is not None and m.unit_kind == UnitKind.TOWNSHIP and actor.can(Permission.TASK_ASSIGN)


def _require_assigner(actor: Any) -> None:
    if not is_assigner(actor):
        raise not_found()


def _deadline(value: Any, errors: dict[str, str]) -> date | None:
    due = field_date(value, errors, "deadline", label="截止日期", required=True)
    if due is None:
        return None
    today = clock.today()
    if due < today:
        errors["deadline"] = f"截止日期不能早于今天（{today:%Y年%m月%d日}）。"
    elif due > today + timedelta(days=MAX_DAYS_AHEAD):
        errors["deadline"] = "截止日期不能在一年以后，请检查年份。"
    return due


def _create(session: Session, actor: Any, text: TaskText, deadline: date, chosen: list[Assignee], *,
            template: TaskTemplate | None = None, period: str | None = None, source_label: str = "",
            source_href: str = "") -> Task:
    now = clock.now()
    task = Task(township_id=tenant_of(session).township_id, title=text.title, instructions=text.instructions,
                evidence=text.evidence, count_label=text.count_label, deadline=deadline,
                assigned_by_user_id=actor.user_id, assigned_by_name=actor.signed_as,
                assigned_by_membership_id=actor.membership.id if actor.membership is not None else (
                    template.created_by_membership_id if template is not None else None),
                template_id=template.id if template is not None else None, period=period,
                source_label=source_label, source_href=source_href, created_at=now)
    session.add(task)
    session.flush()
    copies = [TaskCopy(township_id=task.township_id, task_id=task.id, assignee=a.key, unit_kind=a.unit_kind.value,
                       unit_id=a.unit_id, membership_id=a.membership_id, assignee_name=a.name,
                       state=State.ASSIGNED.value) for a in chosen]
    session.add_all(copies)
    session.flush()
    with consequences(session):  # the copies' steps, items and notices are on the assignees' side
        for copy in copies:
            _record_step(session, actor, task, copy, "assign", text.instructions[:200])
    return task


def copies_of(session: Session, task_ids: Iterable[int]) -> dict[int, list[TaskCopy]]:
    """The copies of these tasks the reader's scope holds, by task (one query)."""
    ids = sorted(set(task_ids))
    found: dict[int, list[TaskCopy]] = {i: [] for i in ids}
    if ids:
        for copy in session.scalars(select(TaskCopy).where(TaskCopy.task_id.in_(ids)).order_by(TaskCopy.id)):
            found[copy.task_id].append(copy)
    return found


# --- working a copy ----------------------------------------------------------------------------------

def do_task_step(session: Session, actor: Any, copy_id: int, action: str, note: str = "",
                 count_value: Any = None) -> TaskCopy:
    """One step of the copy's life, by the side it belongs to (flows.STEPS)."""
    copy = access_copy(session, copy_id, for_write=True)
    task = session.get(Task, copy.task_id)
    assert task is not None
    step = STEPS.get(str(action or "").strip())
    if step is None:
        raise InvalidInput({"action": "请选择要办理的操作。"})
    if step.side == Side.ASSIGNEE and not is_assignee(actor, copy):
        raise Conflict(detail=f"只有接受任务的单位或个人可以{step.label}。")
    if step.side == Side.ASSIGNER:
        if not is_assigner(actor):
            raise Conflict(detail=f"只有领导小组及其办公室可以{step.label}。")
        if is_own_work(actor, copy):
            raise Conflict(detail="不能验收自己完成的任务，请由领导小组办公室的其他人员验收。")
    current = State(copy.state)
    if current not in step.before:
        raise Conflict(detail=f"任务现在是“{current.label}”，不能{step.label}。")
    errors: dict[str, str] = {}
    note = field_text(note, errors, "note", label="说明" if step.action != "submit" else "完成情况说明",
                      max_length=MAX_TEXT, required=bool(step.needs_note), multiline=True)
    if step.needs_note and "note" in errors and not note:
        errors["note"] = step.needs_note
    count: int | None = None
    if step.action == "submit":
        count = _submission_problems(session, task, copy, note, count_value, errors)
    if errors:
        raise InvalidInput(errors)
    before = {"state": copy.state}
    now = clock.now()
    copy.state = step.after.value
    if step.action == "progress":
        copy.progress = note
    elif step.action == "submit":
        copy.note, copy.count_value = note, count
        copy.submitted_by_user_id, copy.submitted_at, copy.sent_back_reason = actor.user_id, now, ""
    elif step.action == "accept":
        copy.accepted_at = now
    elif step.action == "send_back":
        copy.sent_back_reason = note
    session.flush()
    with consequences(session):  # the assigner's items and notices sit on the township's side
        _record_step(session, actor, task, copy, step.action, note)
    audit.record(session, Event.STEP, entity=copy, changes={**audit.diff(before, {"state": copy.state}),
                                                            "action": step.action, "task_id": task.id})
    return copy


def _submission_problems(session: Session, task: Task, copy: TaskCopy, note: str, count_value: Any,
                         errors: dict[str, str]) -> int | None:
    kinds = task.evidence_kinds
    if Evidence.NOTE.value in kinds and not note and "note" not in errors:
        errors["note"] = "此任务要求写明完成情况，请填写说明。"
    if Evidence.FILES.value in kinds and not session.scalar(
            select(func.count(TaskEvidence.id)).where(TaskEvidence.copy_id == copy.id)):
        errors["evidence"] = "此任务要求上传附件或关联记录（如会议记录、照片、登记表），请先添加材料。"
    if Evidence.COUNT.value not in kinds:
        return None
    raw = str(count_value if count_value is not None else "").strip()
    try:
        count = int(raw)
    except ValueError:
        errors["count_value"] = f"请填写{task.count_label}（整数）。"
        return None
    if not 0 <= count <= 100_000:
        errors["count_value"] = f"{task.count_label}应在 0—100000 之间。"
        return None
    return count


def is_assignee(actor: Any, copy: TaskCopy) -> bool:
    """Whether the actor works this copy: the named person, or the unit's people (not its teachers)."""
    m = actor.membership
    if m is None or not actor.can(Permission.TASK_WORK):
        return False
    if copy.membership_id is not None:
        return m.id == copy.membership_id
    return m.unit_kind.value == copy.unit_kind and m.unit_id == copy.unit_id and m.role not in CLASS_BOUND_ROLES


def is_own_work(actor: Any, copy: TaskCopy) -> bool:
    m = actor.membership
    return (m is not None and copy.membership_id == m.id) or copy.submitted_by_user_id == actor.user_id


# --- evidence --------------------------------------------------------------------------------------

def _require_working(actor: Any, copy: TaskCopy) -> None:
    if not is_assignee(actor, copy):
        raise Conflict(detail="只有接受任务的单位或个人可以添加完成材料。")
    if State(copy.state) not in WORKING:
        raise Conflict(detail=f"任务现在是“{State(copy.state).label}”，不能再添加材料。")


def do_add_evidence_file(session: Session, actor: Any, copy_id: int, data: bytes | None, name: str,
                         settings: Settings | None = None) -> TaskEvidence:
    """An uploaded file (PDF, JPG or PNG, checked by its bytes) as the copy's evidence."""
    copy = access_copy(session, copy_id, for_write=True)
    _require_working(actor, copy)
    if not data or not name:
        raise InvalidInput({"file": "请选择要上传的文件。"})
    if problem := document_problem(data, name):
        raise InvalidInput({"file": problem.replace("证明材料", "完成材料")})
    key = storage(settings or get_settings()).save(copy.township_id, EVIDENCE_KIND, data, PurePath(name).suffix.lower())
    return _add_evidence(session, actor, copy, label=PurePath(name).name[:120], file_key=key)


def do_attach_record(session: Session, actor: Any, copy_id: int, *, label: str, href: str) -> TaskEvidence:
    """Another record (a meeting's minutes, a publicity record) named as the copy's evidence."""
    copy = access_copy(session, copy_id, for_write=True)
    _require_working(actor, copy)
    errors: dict[str, str] = {}
    label = field_text(label, errors, "label", label="材料名称", max_length=120)
    if not str(href or "").startswith("/"):
        errors["href"] = "关联的记录须是本平台的页面。"
    if errors:
        raise InvalidInput(errors)
    return _add_evidence(session, actor, copy, label=label, href=str(href)[:200])


def _add_evidence(session: Session, actor: Any, copy: TaskCopy, *, label: str, file_key: str | None = None,
                  href: str = "") -> TaskEvidence:
    evidence = TaskEvidence(township_id=copy.township_id, copy_id=copy.id, label=label, file_key=file_key, href=href,
                            added_by_name=actor.signed_as, added_at=clock.now())
    session.add(evidence)
    session.flush()
    audit.record(session, Event.EVIDENCE_ADDED, entity=copy, changes={"label": label, "task_id": copy.task_id})
    return evidence


def evidence_of(session: Session, copy_ids: Iterable[int]) -> dict[int, list[TaskEvidence]]:
    ids = sorted(set(copy_ids))
    found: dict[int, list[TaskEvidence]] = {i: [] for i in ids}
    if ids:
        for e in session.scalars(select(TaskEvidence).where(TaskEvidence.copy_id.in_(ids)).order_by(TaskEvidence.id)):
            found[e.copy_id].append(e)
    return found


def do_download_evidence(session: Session, copy_id: int, evidence_id: int,
                         settings: Settings | None = None) -> tuple[bytes, str, str]:
    """An evidence file, as (bytes, media type, name): audited like every download."""
    copy = access_copy(session, copy_id)
    evidence = session.scalars(select(TaskEvidence).where(TaskEvidence.id == evidence_id,
                                                          TaskEvidence.copy_id == copy.id)).first()
    if evidence is None or not evidence.file_key:
        raise not_found()
    data = storage(settings or get_settings()).read(copy.township_id, evidence.file_key)
    audit.record(session, Event.EVIDENCE_DOWNLOADED, entity=copy, changes={"label": evidence.label})
    return data, document_media_type(evidence.file_key), evidence.label


# --- the step's record, the worklist, the notices ------------------------------------------------

def _record_step(session: Session, actor: Any, task: Task, copy: TaskCopy, action: str, note: str) -> None:
    number = (session.scalar(select(func.max(TaskStep.number)).where(TaskStep.copy_id == copy.id)) or 0) + 1
    session.add(TaskStep(township_id=copy.township_id, copy_id=copy.id, number=number, action=action,
                         state=copy.state, note=note, user_id=actor.user_id, actor_name=actor.signed_as,
                         occurred_at=clock.now()))
    reconcile(session, SUBJECT, copy.id, due_of(task, copy))
    _notify(session, task, copy, action, number)


def assignee_owner(copy: TaskCopy) -> Owner:
    kind = UnitKind(copy.unit_kind)
    if copy.membership_id is not None:
        return Owner(kind, copy.unit_id, membership_id=copy.membership_id)
    return Owner(kind, copy.unit_id, UNIT_OWNER_ROLE.get(kind, ""))


def assigner_owner(task: Task) -> Owner:
    if task.assigned_by_membership_id is not None:
        return Owner(UnitKind.TOWNSHIP, None, membership_id=task.assigned_by_membership_id)
    return Owner(UnitKind.TOWNSHIP, None, Role.OFFICE_STAFF.value)


def due_of(task: Task, copy: TaskCopy) -> list[Due]:
    """What the copy asks of whom now: the assignee's work by the deadline (and, once it is
    overdue, the assigner's follow-up), or the assigner's review of a submission."""
    href = f"/tasks/copies/{copy.id}"
    state = State(copy.state)
    if state in WORKING:
        again = "（已退回，请补充后重新提交）" if state == State.SENT_BACK else ""
        overdue_from = task.deadline + timedelta(days=1)
        return [Due("tasks:do", f"完成任务：{task.title}{again}", href, assignee_owner(copy), task.deadline,
                    shows_from=min(clock.today(), task.deadline)),
                Due("tasks:follow_up", f"督办逾期任务：{copy.assignee_name}“{task.title}”", href, assigner_owner(task),
                    overdue_from, shows_from=overdue_from)]
    if state == State.SUBMITTED:
        return [Due("tasks:review", f"验收任务：{copy.assignee_name}“{task.title}”", href, assigner_owner(task),
                    clock.today() + timedelta(days=REVIEW_DAYS))]
    return []


NOTICES = {  # action: (to whom, kind, text)
    "assign": ("assignee", "task", "新任务：{title}，截止 {deadline}"),
    "send_back": ("assignee", "task_sent_back", "任务被退回：{title}。理由：{note}"),
    "submit": ("assigner", "task_submitted", "{assignee}提交了任务“{title}”的完成材料，请验收"),
    "accept": ("assignee", "task", "任务已验收通过：{title}"),
    "remind": ("assignee", "task", "任务将于 {deadline} 截止，尚未提交：{title}"),
}


def _notify(session: Session, task: Task, copy: TaskCopy, action: str, number: int) -> None:
    notice = NOTICES.get(action)
    if notice is None:
        return
    from baoxue.tenants.notifications.service import send

    to, kind, text = notice
    owner = assignee_owner(copy) if to == "assignee" else assigner_owner(task)
    send(session, key=f"tasks:{copy.id}:{number}", to=[owner], kind=kind,
         text=text.format(title=task.title, deadline=f"{task.deadline:%m月%d日}", assignee=copy.assignee_name,
                          note=copy.sent_back_reason)[:200], href=f"/tasks/copies/{copy.id}")


# --- reminders and recurring templates (the daily job) ----------------------------------------------

REMINDER_SIGNED_AS = "系统（任务到期提醒）"


def send_reminders(session: Session, today: date) -> int:
    """Remind each assignee once, a few days before the deadline, of a copy not yet submitted."""
    rows = list(session.execute(select(TaskCopy, Task).join(Task, Task.id == TaskCopy.task_id).where(
        TaskCopy.state.in_([s.value for s in WORKING]), Task.deadline >= today,
        Task.deadline <= today + timedelta(days=REMIND_DAYS))))
    if not rows:
        return 0
    reminded = set(session.scalars(select(TaskStep.copy_id).where(
        TaskStep.copy_id.in_([c.id for c, _ in rows]), TaskStep.action == "remind")))
    sent = 0
    for copy, task in rows:
        if copy.id in reminded:
            continue
        reminder = JobActor(task.assigned_by_user_id, REMINDER_SIGNED_AS)  # type: ignore[arg-type]
        _record_step(session, reminder, task, copy, "remind",
                     f"距截止日期 {task.deadline:%m月%d日} 还有 {(task.deadline - today).days} 天。")
        sent += 1
    return sent


def period_of(template: TaskTemplate, today: date) -> tuple[str, date] | None:
    """The template's latest period that has begun by `today` (its key, the day it begins), or
    None. A period begins on its day of the month; a short month's last day stands in."""
    months = Recurrence(template.recurrence).months()
    for back in range(0, 13):
        year, month = today.year, today.month - back
        while month < 1:
            year, month = year - 1, month + 12
        if month not in months:
            continue
        begins = date(year, month, min(template.day_of_month, _month_days(year, month)))
        if begins <= today:
            return f"{year:04d}-{month:02d}", begins
    return None


def _month_days(year: int, month: int) -> int:
    following = date(year + (month == 12), month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def create_recurring(session: Session, today: date) -> list[int]:
    """Each active template's task of the period that has begun, if it has none: a repeat, a
    second worker or a scheduler back after days adds nothing (the period is unique with its
    template). A period begun more than its deadline ago is past catching up and is skipped."""
    made: list[int] = []
    templates = list(session.scalars(select(TaskTemplate).where(TaskTemplate.active.is_(True))
                                     .order_by(TaskTemplate.id)))
    if not templates:
        return made
    periods = {t.id: period_of(t, today) for t in templates}
    existing = {(template_id, period) for template_id, period in session.execute(
        select(Task.template_id, Task.period).where(Task.template_id.in_([t.id for t in templates])))}
    choices = None
    for template in templates:
        found = periods[template.id]
        if found is None or (template.id, found[0]) in existing:
            continue
        period, begins = found
        deadline = begins + timedelta(days=template.deadline_days)
        if deadline < today:
            continue
        choices = choices or {a.key: a for group in assignee_choices(session).values() for a in group}
        chosen = [choices[k] for k in template.assignees.split(",") if k in choices]
        if not chosen:
            continue
        actor = JobActor(template.created_by_user_id or 0, f"系统（周期性任务：{template.title}）"[:64])
        text = TaskText(template.title, template.instructions, template.evidence, template.count_label)
        savepoint = session.begin_nested()
        try:
            task = _create(session, actor, text, deadline, chosen, template=template, period=period,
                           source_label=f"周期性任务（{Recurrence(template.recurrence).label}）",
                           source_href=f"/tasks/templates/{template.id}")
            savepoint.commit()
        except IntegrityError:
            savepoint.rollback()  # another worker made this period's task first
            continue
        audit.record(session, Event.RECURRING_CREATED, entity=task, changes={
            "template_id": template.id, "period": period, "deadline": deadline.isoformat()})
        made.append(task.id)
    return made


def do_save_template(session: Session, actor: Any, values: Mapping[str, Any],
                     template_id: int | None = None) -> TaskTemplate:
    """A recurring template from a form; validated whole before anything is written."""
    _require_assigner(actor)
    template = access_template(session, template_id, for_write=True) if template_id is not None else None
    errors: dict[str, str] = {}
    text = _task_text(values, errors)
    recurrence = str(values.get("recurrence") or "").strip()
    if recurrence not in Recurrence.__members__.values():
        errors["recurrence"] = "请选择任务的周期（每月，或每年三月、九月）。"
    day = _small_int(values.get("day_of_month"), 1, 28, errors, "day_of_month", "每期下达的日期应为 1—28 日。")
    days = _small_int(values.get("deadline_days"), 1, 90, errors, "deadline_days", "完成期限应为 1—90 天。")
    raw = values.get("assignees") or []
    chosen = _resolve_assignees(session, [raw] if isinstance(raw, str) else raw, errors)
    active = str(values.get("active", "1")).strip() in ("1", "true", "True", "on")
    if errors:
        raise InvalidInput(errors)
    before = _template_facts(template) if template is not None else {}
    if template is None:
        template = TaskTemplate(township_id=tenant_of(session).township_id, created_at=clock.now(),
                                created_by_user_id=actor.user_id, created_by_name=actor.signed_as,
                                created_by_membership_id=actor.membership.id)
        session.add(template)
    template.title, template.instructions, template.evidence, template.count_label = (
        text.title, text.instructions, text.evidence, text.count_label)
    template.recurrence, template.day_of_month, template.deadline_days = recurrence, day, days
    template.assignees, template.active = ",".join(a.key for a in chosen), active
    session.flush()
    audit.record(session, Event.TEMPLATE_SAVED, entity=template, changes=audit.diff(before, _template_facts(template)))
    return template


def _template_facts(template: TaskTemplate) -> dict[str, Any]:
    return {"title": template.title, "recurrence": template.recurrence, "day_of_month": template.day_of_month,
            "deadline_days": template.deadline_days, "assignees": template.assignees, "active": template.active}


def _small_int(value: Any, low: int, high: int, errors: dict[str, str], key: str, message: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        errors[key] = message
    return number


# --- reading ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    task: Task
    copy: TaskCopy

    @property
    def state_label(self) -> str:
        return State(self.copy.state).label

    @property
    def overdue(self) -> bool:
        return State(self.copy.state) in WORKING and self.task.deadline < clock.today()


def rows(session: Session, *, state: str = "", overdue: bool = False, limit: int = 300) -> list[Row]:
    """The copies the reader's scope holds with their tasks: open ones first, by deadline (one query)."""
    query = select(TaskCopy, Task).join(Task, Task.id == TaskCopy.task_id)
    if state in State.__members__.values():
        query = query.where(TaskCopy.state == state)
    if overdue:
        query = query.where(TaskCopy.state.in_([s.value for s in WORKING]), Task.deadline < clock.today())
    done = TaskCopy.state == State.ACCEPTED.value
    query = query.order_by(done, Task.deadline, Task.id, TaskCopy.id).limit(limit)
    return [Row(task, copy) for copy, task in session.execute(query).all()]


def steps_of(session: Session, copy: TaskCopy) -> list[TaskStep]:
    return list(session.scalars(select(TaskStep).where(TaskStep.copy_id == copy.id).order_by(TaskStep.number)))


def templates(session: Session) -> list[TaskTemplate]:
    return list(session.scalars(select(TaskTemplate).order_by(TaskTemplate.active.desc(), TaskTemplate.id)))


def counts_by_state(session: Session) -> dict[str, int]:
    counts = {state: n for state, n in session.execute(
        select(TaskCopy.state, func.count(TaskCopy.id)).group_by(TaskCopy.state))}
    return {s.value: counts.get(s.value, 0) for s in State}


def overdue_count(session: Session) -> int:
    return session.scalar(select(func.count(TaskCopy.id)).join(Task, Task.id == TaskCopy.task_id).where(
        TaskCopy.state.in_([s.value for s in WORKING]), Task.deadline < clock.today())) or 0


STATES = [(s.value, STATE_LABELS[s]) for s in State]
