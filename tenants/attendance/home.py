"""What attendance puts on the first screen: today's daily report, for whoever keeps it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.clock import clock
from baoxue.platform.concepts import Todo
from baoxue.platform.permissions import Permission, Role, UnitKind
from baoxue.tenants.attendance.models import AttendanceReport
from baoxue.tenants.school_calendar.service import Calendar
from baoxue.tenants.tenancy.lookups import class_row, classes_of_school


def todos(session: Session, actor: Any) -> list[Todo]:
    m = actor.membership
    if m is not None and m.unit_kind == UnitKind.TOWNSHIP and actor.can(Permission.ATTENDANCE_READ):
        return _township(session)
    if m is None or m.unit_kind != UnitKind.SCHOOL or not actor.can(Permission.ATTENDANCE_WRITE):
        return []
    today = clock.today()
    if not Calendar.load(session, [m.unit_id]).is_school_day(m.unit_id, today):
        return []
    if m.class_ids is not None:
        classes = [row for row in (class_row(session, i) for i in sorted(m.class_ids)) if row is not None]
    else:
        classes = classes_of_school(session, m.unit_id)
    reported = set(session.scalars(select(AttendanceReport.class_id).where(
        AttendanceReport.day == today, AttendanceReport.class_id.in_([k.id for k in classes]))))
    if m.role == Role.CLASS_TEACHER:
        return [Todo(f"提交今天的到校日报告：{k.name}（缺勤的学生当天报告，辍学上报不过夜）",
                     f"/attendance/classes/{k.id}/{today.isoformat()}") for k in classes if k.id not in reported]
    missing = len(classes) - len(reported)
    if missing:
        return [Todo(f"今天还有 {missing} 个班级未提交到校日报告（共 {len(classes)} 个）。", "/attendance")]
    return []


def _township(session: Session) -> list[Todo]:
    """The township's morning glance: how many classes have reported today, and who is away."""
    from baoxue.tenants.attendance.service import township_day_lines

    today = clock.today()
    if not Calendar.load(session, []).is_school_day(None, today):
        return []
    lines = township_day_lines(session, today)
    classes, reported = sum(line.classes for line in lines), sum(line.reported for line in lines)
    unexcused = sum(line.unexcused for line in lines)
    return [Todo(f"今天已有 {reported} / {classes} 个班级提交到校日报告，旷课 {unexcused} 人："
                 "查看各校情况和缺课预警。", "/attendance")]
