"""Attendance: the JSON API and the pages (today's reporting, a class's day, the spells, the rules).

Thin on purpose: parse, call the service, answer. A class's day is a form of one radio group
per child (present by default), saved whole: the service replaces the day's marks, so saving
twice is harmless. A refused form is its page again with the errors (400, rolled back).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, get, post, put
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.clock import CHINA, clock
from baoxue.platform.errors import InvalidInput
from baoxue.platform.permissions import Permission, UnitKind
from baoxue.platform.resources import Form, form_int, submit
from baoxue.platform.templating import page
from baoxue.tenants.attendance import service, spells
from baoxue.tenants.attendance.flows import ABSENCE_LABELS, END_REASONS, LEAVE_KINDS, SPELL_LABELS, AbsenceKind
from baoxue.tenants.attendance.schemas import (
    ClassDayIn,
    ClassDayOut,
    LeaveIn,
    LeaveOut,
    RulesIn,
    SpellOut,
)
from baoxue.tenants.cases.flows import REASONS, VISIT_MODES
from baoxue.tenants.school_calendar.rules import RULE_FIELDS, RULE_LABELS, rules_of
from baoxue.tenants.school_calendar.service import Calendar
from baoxue.tenants.tenancy.lookups import ClassRow, class_row, classes_of_school

READ = requires(Permission.ATTENDANCE_READ)
WRITE = requires(Permission.ATTENDANCE_WRITE)
RULES = requires(Permission.RULES_WRITE)
DAY_PROBE = {**WRITE, "probe": {"absences": []}}
LEAVE_PROBE = {**WRITE, "probe": {"student_id": "$student", "leave_kind": "sick", "starts_on": "2099-01-01",
                                  "ends_on": "2099-01-02", "reason": "探针"}}
SPELL_PROBE = {**WRITE, "probe": {"note": "探针", "text": "探针", "met": "探针", "found": "探针", "mode": "phone"}}
RULES_PROBE = {**RULES, "probe": {"step_contact": 1}}
CANCEL_PROBE = {**WRITE, "probe": {}}
KINDS = [(k.value, ABSENCE_LABELS[k]) for k in AbsenceKind]


def _page(request: Request[Any, Any, Any], name: str, context: dict[str, Any], *, status: int = 200,
          fragment: str = "") -> Template:
    return page(request, f"attendance/{name}", context, status=status, fragment=fragment)


def _my_classes(request: Request[Any, Any, Any], db: Session) -> list[ClassRow]:
    """The classes whose daily report this person keeps: a teacher's own, the school office's all."""
    m = actor_of(request).membership
    if m is None or m.unit_kind != UnitKind.SCHOOL:
        return []
    if m.class_ids is not None:
        return [row for row in (class_row(db, i) for i in sorted(m.class_ids)) if row is not None]
    return classes_of_school(db, m.unit_id)


# --- the API ----------------------------------------------------------------------------------

@get("/api/attendance/classes/{class_id:int}/{day:str}", opt=READ, summary="一个班某天的到校情况",
     description="`day` 为 2026-11-27 格式；未提交时 `reported` 为 false。", sync_to_thread=True)
def class_day_api(db: Session, class_id: int, day: str) -> ClassDayOut:
    return ClassDayOut.of(service.class_day(db, class_id, service.parse_day(day)))


@put("/api/attendance/classes/{class_id:int}/{day:str}", opt=DAY_PROBE, summary="提交或更正一个班某天的到校日报告",
     description="`absences` 只列缺勤、迟到的学生，其余视为到校。重复提交同一天会以本次名单为准（在更正期限内）。"
                 "已请假的学生按请假处理。提交后立即运行本班的缺课预警。", sync_to_thread=True)
def class_day_put(request: Request[Any, Any, Any], db: Session, class_id: int, day: str,
                  data: ClassDayIn) -> ClassDayOut:
    marks = {a.student_id: (a.absence_kind, a.note) for a in data.absences}
    if len(marks) != len(data.absences):
        raise InvalidInput({"absences": "同一学生在缺勤名单中出现了两次。"})
    when = service.parse_day(day)
    try:
        service.do_save_class_day(db, actor_of(request), class_id, when, marks, source="api")
    except InvalidInput as refused:
        raise InvalidInput(_api_errors(refused.errors)) from None
    return ClassDayOut.of(service.class_day(db, class_id, when))


def _api_errors(errors: dict[str, str]) -> dict[str, str]:
    """The service names a page's fields (kind_12, note_12); the API's are the list's, each
    message naming the child (student_id 12) it is about."""
    found: dict[str, str] = {}
    for key, message in errors.items():
        name, _sep, student_id = key.partition("_")
        if name in ("kind", "note") and student_id.isdigit():
            key, message = "absences", f"student_id {student_id}：{message}"
        found[key] = f"{found[key]} {message}" if key in found else message
    return found


@get("/api/attendance/summary", opt=READ, summary="各校某天的到校日报告提交和缺勤人数（乡镇）",
     sync_to_thread=True)
def summary_api(db: Session, day: str = "") -> list[service.SchoolLine]:
    return service.township_day_lines(db, service.parse_day(day))


@get("/api/attendance/spells", opt=READ, summary="缺课预警（连续旷课、累计旷课、长期病假）",
     description="默认只列未结束的；`open=0` 列出全部（最多 200 条）。", sync_to_thread=True)
def spells_api(db: Session, open: str = "1") -> list[SpellOut]:  # noqa: A002 - the query's name
    return [SpellOut.of(s) for s in spells.list_spells(db, open_only=open != "0")]


@post("/api/attendance/leaves", opt=LEAVE_PROBE, summary="登记请假（预先批准，从今天起）", sync_to_thread=True)
def leave_api(request: Request[Any, Any, Any], db: Session, data: LeaveIn) -> LeaveOut:
    return LeaveOut.of(service.do_grant_leave(db, actor_of(request), data.student_id, kind=data.leave_kind,
                                              starts_on=data.starts_on, ends_on=data.ends_on, reason=data.reason))


@post("/api/attendance/leaves/{leave_id:int}/cancel", opt=CANCEL_PROBE, summary="撤销请假", status_code=200,
      sync_to_thread=True)
def leave_cancel_api(request: Request[Any, Any, Any], db: Session, leave_id: int) -> LeaveOut:
    return LeaveOut.of(service.do_cancel_leave(db, actor_of(request), leave_id))


@put("/api/attendance/rules", opt=RULES_PROBE, summary="修改本乡镇的考勤与控辍预警规则", sync_to_thread=True)
def rules_api(request: Request[Any, Any, Any], db: Session, data: RulesIn) -> dict[str, int]:
    rules = service.do_change_rules(db, actor_of(request), {name: getattr(data, name) for name in RULE_FIELDS})
    return {name: getattr(rules, name) for name in RULE_FIELDS}


# --- pages: today -----------------------------------------------------------------------------

@get("/attendance", opt=READ, include_in_schema=False, sync_to_thread=True)
def attendance_page(request: Request[Any, Any, Any], db: Session, day: str = "") -> Template:
    when = service.parse_day(day)
    m = actor_of(request).membership
    school_id = m.unit_id if m is not None and m.unit_kind == UnitKind.SCHOOL else None
    calendar = Calendar.load(db, [school_id] if school_id else [])
    notice = ""
    if not day and not calendar.is_school_day(school_id, when):
        # A weekend or a holiday: the last school day's reports are what there is to see.
        when = calendar.after(school_id, when, -1)
        notice = f"今天不是教学日，下面是最近一个教学日（{when:%m月%d日}）的情况。"
    mine = _my_classes(request, db)
    lines = []
    if m is not None and m.unit_kind == UnitKind.SCHOOL:
        wanted = {k.id for k in mine}
        lines = [line for line in service.school_day_lines(db, m.unit_id, when) if line.klass.id in wanted]
    schools = service.township_day_lines(db, when) if m is None or m.unit_kind == UnitKind.TOWNSHIP else []
    return _page(request, "today.html", {
        "day": when, "today": clock.today(), "notice": notice, "lines": lines, "schools": schools,
        "spells": spells.list_spells(db), "spell_labels": SPELL_LABELS,
        "can_write": actor_of(request).can(Permission.ATTENDANCE_WRITE), "rules": rules_of(db),
    })


# --- pages: a class's day ---------------------------------------------------------------------

def _class_page(request: Request[Any, Any, Any], db: Session, class_id: int, when: date, *,
                values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                status: int = 200) -> Template:
    d = service.class_day(db, class_id, when)
    return _page(request, "class_day.html", {
        "d": d, "kinds": KINDS, "values": values, "errors": errors or {},
        "names": {m.student_id: m.name for m in d.marks},
        "saved": request.query_params.get("saved"), "today": clock.today(), "leave_kinds": LEAVE_KINDS,
        "can_write": actor_of(request).can(Permission.ATTENDANCE_WRITE),
        "reported_at": d.report.reported_at.astimezone(CHINA).strftime("%H:%M") if d.report else "",
        "revised_at": d.report.revised_at.astimezone(CHINA).strftime("%m月%d日 %H:%M")
        if d.report and d.report.revised_at else "",
    }, status=status)


@get("/attendance/classes/{class_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def class_today(db: Session, class_id: int) -> Redirect:
    service.access_register(db, class_id)  # another's class: the one 404, never a redirect to it
    return Redirect(path=f"/attendance/classes/{class_id}/{clock.today().isoformat()}", status_code=303)


@get("/attendance/classes/{class_id:int}/{day:str}", opt=READ, include_in_schema=False, sync_to_thread=True)
def class_day_page(request: Request[Any, Any, Any], db: Session, class_id: int, day: str) -> Template:
    return _class_page(request, db, class_id, service.parse_day(day))


def _marks(data: Form) -> dict[int, tuple[str, str]]:
    marks: dict[int, tuple[str, str]] = {}
    for key, value in data.items():
        if key.startswith("kind_") and (student_id := form_int(key[5:])) is not None and student_id > 0:
            kind = str(value)
            marks[student_id] = ("" if kind == "present" else kind, str(data.get(f"note_{student_id}", "")))
    return marks


@post("/attendance/classes/{class_id:int}/{day:str}", opt=DAY_PROBE, include_in_schema=False, sync_to_thread=True)
def class_day_submit(request: Request[Any, Any, Any], db: Session, class_id: int, day: str,
                     data: Form) -> Response[Any]:
    when = service.parse_day(day)
    marks = _marks(data)
    return submit(lambda: service.do_save_class_day(db, actor_of(request), class_id, when, marks),
                  done=f"/attendance/classes/{class_id}/{when.isoformat()}",
                  refused=lambda errors: _class_page(request, db, class_id, when, errors=errors, status=400,
                                                     values=marks))


@post("/attendance/leaves", opt=LEAVE_PROBE, include_in_schema=False, sync_to_thread=True)
def leave_submit(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    values = {k: str(data.get(k, "")) for k in ("student_id", "leave_kind", "starts_on", "ends_on", "reason",
                                                 "class_id")}
    class_id = form_int(values["class_id"]) or -1
    back = f"/attendance/classes/{class_id}/{clock.today().isoformat()}"
    return submit(lambda: service.do_grant_leave(db, actor_of(request), form_int(values["student_id"]) or -1,
                                                 kind=values["leave_kind"], starts_on=values["starts_on"],
                                                 ends_on=values["ends_on"], reason=values["reason"]),
                  done=back, refused=lambda errors: _class_page(request, db, class_id, clock.today(),
                                                                errors=errors, status=400))


@post("/attendance/leaves/{leave_id:int}/cancel", opt=CANCEL_PROBE, include_in_schema=False, sync_to_thread=True)
def leave_cancel_submit(request: Request[Any, Any, Any], db: Session, leave_id: int, data: Form) -> Response[Any]:
    class_id = form_int(str(data.get("class_id", ""))) or -1
    return submit(lambda: service.do_cancel_leave(db, actor_of(request), leave_id),
                  done=f"/attendance/classes/{class_id}/{clock.today().isoformat()}",
                  refused=lambda errors: _class_page(request, db, class_id, clock.today(), errors=errors,
                                                     status=400))


@get("/attendance/student/{student_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def student_fragment(request: Request[Any, Any, Any], db: Session, student_id: int) -> Template:
    """The student page's block: this school year's absences, spells and leave (loaded after the page)."""
    return _page(request, "_student.html", {
        "a": service.child_attendance(db, student_id), "spells": spells.spells_of_student(db, student_id),
        "labels": {k.value: ABSENCE_LABELS[k] for k in AbsenceKind}, "spell_labels": SPELL_LABELS,
        "end_reasons": END_REASONS, "leave_kinds": LEAVE_KINDS})


# --- pages: spells ----------------------------------------------------------------------------

def _spell_page(request: Request[Any, Any, Any], db: Session, spell_id: int, *, form: str = "",
                values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                status: int = 200) -> Template:
    from baoxue.tenants.cases.service import visitor_choices

    detail = spells.get_spell(db, spell_id)
    actor = actor_of(request)
    can_write = actor.can(Permission.ATTENDANCE_WRITE) and detail.spell.ended_at is None
    return _page(request, "spell.html", {
        "d": detail, "s": detail.spell, "labels": SPELL_LABELS, "end_reasons": END_REASONS, "form": form,
        "values": values or {}, "errors": errors or {}, "can_write": can_write, "modes": VISIT_MODES,
        "reasons": REASONS, "saved": request.query_params.get("saved"), "me": actor.membership_id,
        "visitors": visitor_choices(db, detail.spell.school_id, None) if can_write else [],
        "now": clock.now().astimezone(CHINA).strftime("%Y-%m-%dT%H:%M"),
    }, status=status)


@get("/attendance/spells/{spell_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def spell_page(request: Request[Any, Any, Any], db: Session, spell_id: int) -> Template:
    return _spell_page(request, db, spell_id)


def _spell_action(request: Request[Any, Any, Any], db: Session, spell_id: int, form: str, values: dict[str, Any],
                  action: Any) -> Response[Any]:
    return submit(action, done=f"/attendance/spells/{spell_id}",
                  refused=lambda errors: _spell_page(request, db, spell_id, form=form, values=values, errors=errors,
                                                     status=400))


@post("/attendance/spells/{spell_id:int}/contact", opt=SPELL_PROBE, include_in_schema=False, sync_to_thread=True)
def contact_submit(request: Request[Any, Any, Any], db: Session, spell_id: int, data: Form) -> Response[Any]:
    values = {k: str(data.get(k, "")) for k in ("mode", "visited_at", "met", "found", "agreed")}
    raw = data.get("visitor_ids", [])
    visitors = [i for i in (form_int(v) for v in (raw if isinstance(raw, list) else [raw])) if i is not None]
    return _spell_action(request, db, spell_id, "contact", values, lambda: spells.do_record_contact(
        db, actor_of(request), spell_id, mode=values["mode"], visited_at=values["visited_at"] or None,
        met=values["met"], found=values["found"], agreed=values["agreed"], visitor_ids=visitors,
        settings=request.app.state.settings))


@post("/attendance/spells/{spell_id:int}/report", opt=SPELL_PROBE, include_in_schema=False, sync_to_thread=True)
def report_submit(request: Request[Any, Any, Any], db: Session, spell_id: int, data: Form) -> Response[Any]:
    values = {k: str(data.get(k, "")) for k in ("reason_code", "text")}
    return _spell_action(request, db, spell_id, "report", values, lambda: spells.do_file_absence_report(
        db, actor_of(request), spell_id, reason_code=values["reason_code"], text=values["text"]))


@post("/attendance/spells/{spell_id:int}/quit", opt=SPELL_PROBE, include_in_schema=False, sync_to_thread=True)
def quit_submit(request: Request[Any, Any, Any], db: Session, spell_id: int, data: Form) -> Response[Any]:
    values = {"note": str(data.get("note", ""))}
    return _spell_action(request, db, spell_id, "quit", values,
                         lambda: spells.do_say_quit(db, actor_of(request), spell_id, note=values["note"]))


@post("/attendance/spells/{spell_id:int}/check", opt=SPELL_PROBE, include_in_schema=False, sync_to_thread=True)
def check_submit(request: Request[Any, Any, Any], db: Session, spell_id: int, data: Form) -> Response[Any]:
    values = {"note": str(data.get("note", ""))}
    return _spell_action(request, db, spell_id, "check", values,
                         lambda: spells.do_check_sick(db, actor_of(request), spell_id, note=values["note"]))


# --- pages: the rules -------------------------------------------------------------------------

def _rules_page(request: Request[Any, Any, Any], db: Session, *, values: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, status: int = 200) -> Template:
    rules = rules_of(db)
    return _page(request, "rules.html", {
        "rules": rules, "labels": RULE_LABELS, "values": values or {n: getattr(rules, n) for n in RULE_FIELDS},
        "errors": errors or {}, "can_write": actor_of(request).can(Permission.RULES_WRITE),
        "saved": request.query_params.get("saved"),
    }, status=status)


@get("/attendance/rules", opt=READ, include_in_schema=False, sync_to_thread=True)
def rules_page(request: Request[Any, Any, Any], db: Session) -> Template:
    return _rules_page(request, db)


@post("/attendance/rules", opt=RULES_PROBE, include_in_schema=False, sync_to_thread=True)
def rules_submit(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    values = {name: str(data.get(name, "")) for name in RULE_FIELDS}
    return submit(lambda: service.do_change_rules(db, actor_of(request), values), done="/attendance/rules",
                  refused=lambda errors: _rules_page(request, db, values=values, errors=errors, status=400))


routes = [
    class_day_api, class_day_put, summary_api, spells_api, leave_api, leave_cancel_api, rules_api,
    attendance_page, class_today, class_day_page, class_day_submit, leave_submit, leave_cancel_submit,
    student_fragment, spell_page, contact_submit, report_submit, quit_submit, check_submit, rules_page, rules_submit,
]
