"""What the meetings API reads and answers, and the Chinese names of its fields and records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from baoxue.platform.labels import Entity, Field
from baoxue.tenants.meetings.flows import KIND_LABELS, SOURCE_LABELS

FIELDS: dict[str, Field | str] = {
    "meeting_id": Field("会议记录", entity="meetings"),
    "meeting_kind": Field("会议或宣传活动类别", values=KIND_LABELS),
    "held_on": "日期",
    "place": "地点",
    "attendees": "参加人员",
    "agenda": "议程",
    "minutes": "会议记录",
    "photos": "照片",
    "task_copy_id": "作为哪项任务的完成材料",
    "index": "第几张照片",
    "small": "缩略图",
    "item_id": "议题",
    "decision": "会议决定",
    "task": "下达任务",
    "ticket": "转介部门",
    "task_title": "任务名称",
    "task_instructions": "任务要求",
    "task_deadline": "任务期限",
    "task_assignees": "承办单位",
    "task_evidence": "完成材料",
    "task_count_label": "需报数量",
    "ticket_kind": "转介事项",
    "ticket_department_id": "接收部门",
    "ticket_reason": "转介说明",
    "meetings.kind": Field("类别", values=KIND_LABELS),
    "meetings.held_on": "日期",
    "meetings.place": "地点",
    "meetings.attendees": "参加人员",
    "meetings.agenda": "议程",
    "meetings.minutes": "会议记录",
    "meetings.photos": "照片张数",
    "meetings.photos_added": "新增照片",
    "meetings.task_copy_id": "作为任务完成材料",
    "meetings.items": "议题数",
    "meetings.carried": "上次会议未办结的决定",
    "meetings.previous_id": Field("上次领导小组会议", entity="meetings"),
    "meetings.item_id": "议题",
    "meetings.decision": "会议决定",
    "meetings.task_id": "下达的任务",
    "meetings.referral_id": Field("转介单", entity="referrals"),
    "meetings.unit_kind": "登记单位类别",
    "meetings.unit_id": "登记单位",
    "source_kind": Field("议题来源", values=SOURCE_LABELS),
}

ENTITIES = {"meetings": Entity("会议或宣传活动记录")}


@dataclass
class MeetingIn:
    meeting_kind: str
    held_on: date
    place: str
    minutes: str
    attendees: str = ""
    agenda: str = ""
    task_copy_id: int | None = None


@dataclass
class PrepareIn:
    held_on: date
    place: str = ""
    attendees: str = ""


@dataclass
class TaskIn:
    title: str
    deadline: date
    assignees: list[str]  # "school:3", "village:2", "department:5", "member:9"
    instructions: str = ""
    evidence: list[str] = field(default_factory=lambda: ["note"])
    count_label: str = ""


@dataclass
class TicketIn:
    kind: str  # referrals' kinds (转介事项)
    department_id: int
    reason: str = ""


@dataclass
class DecisionIn:
    item_id: int
    decision: str
    task: TaskIn | None = None
    ticket: TicketIn | None = None


@dataclass
class ItemOut:
    id: int
    number: int
    source_kind: str
    source_id: int | None
    text: str
    href: str
    decision: str
    task_id: int | None
    referral_id: int | None
    open: bool
    follow_up: str


@dataclass
class MeetingOut:
    id: int
    meeting_kind: str
    kind_label: str
    unit_kind: str
    unit_id: int | None
    held_on: date
    place: str
    attendees: str
    agenda: str
    minutes: str
    photos: int
    task_copy_id: int | None
    recorded_by_name: str
    recorded_at: datetime
    items: list[ItemOut] = field(default_factory=list)


@dataclass
class RoutineOut:
    school_id: int
    school: str
    term: str
    team_held: list[str]
    team_due: int
    academic_months: list[int]
    academic_held: list[int]
    activity_months: list[int]
    activity_held: list[int]
    complete: bool
