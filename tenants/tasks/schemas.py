"""What the tasks API reads and answers, and the Chinese names of its fields and records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from baoxue.platform.labels import Entity, Field, names_from
from baoxue.tenants.tasks.flows import ACTION_LABELS, STATE_LABELS, Evidence, Recurrence
from baoxue.tenants.tasks.models import Task, TaskTemplate

_STATES = {state.value: label for state, label in STATE_LABELS.items()}
_EVIDENCE = {e.value: e.label for e in Evidence}
_RECURRENCE = {r.value: r.label for r in Recurrence}
_YES_NO = {True: "是", False: "否"}

FIELDS: dict[str, Field | str] = {
    "task_id": Field("工作任务", entity="tasks"),
    "copy_id": "任务（接受单位的一份）",
    "evidence_id": "完成材料",
    "template_id": Field("周期性任务模板", entity="task_templates"),
    "title": "任务名称",
    "instructions": "任务要求",
    "evidence": Field("需提交的材料", values=_EVIDENCE),
    "count_label": "数量的名称",
    "deadline": "截止日期",
    "assignees": "接受任务的单位或个人",
    "action": Field("办理操作", values=ACTION_LABELS),
    "note": "说明",
    "count_value": "数量",
    "file": "完成材料文件",
    "label": "材料名称",
    "href": "关联记录",
    "recurrence": Field("周期", values=_RECURRENCE),
    "day_of_month": "每期下达日",
    "deadline_days": "完成期限（天）",
    "active": Field("启用", values=_YES_NO),
    "task_state": Field("状态", values=_STATES),
    "overdue": Field("只看逾期", values=_YES_NO),
    "tasks.title": "任务名称",
    "tasks.deadline": "截止日期",
    "tasks.assignees": "接受任务的单位或个人",
    "tasks.template_id": Field("周期性任务模板", entity="task_templates"),
    "tasks.period": "期次",
    "task_copies.state": Field("状态", values=_STATES),
    "task_copies.action": Field("办理操作", values=ACTION_LABELS),
    "task_copies.task_id": Field("工作任务", entity="tasks"),
    "task_copies.label": "材料名称",
    "task_templates.title": "任务名称",
    "task_templates.recurrence": Field("周期", values=_RECURRENCE),
    "task_templates.day_of_month": "每期下达日",
    "task_templates.deadline_days": "完成期限（天）",
    "task_templates.assignees": "接受任务的单位或个人",
    "task_templates.active": Field("启用", values=_YES_NO),
}

ENTITIES = {"tasks": Entity("工作任务", names_from(Task, Task.title)),
            "task_copies": Entity("工作任务（接受单位的一份）"),
            "task_templates": Entity("周期性任务模板", names_from(TaskTemplate, TaskTemplate.title))}


@dataclass
class TaskIn:
    title: str
    deadline: date
    assignees: list[str]  # "school:3", "village:2", "department:5", "member:9"
    instructions: str = ""
    evidence: list[str] = field(default_factory=lambda: ["note"])  # note, files, count
    count_label: str = ""


@dataclass
class StepIn:
    action: str  # progress, submit, accept, send_back
    note: str = ""
    count_value: int | None = None


@dataclass
class RecordIn:
    label: str
    href: str


@dataclass
class TemplateIn:
    title: str
    recurrence: str  # monthly | activity_months
    day_of_month: int
    deadline_days: int
    assignees: list[str]
    instructions: str = ""
    evidence: list[str] = field(default_factory=lambda: ["note"])
    count_label: str = ""
    active: bool = True


@dataclass
class EvidenceOut:
    id: int
    label: str
    href: str
    is_file: bool
    added_by_name: str
    added_at: datetime


@dataclass
class StepOut:
    number: int
    action: str
    state: str
    note: str
    actor_name: str
    occurred_at: datetime


@dataclass
class CopyOut:
    id: int
    task_id: int
    title: str
    assignee: str
    assignee_name: str
    state: str
    state_label: str
    deadline: date
    overdue: bool
    progress: str
    note: str
    count_label: str
    count_value: int | None
    sent_back_reason: str
    evidence: list[EvidenceOut] = field(default_factory=list)
    steps: list[StepOut] = field(default_factory=list)


@dataclass
class TaskOut:
    id: int
    title: str
    instructions: str
    evidence: list[str]
    count_label: str
    deadline: date
    assigned_by_name: str
    source_label: str
    period: str | None
    copies: list[CopyOut] = field(default_factory=list)


@dataclass
class TemplateOut:
    id: int
    title: str
    recurrence: str
    day_of_month: int
    deadline_days: int
    assignees: list[str]
    evidence: list[str]
    count_label: str
    active: bool
