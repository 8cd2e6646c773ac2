"""What the attendance API reads and answers, and the Chinese names of its fields.

A school's own attendance system (or a card reader) posts a class's day as the list of
children away or late: everyone else on the class list was there. Posting the same day again
replaces its list (within the township's correction window), so a retry is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated

from litestar.params import KwargDefinition
from msgspec import Meta
from sqlalchemy import select

from baoxue.platform.labels import Entity, Field, numeric_ids
from baoxue.platform.permissions import Permission
from baoxue.platform.request_checks import Id, bounded, text_up_to
from baoxue.tenants.attendance.flows import (
    ABSENCE_LABELS,
    END_REASONS,
    LEAVE_KINDS,
    SPELL_LABELS,
    AbsenceKind,
    SpellKind,
)
from baoxue.tenants.attendance.models import AbsenceSpell, Leave
from baoxue.tenants.attendance.service import ClassDay
from baoxue.tenants.school_calendar.rules import RULE_LABELS

FIELDS: dict[str, Field | str] = {
    "day": "日期",
    "class_id": Field("班级", entity="school_classes"),
    "absences": "缺勤名单",
    "absence_kind": Field("缺勤类型", values={str(k): v for k, v in ABSENCE_LABELS.items()}),
    "leave_kind": Field("请假类型", values={str(k): v for k, v in LEAVE_KINDS.items()}),
    "leave_id": Field("请假记录", entity="leaves"),
    "starts_on": "开始日期",
    "ends_on": "结束日期",
    "reason": "事由",
    "spell_id": Field("缺课预警", entity="absence_spells"),
    "spell_kind": Field("预警类型", values={str(k): v for k, v in SPELL_LABELS.items()}),
    "first_day": "首个缺课日",
    "days": "天数",
    "returner": Field("辍返生", values={True: "是", False: "否"}),
    "text": "报告内容",
    "added": "新增缺勤",
    "removed": "删除缺勤",
    "changed": "修改缺勤",
    "absent": "缺勤人数",
    "unexcused": "旷课人数",
    "late": "迟到人数",
    "source": Field("填报方式", values={"page": "页面", "api": "接口"}),
    "ended_on": "结束日期",
    "open": "只看未结束的",
    "absence_spells.reason": Field("结束原因", values=END_REASONS),
    **{name: label for name, (label, _low, _high) in RULE_LABELS.items()},
}


def _spell_names(session, ids):  # type: ignore[no-untyped-def]
    wanted = numeric_ids(ids)
    rows = session.execute(select(AbsenceSpell.id, AbsenceSpell.student_name, AbsenceSpell.kind).where(
        AbsenceSpell.id.in_(wanted))) if wanted else []
    return {str(i): f"{name}（{SPELL_LABELS.get(kind, kind)}）" for i, name, kind in rows}


def _leave_names(session, ids):  # type: ignore[no-untyped-def]
    wanted = numeric_ids(ids)
    rows = (session.execute(select(Leave.id, Leave.starts_on, Leave.ends_on).where(Leave.id.in_(wanted)))
            if wanted else [])
    return {str(i): f"{start:%m月%d日}至{end:%m月%d日}的请假" for i, start, end in rows}


ENTITIES = {
    "absence_spells": Entity("缺课预警", _spell_names, permission=Permission.ATTENDANCE_READ),
    "leaves": Entity("请假记录", _leave_names, permission=Permission.ATTENDANCE_READ),
    "attendance_reports": Entity("到校日报告"),
}

Note = text_up_to(200)
MAX_CLASS = 300  # children a class's list may name: more than any class holds


@dataclass
class AbsenceIn:
    student_id: Id
    absence_kind: str  # sick | personal | unexcused | late
    note: Note = ""


@dataclass
class ClassDayIn:
    """The class's children away or late that day; everyone else on the list was present."""

    absences: Annotated[list[AbsenceIn], Meta(max_length=MAX_CLASS), KwargDefinition(max_length=MAX_CLASS)] = field(
        default_factory=list)


@dataclass
class AbsenceOut:
    student_id: int
    name: str
    absence_kind: str
    label: str
    note: str


def _label(kind: str) -> str:
    return ABSENCE_LABELS[AbsenceKind(kind)]


@dataclass
class ClassDayOut:
    class_id: int
    class_name: str
    day: date
    school_day: bool
    reported: bool
    reported_at: datetime | None
    revisions: int
    enrolled: int
    absences: list[AbsenceOut]
    editable: bool

    @classmethod
    def of(cls, d: ClassDay) -> ClassDayOut:
        report = d.report
        return cls(class_id=d.klass.id, class_name=d.klass.name, day=d.day, school_day=d.school_day,
                   reported=report is not None, reported_at=report.reported_at if report else None,
                   revisions=report.revisions if report else 0, enrolled=len(d.marks),
                   absences=[AbsenceOut(m.student_id, m.name, m.kind, _label(m.kind), m.note)
                             for m in d.marks if m.kind and d.report is not None],
                   editable=d.editable)


@dataclass
class LeaveIn:
    """Leave granted before the days it covers (from today on)."""

    student_id: Id
    leave_kind: str  # sick | personal
    starts_on: date
    ends_on: date
    reason: Note


@dataclass
class LeaveOut:
    id: int
    student_id: int
    leave_kind: str
    starts_on: date
    ends_on: date
    reason: str
    cancelled: bool

    @classmethod
    def of(cls, leave: Leave) -> LeaveOut:
        return cls(leave.id, leave.student_id, leave.kind, leave.starts_on, leave.ends_on, leave.reason,
                   leave.cancelled_at is not None)


@dataclass
class SpellOut:
    id: int
    student_id: int
    student_name: str
    spell_kind: str
    label: str
    first_day: date
    last_day: date
    days: int
    returner: bool
    report_filed: bool
    case_id: int | None
    ended_on: date | None
    ended_reason: str

    @classmethod
    def of(cls, s: AbsenceSpell) -> SpellOut:
        return cls(s.id, s.student_id, s.student_name, s.kind, SPELL_LABELS[SpellKind(s.kind)],
                   s.first_day, s.last_day, s.days, s.returner, s.report_filed_at is not None, s.case_id,
                   s.ended_on, s.ended_reason)


Threshold = bounded(0, 60)


@dataclass
class RulesIn:
    step_contact: Threshold
    step_visits: Threshold
    step_report: Threshold
    step_village: Threshold
    step_final_visit: Threshold
    step_confirm: Threshold
    scattered_days: Threshold
    scattered_window: Threshold
    sick_check_days: Threshold
    report_by_hour: Threshold
    correction_days: Threshold
