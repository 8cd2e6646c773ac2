"""The daily arrival report (到校日报告), leave in advance, and the reads their pages need.

* `do_save_class_day`: a class's absences for a school day, from the page or the API. Saving
  replaces the day's marks (saving twice changes nothing); a day already reported may be
  corrected within the township's `correction_days` school days, and each correction is on the
  audit trail with what it added, removed and changed. A child with leave covering the day is
  away on that leave whatever was marked. Then the class's escalation runs
  (`escalation.check`), so a first unexcused day reaches the class teacher's list the same day.
* `do_grant_leave` / `do_cancel_leave`: leave granted before the days it covers.

Every action audits itself in the caller's transaction, flushes and never commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import clock
from baoxue.platform.db import township_id_of
from baoxue.platform.errors import Conflict, InvalidInput
from baoxue.platform.text import field_date, field_text, normalise
from baoxue.tenants.attendance.events import Event
from baoxue.tenants.attendance.flows import ABSENCE_LABELS, AWAY, LEAVE_KINDS, ON_THE_LIST, AbsenceKind
from baoxue.tenants.attendance.models import AbsenceSpell, Absence, AttendanceReport, Leave
from baoxue.tenants.attendance.policy import access_leave, access_register
from baoxue.tenants.school_calendar.rules import Rules, rules_of
from baoxue.tenants.school_calendar.service import Calendar
from baoxue.tenants.students.models import Student
from baoxue.tenants.students.policy import access_student
from baoxue.tenants.tenancy.lookups import ClassRow
from baoxue.tenants.tenancy.models import School, SchoolClass

MAX_NOTE = 200


# --- reading a class's day --------------------------------------------------------------------

@dataclass(frozen=True)
class Mark:
    student_id: int
    name: str
    number: str  # the last digits of the 学籍号, as a class list shows them
    kind: str  # "" present, else flows.AbsenceKind
    note: str
    leave: str  # "病假（至11月30日）" when leave covers the day, else ""
    watch: str  # "辍返生" / "连续旷课3天" / "" : why this child needs eyes on them


@dataclass(frozen=True)
class ClassDay:
    klass: ClassRow
    school_name: str
    day: date
    school_day: bool
    report: AttendanceReport | None
    marks: list[Mark]
    editable: bool
    why_not: str  # why the day cannot be saved, in Chinese ("" when it can)
    leaves: list[Leave]  # granted, not over yet

    @property
    def counts(self) -> dict[str, int]:
        counted = {kind.value: 0 for kind in AbsenceKind}
        for mark in self.marks:
            if mark.kind:
                counted[mark.kind] += 1
        return counted


def roster(session: Session, class_id: int) -> list[Student]:
    return list(session.scalars(select(Student).where(Student.class_id == class_id,
                                                      Student.status.in_(ON_THE_LIST))
                                .order_by(Student.student_number, Student.id)))


def leaves_on(session: Session, student_ids: list[int], day: date) -> dict[int, Leave]:
    if not student_ids:
        return {}
    found = session.scalars(select(Leave).where(Leave.student_id.in_(student_ids), Leave.cancelled_at.is_(None),
                                                Leave.starts_on <= day, Leave.ends_on >= day).order_by(Leave.id))
    return {leave.student_id: leave for leave in found}


def correction_window(calendar: Calendar, rules: Rules, school_id: int, today: date) -> date:
    """The earliest day a school's report may still be saved or corrected."""
    if rules.correction_days <= 0:
        return today
    return calendar.after(school_id, today, -rules.correction_days)


def _why_not(calendar: Calendar, rules: Rules, school_id: int, day: date) -> str:
    today = clock.today()
    if day > today:
        return "不能提前填报以后的到校情况；预先请假请在“请假”中登记。"
    if not calendar.is_school_day(school_id, day):
        return f"{day} 不是本校的教学日（见校历）。"
    if day < correction_window(calendar, rules, school_id, today):
        return f"只能填报或更正最近 {rules.correction_days} 个教学日的到校日报告。"
    return ""


def _watch(session: Session, student_ids: list[int]) -> dict[int, str]:
    from baoxue.tenants.cases.service import returner_ids

    notes = {sid: "辍返生" for sid in returner_ids(session, student_ids)}
    if student_ids:
        for sid, kind, days in session.execute(select(AbsenceSpell.student_id, AbsenceSpell.kind, AbsenceSpell.days)
                                               .where(AbsenceSpell.student_id.in_(student_ids),
                                                      AbsenceSpell.ended_at.is_(None))):
            label = {"run": f"连续旷课{days}天", "scattered": f"累计旷课{days}天", "sick": f"病假{days}天"}[kind]
            notes[sid] = "、".join(filter(None, (notes.get(sid, ""), label)))
    return notes


def class_day(session: Session, class_id: int, day: date) -> ClassDay:
    klass = access_register(session, class_id)
    calendar = Calendar.load(session, [klass.school_id])
    rules = rules_of(session)
    students = roster(session, klass.id)
    ids = [s.id for s in students]
    absences = {a.student_id: a for a in session.scalars(select(Absence).where(
        Absence.class_id == klass.id, Absence.day == day))} if ids else {}
    leaves = leaves_on(session, ids, day)
    watch = _watch(session, ids)
    report = session.scalar(select(AttendanceReport).where(AttendanceReport.class_id == klass.id,
                                                           AttendanceReport.day == day))
    marks = []
    for s in students:
        absence, leave = absences.get(s.id), leaves.get(s.id)
        kind = absence.kind if absence else (leave.kind if leave and report is None else "")
        leave_text = f"{LEAVE_KINDS[AbsenceKind(leave.kind)]}（至{leave.ends_on:%m月%d日}）" if leave else ""
        marks.append(Mark(s.id, s.name, s.student_number[-4:], kind, absence.note if absence else "",
                          leave_text, watch.get(s.id, "")))
    why_not = _why_not(calendar, rules, klass.school_id, day)
    school = session.scalar(select(School.name).where(School.id == klass.school_id)) or ""
    return ClassDay(klass, school, day, calendar.is_school_day(klass.school_id, day), report, marks,
                    not why_not, why_not, current_leaves(session, ids))


# --- saving a class's day ---------------------------------------------------------------------

def parse_marks(raw: Mapping[int, tuple[str, str]], on_list: set[int]) -> tuple[dict[int, tuple[str, str]],
                                                                                dict[str, str]]:
    """Marks as {student_id: (kind, note)}, checked; present children need no mark."""
    errors: dict[str, str] = {}
    marks: dict[int, tuple[str, str]] = {}
    for student_id, (kind, note) in raw.items():
        kind, note = normalise(kind or ""), normalise(note or "")
        if not kind:
            continue
        if student_id not in on_list:
            errors["absences"] = "缺勤名单中有不在本班名单上的学生，请刷新页面后重新填报。"
            continue
        if kind not in AbsenceKind.__members__.values():
            errors[f"kind_{student_id}"] = "缺勤类型只能是病假、事假、旷课或迟到。"
            continue
        marks[student_id] = (kind, field_text(note, errors, f"note_{student_id}", label="备注", max_length=MAX_NOTE,
                                              required=False))
    return marks, errors


def do_save_class_day(session: Session, actor: Any, class_id: int, day: Any,
                      raw_marks: Mapping[int, tuple[str, str]], *, source: str = "page") -> AttendanceReport:
    """Save a class's day: everyone present but the children marked (and those on leave)."""
    from baoxue.tenants.attendance import escalation
    from baoxue.tenants.worklist import service as worklist

    klass = access_register(session, class_id)
    when = parse_day(day)
    calendar = Calendar.load(session, [klass.school_id])
    rules = rules_of(session)
    if why_not := _why_not(calendar, rules, klass.school_id, when):
        raise InvalidInput({"day": why_not})
    students = {s.id: s for s in roster(session, klass.id)}
    marks, errors = parse_marks(raw_marks, set(students))
    if errors:
        raise InvalidInput(errors)
    leaves = leaves_on(session, list(students), when)
    for student_id, leave in leaves.items():
        kind, note = marks.get(student_id, ("", ""))
        if kind in ("", AbsenceKind.UNEXCUSED):  # the leave explains the day
            marks[student_id] = (leave.kind, note or f"已请假：{leave.reason}"[:MAX_NOTE])
    leave_ids = {sid: leave.id for sid, leave in leaves.items()}

    now = clock.now()
    # The children on today's list only: a child who has left the class keeps their past rows.
    existing = {a.student_id: a for a in session.scalars(select(Absence).where(
        Absence.class_id == klass.id, Absence.day == when, Absence.student_id.in_(list(students))))}
    added, removed, changed = [], [], []
    for student_id, absence in existing.items():
        if student_id not in marks:
            removed.append([student_id, absence.kind])
            session.delete(absence)
    for student_id, (kind, note) in marks.items():
        absence = existing.get(student_id)
        if absence is None:
            added.append([student_id, kind])
            session.add(Absence(township_id=township_id_of(session), student_id=student_id,
                                school_id=klass.school_id, class_id=klass.id, day=when, kind=kind, note=note,
                                leave_id=leave_ids.get(student_id) if kind != AbsenceKind.LATE else None,
                                recorded_by=actor.user_id, recorded_at=now))
        elif (absence.kind, absence.note) != (kind, note):
            changed.append([student_id, absence.kind, kind])
            absence.kind, absence.note, absence.recorded_by, absence.recorded_at = kind, note, actor.user_id, now
    report = session.scalar(select(AttendanceReport).where(AttendanceReport.class_id == klass.id,
                                                           AttendanceReport.day == when))
    first = report is None
    if first:
        report = AttendanceReport(township_id=township_id_of(session), school_id=klass.school_id, class_id=klass.id,
                                  day=when, source=source, reported_by=actor.user_id, reported_at=now)
        session.add(report)
    elif added or removed or changed:
        report.revised_at, report.revisions = now, report.revisions + 1
    kinds = [kind for kind, _note in marks.values()]
    report.enrolled = len(students)
    report.absent = sum(1 for k in kinds if k in AWAY)
    report.unexcused = kinds.count(AbsenceKind.UNEXCUSED)
    report.late = kinds.count(AbsenceKind.LATE)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(detail="本班当天的到校日报告刚刚已由他人提交，请刷新页面后再更正。") from None
    # The trail names each child's mark in Chinese (病假, 旷课 ...): the audit page shows it as kept.
    if first:
        audit.record(session, Event.REPORTED, entity=report, changes={
            "class_id": klass.id, "day": when, "source": source, "absent": report.absent,
            "unexcused": report.unexcused, "late": report.late, "absences": _named(added)})
    elif added or removed or changed:
        audit.record(session, Event.CORRECTED, entity=report, changes={
            "class_id": klass.id, "day": when, "source": source, "added": _named(added),
            "removed": _named(removed), "changed": _named(changed)})
    worklist.reconcile(session, UNREPORTED, klass.id, [])  # reported: the office's flag closes
    escalation.check(session, class_ids=[klass.id])
    return report


def _named(marks: list[list[Any]]) -> list[list[Any]]:
    """[[student_id, kind, ...]] with each kind as its label: [[12, "旷课"], [15, "病假", "事假"]]."""
    return sorted([sid, *(ABSENCE_LABELS.get(AbsenceKind(k), k) for k in kinds)] for sid, *kinds in marks)


def parse_day(value: Any) -> date:
    """A day from a path or a query ("2026-11-27"); blank is today."""
    if isinstance(value, date):
        return value
    errors: dict[str, str] = {}
    day = field_date(value, errors, "day", label="日期")
    if errors:
        raise InvalidInput(errors)
    return day or clock.today()


# --- leave ------------------------------------------------------------------------------------

def do_grant_leave(session: Session, actor: Any, student_id: int, *, kind: str, starts_on: Any, ends_on: Any,
                   reason: str = "") -> Leave:
    """Leave granted before the days it covers (a sick note for three days)."""
    student = access_student(session, student_id)
    errors: dict[str, str] = {}
    kind = normalise(kind or "")
    if kind not in (AbsenceKind.SICK, AbsenceKind.PERSONAL):
        errors["kind"] = "请选择请假类型：病假或事假。"
    start = field_date(starts_on, errors, "starts_on", label="请假开始日期", required=True)
    end = field_date(ends_on, errors, "ends_on", label="请假结束日期", required=True)
    if start and end and end < start:
        errors["ends_on"] = "请假结束日期不能早于开始日期。"
    if start and start < clock.today():
        errors["starts_on"] = "预先请假只能从今天起；已过去的日子请更正当天的到校日报告。"
    if start and end and (end - start).days > 366:
        errors["ends_on"] = "一次请假不能超过一年；长期不能到校的，请办理休学。"
    reason = field_text(reason, errors, "reason", label="请假事由", max_length=MAX_NOTE)
    if errors:
        raise InvalidInput(errors)
    if student.class_id is not None:
        access_register(session, student.class_id)  # a teacher grants leave to their own classes' children
    leave = Leave(township_id=township_id_of(session), student_id=student.id, school_id=student.school_id,
                  class_id=student.class_id, kind=kind, starts_on=start, ends_on=end, reason=reason,
                  granted_by=actor.user_id, granted_at=clock.now())
    session.add(leave)
    session.flush()
    audit.record(session, Event.LEAVE_GRANTED, entity=leave, changes={
        "student_id": student.id, "kind": kind, "starts_on": start, "ends_on": end})
    return leave


def do_cancel_leave(session: Session, actor: Any, leave_id: int) -> Leave:
    leave = access_leave(session, leave_id, for_write=True)
    if leave.cancelled_at is not None:
        raise Conflict(detail="这条请假已经撤销。")
    leave.cancelled_at = clock.now()
    session.flush()
    audit.record(session, Event.LEAVE_CANCELLED, entity=leave, changes={"student_id": leave.student_id})
    return leave


def current_leaves(session: Session, student_ids: list[int]) -> list[Leave]:
    """Leave not cancelled and not over yet, of these children (the class page lists it)."""
    if not student_ids:
        return []
    return list(session.scalars(select(Leave).where(
        Leave.student_id.in_(student_ids), Leave.cancelled_at.is_(None), Leave.ends_on >= clock.today())
        .order_by(Leave.starts_on, Leave.id)))


# --- the overviews ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassLine:
    klass: ClassRow
    report: AttendanceReport | None


@dataclass(frozen=True)
class SchoolLine:
    school_id: int
    name: str
    classes: int
    reported: int
    enrolled: int
    absent: int
    unexcused: int
    late: int


def school_day_lines(session: Session, school_id: int, day: date) -> list[ClassLine]:
    """Each class of a school and its report of the day (None: not yet reported)."""
    from baoxue.tenants.tenancy.lookups import classes_of_school

    reports = {r.class_id: r for r in session.scalars(select(AttendanceReport).where(
        AttendanceReport.school_id == school_id, AttendanceReport.day == day))}
    return [ClassLine(k, reports.get(k.id)) for k in classes_of_school(session, school_id)]


def township_day_lines(session: Session, day: date) -> list[SchoolLine]:
    """Each school's reporting and absence counts of the day (two grouped queries)."""
    classes = dict(session.execute(select(SchoolClass.school_id, func.count(SchoolClass.id))
                                   .group_by(SchoolClass.school_id)).all())
    sums = {row[0]: row[1:] for row in session.execute(
        select(AttendanceReport.school_id, func.count(AttendanceReport.id), func.sum(AttendanceReport.enrolled),
               func.sum(AttendanceReport.absent), func.sum(AttendanceReport.unexcused),
               func.sum(AttendanceReport.late)).where(AttendanceReport.day == day)
        .group_by(AttendanceReport.school_id))}
    lines = []
    for school_id, name in session.execute(select(School.id, School.name).order_by(School.id)):
        reported, enrolled, absent, unexcused, late = sums.get(school_id, (0, 0, 0, 0, 0))
        lines.append(SchoolLine(school_id, name, classes.get(school_id, 0), reported or 0, enrolled or 0,
                                absent or 0, unexcused or 0, late or 0))
    return lines


def absence_labels() -> dict[str, str]:
    return {kind.value: label for kind, label in ABSENCE_LABELS.items()}


def last_reported(session: Session, class_id: int) -> datetime | None:
    return session.scalar(select(func.max(AttendanceReport.reported_at)).where(AttendanceReport.class_id == class_id))


# --- classes not reported by the township's hour ----------------------------------------------

UNREPORTED = "school_classes"  # the worklist's record for "this class has not reported"


def unreported_dues(session: Session, day: date, calendar: Calendar) -> dict[int, list[Any]]:
    """Each class's "not reported" item on `day`: the academic office's, due that day."""
    from baoxue.platform.permissions import Role, UnitKind
    from baoxue.tenants.worklist.service import Due, Owner

    reported = set(session.scalars(select(AttendanceReport.class_id).where(AttendanceReport.day == day)))
    names = dict(session.execute(select(School.id, School.name)).all())
    dues: dict[int, list[Any]] = {}
    for class_id, school_id, name in session.execute(select(SchoolClass.id, SchoolClass.school_id, SchoolClass.name)):
        if class_id in reported or not calendar.is_school_day(school_id, day):
            dues[class_id] = []
            continue
        dues[class_id] = [Due("attendance:unreported", f"{names.get(school_id, '')}{name}：{day:%m月%d日}到校日报告未提交",
                              f"/attendance/classes/{class_id}/{day.isoformat()}",
                              Owner(UnitKind.SCHOOL, school_id, Role.ACADEMIC_OFFICE.value), day, day)]
    return dues


def flag_unreported(session: Session, hour: int) -> dict[str, Any]:
    """The hourly job: once the township's hour has come on a school day, each class not yet
    reported is on its school's academic office's list; a class that reports closes its item."""
    from baoxue.platform.clock import CHINA
    from baoxue.tenants.worklist import service as worklist

    rules = rules_of(session)
    now = clock.now().astimezone(CHINA)
    if hour != rules.report_by_hour or now.hour < rules.report_by_hour:
        return {"flagged": 0, "skipped": "not this township's hour"}
    dues = unreported_dues(session, now.date(), Calendar.load(session))
    worklist.reconcile_many(session, UNREPORTED, dues)
    return {"flagged": sum(1 for d in dues.values() if d), "day": now.date().isoformat()}


# --- the township's rules ---------------------------------------------------------------------

def do_change_rules(session: Session, actor: Any, values: Mapping[str, Any]) -> Rules:
    """The township's thresholds and settings, each within its bounds, the steps in their order."""
    from baoxue.platform.db import tenant_of
    from baoxue.platform.errors import not_found
    from baoxue.tenants.school_calendar.rules import RULE_FIELDS, RULE_LABELS
    from baoxue.tenants.tenancy.models import Township

    scope = tenant_of(session).scope
    if scope is None or not scope.whole_township:
        raise not_found()
    errors: dict[str, str] = {}
    before = rules_of(session)
    wanted: dict[str, int] = {}
    for name in RULE_FIELDS:
        label, low, high = RULE_LABELS[name]
        raw = values.get(name, getattr(before, name))
        try:
            number = int(str(raw).strip())
        except ValueError:
            errors[name] = f"{label}须是整数。"
            continue
        if not low <= number <= high:
            errors[name] = f"{label}须在 {low} 到 {high} 之间。"
        wanted[name] = number
    order = (("step_contact", "step_visits"), ("step_report", "step_confirm"), ("step_village", "step_confirm"),
             ("step_final_visit", "step_confirm"), ("scattered_days", "scattered_window"))
    for earlier, later in order:
        if earlier in wanted and later in wanted and wanted[earlier] > wanted[later] and later not in errors:
            errors[later] = f"{RULE_LABELS[later][0]}不能早于（小于）{RULE_LABELS[earlier][0]}。"
    if errors:
        raise InvalidInput(errors)
    township = session.get(Township, township_id_of(session))
    changes = {name: [getattr(before, name), number] for name, number in wanted.items()
               if getattr(before, name) != number}
    for name, number in wanted.items():
        setattr(township, name, number)
    session.flush()
    if changes:
        audit.record(session, Event.RULES_CHANGED, entity_type="townships", entity_id=township.id, changes=changes)
    return rules_of(session)


# --- one child's attendance (the student page's block) ----------------------------------------

@dataclass(frozen=True)
class ChildAttendance:
    since: date
    counts: dict[str, int]  # this school year, by kind
    recent: list[Absence]
    leaves: list[Leave]


def child_attendance(session: Session, student_id: int) -> ChildAttendance:
    from baoxue.platform.clock import school_year

    student = access_student(session, student_id)
    since = date(school_year(), 9, 1)
    counts = dict(session.execute(select(Absence.kind, func.count(Absence.id)).where(
        Absence.student_id == student.id, Absence.day >= since).group_by(Absence.kind)).all())
    recent = list(session.scalars(select(Absence).where(Absence.student_id == student.id)
                                  .order_by(Absence.day.desc()).limit(10)))
    return ChildAttendance(since, {k.value: counts.get(k.value, 0) for k in AbsenceKind}, recent,
                           current_leaves(session, [student.id]))
