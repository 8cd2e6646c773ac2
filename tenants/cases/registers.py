"""The registers officials keep, made from the case file: the home-visit register (家访登记) per
teacher and semester, the dropout register (辍学学生登记表) and one child's persuasion record
(劝返情况记录), as a page and as Excel in the layouts of DOMAIN.md §14 (a title line naming the
unit and period, "填报单位（盖章）… 填报时间 …", the columns officials read, and the signature
lines "审核人 … 填表人 … 联系电话 …").

The home-visit register counts each person's visits (a visit with two visitors counts for
both) against the targets of DOMAIN.md §10: at least 20 a semester for a class teacher, at
least 3 for a child who wavers (a child with a case during the semester). It also flags, for
the principal, what looks filled in by rote (§12): many visits logged in one sitting for the
same day, or the same text on several visits. Flagged, never hidden: the visits stay counted.

Every export is an audited event; every cell goes through `spreadsheets.safe_cell`.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import CHINA, china_day, clock
from baoxue.platform.db import township_id_of
from baoxue.platform.permissions import ROLE_LABELS, Role, UnitKind
from baoxue.platform.scoping import scope_of
from baoxue.platform.spreadsheets import safe_cell
from baoxue.tenants.cases.events import Event
from baoxue.tenants.cases.flows import CLOSING_LABELS, STAGE_LABELS, VISIT_MODES, Closing, EntryKind, Stage
from baoxue.tenants.cases.models import Case, CaseEntry, HomeVisit, Photo, VisitVisitor
from baoxue.tenants.cases.service import _CLASSES, _M, _MC, _U, people, reason_label
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import School, Township, Village

CLASS_TEACHER_TARGET = 20  # visits a semester (DOMAIN.md §10)
WAVERING_TARGET = 3  # visits a semester to a child who wavers
BATCH_SIZE = 5  # this many visits of one day logged by one person ...
BATCH_MINUTES = 30  # ... each within this many minutes of the one before: one sitting
SAME_TEXT = 3  # the same "what was found" on this many visits
FOOTER = "审核人：＿＿＿＿＿＿　　填表人：＿＿＿＿＿＿　　联系电话：＿＿＿＿＿＿＿＿"


# --- semesters --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Semester:
    """A school year's first (September–February) or second (March–August) semester."""

    year: int  # the school year's first calendar year: 2026 for 2026—2027
    term: int  # 1 or 2

    @property
    def code(self) -> str:
        return f"{self.year}-{self.term}"

    @property
    def label(self) -> str:
        return f"{self.year}—{self.year + 1}学年第{'一' if self.term == 1 else '二'}学期"

    @property
    def starts(self) -> date:
        return date(self.year, 9, 1) if self.term == 1 else date(self.year + 1, 3, 1)

    @property
    def ends(self) -> date:
        """The last day."""
        return date(self.year + 1, 3, 1) - timedelta(days=1) if self.term == 1 else date(self.year + 1, 8, 31)

    def moments(self) -> tuple[datetime, datetime]:
        return (datetime.combine(self.starts, time(0), tzinfo=CHINA),
                datetime.combine(self.ends + timedelta(days=1), time(0), tzinfo=CHINA))


def semester_on(day: date) -> Semester:
    if day.month >= 9:
        return Semester(day.year, 1)
    if day.month <= 2:
        return Semester(day.year - 1, 1)
    return Semester(day.year - 1, 2)


def semester_of(code: str) -> Semester:
    """The semester a query names ("2026-1"), or today's."""
    found = re.fullmatch(r"\s*(\d{4})-([12])\s*", code or "")
    if found and 2000 <= int(found.group(1)) <= 2100:
        return Semester(int(found.group(1)), int(found.group(2)))
    return semester_on(clock.today())


def recent_semesters(count: int = 4) -> list[Semester]:
    found, current = [], semester_on(clock.today())
    for _ in range(count):
        found.append(current)
        current = Semester(current.year, 1) if current.term == 2 else Semester(current.year - 1, 2)
    return found


def schools_in_scope(session: Session) -> list[tuple[int, str]]:
    """The schools a reader may pick in a filter (the whole township's, for the township)."""
    scope = scope_of(session)
    query = select(School.id, School.name).order_by(School.id)
    if scope is not None and scope.unit_kind == UnitKind.SCHOOL:
        query = query.where(School.id == scope.unit_id)
    return [(i, n) for i, n in session.execute(query)]


# --- the home-visit register -----------------------------------------------------------------

@dataclass
class TeacherRow:
    membership_id: int
    name: str
    school: str
    role: str
    classes: str = ""
    visits: int = 0
    persuasion: int = 0  # of which on a case (劝返, 回访)
    target: int | None = None

    @property
    def short(self) -> bool:
        return self.target is not None and self.visits < self.target


@dataclass
class WaveringRow:
    student_id: int
    name: str
    class_name: str
    case_id: int
    visits: int

    @property
    def short(self) -> bool:
        return self.visits < WAVERING_TARGET


@dataclass
class VisitRegister:
    semester: Semester
    teachers: list[TeacherRow]
    wavering: list[WaveringRow]
    visits: list[HomeVisit] = field(default_factory=list)


def _visits(session: Session, semester: Semester, school_id: int | None) -> list[HomeVisit]:
    """The semester's visits the reader may see (the visit policy narrows them)."""
    starts, ends = semester.moments()
    query = select(HomeVisit).where(HomeVisit.visited_at >= starts, HomeVisit.visited_at < ends)
    if school_id is not None:
        query = query.where(HomeVisit.school_id == school_id)
    return list(session.scalars(query.order_by(HomeVisit.visited_at, HomeVisit.id)))


def _class_teacher_rows(session: Session, school_id: int | None) -> dict[int, TeacherRow]:
    """Every class teacher of the schools in scope, with their classes, visited or not."""
    scope = scope_of(session)
    if scope is None or scope.unit_kind in (UnitKind.VILLAGE, UnitKind.DEPARTMENT):
        return {}
    schools = dict(session.execute(select(School.id, School.name)).all())
    query = (select(_M.c.id, _U.c.display_name, _M.c.school_id, _CLASSES.c.name, _CLASSES.c.id.label("class_id"))
             .join(_U, _U.c.id == _M.c.user_id)
             .join(_MC, (_MC.c.membership_id == _M.c.id) & (_MC.c.township_id == _M.c.township_id))
             .join(_CLASSES, (_CLASSES.c.id == _MC.c.class_id) & (_CLASSES.c.township_id == _MC.c.township_id))
             .where(_M.c.township_id == township_id_of(session), _M.c.role == Role.CLASS_TEACHER.value,
                    _M.c.is_active.is_(True)))
    if scope.unit_kind == UnitKind.SCHOOL:
        query = query.where(_M.c.school_id == scope.unit_id)
        if scope.class_ids is not None:
            query = query.where(_CLASSES.c.id.in_(list(scope.class_ids)))
    if school_id is not None:
        query = query.where(_M.c.school_id == school_id)
    rows: dict[int, TeacherRow] = {}
    for mid, name, sid, class_name, _class_id in session.execute(query.order_by(_M.c.school_id, _CLASSES.c.grade,
                                                                              _CLASSES.c.name)):
        row = rows.setdefault(mid, TeacherRow(mid, f"{name}", schools.get(sid, ""), ROLE_LABELS[Role.CLASS_TEACHER],
                                              target=CLASS_TEACHER_TARGET))
        row.classes = "、".join(filter(None, (row.classes, class_name)))
    return rows


def visit_register(session: Session, semester: Semester, *, school_id: int | None = None) -> VisitRegister:
    """Visits made per person in the semester against the targets, and the wavering children's."""
    visits = _visits(session, semester, school_id)
    rows = _class_teacher_rows(session, school_id)
    ids = [v.id for v in visits]
    pairs = list(session.execute(select(VisitVisitor.visit_id, VisitVisitor.membership_id)
                                 .where(VisitVisitor.visit_id.in_(ids)))) if ids else []
    by_id = {v.id: v for v in visits}
    missing = {mid for _vid, mid in pairs if mid not in rows}
    if missing:
        schools = dict(session.execute(select(School.id, School.name)).all())
        found = session.execute(select(_M.c.id, _U.c.display_name, _M.c.role, _M.c.school_id)
                                .join(_U, _U.c.id == _M.c.user_id)
                                .where(_M.c.township_id == township_id_of(session), _M.c.id.in_(missing)))
        for mid, name, role, sid in found:
            rows[mid] = TeacherRow(mid, name, schools.get(sid or 0, ""), ROLE_LABELS.get(Role(role), role))
    for visit_id, mid in pairs:
        row = rows.get(mid)
        if row is not None:
            row.visits += 1
            row.persuasion += by_id[visit_id].case_id is not None
    teachers = sorted(rows.values(), key=lambda r: (r.school, r.target is None, r.name))
    return VisitRegister(semester, teachers, _wavering(session, semester, visits, school_id), visits)


def _wavering(session: Session, semester: Semester, visits: list[HomeVisit],
              school_id: int | None) -> list[WaveringRow]:
    """Children with a case during the semester, and their visits in it (target: 3)."""
    starts, ends = semester.moments()
    query = select(Case).where(Case.opened_at < ends, (Case.closed_at.is_(None)) | (Case.closed_at >= starts))
    if school_id is not None:
        query = query.where(Case.school_id == school_id)
    cases = list(session.scalars(query.order_by(Case.student_name)))
    counts: dict[int, int] = defaultdict(int)
    for v in visits:
        counts[v.student_id] += 1
    class_ids = {c.class_id for c in cases if c.class_id}
    classes = dict(session.execute(select(_CLASSES.c.id, _CLASSES.c.name).where(
        _CLASSES.c.township_id == township_id_of(session), _CLASSES.c.id.in_(class_ids))).all()) if class_ids else {}
    seen: set[int] = set()
    rows = []
    for c in cases:
        if c.student_id in seen:
            continue
        seen.add(c.student_id)
        rows.append(WaveringRow(c.student_id, c.student_name, classes.get(c.class_id or 0, ""), c.id,
                                counts[c.student_id]))
    return rows


# --- rote flags -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Flag:
    kind: str  # "batch" | "same_text"
    description: str
    visit_ids: tuple[int, ...]


def _plain_text(text: str) -> str:
    return re.sub(r"[\s，。、；：！？,.;:!?\"'“”‘’（）()]+", "", text)


def rote_flags(session: Session, semester: Semester, *, school_id: int | None = None,
               visits: Sequence[HomeVisit] | None = None) -> list[Flag]:
    """What looks filled in by rote, for the principal to look into (never hidden from the counts)."""
    visits = list(visits) if visits is not None else _visits(session, semester, school_id)
    users = _user_names(session, {v.recorded_by for v in visits})
    flags: list[Flag] = []
    by_sitting: dict[tuple[int, date], list[HomeVisit]] = defaultdict(list)
    for v in visits:
        by_sitting[(v.recorded_by, china_day(v.visited_at))].append(v)
    for (user_id, day), group in sorted(by_sitting.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        group.sort(key=lambda v: v.recorded_at)
        run: list[HomeVisit] = []
        for v in group:
            if run and v.recorded_at - run[-1].recorded_at > timedelta(minutes=BATCH_MINUTES):
                flags += _batch(run, users.get(user_id, ""), day)
                run = []
            run.append(v)
        flags += _batch(run, users.get(user_id, ""), day)
    by_text: dict[str, list[HomeVisit]] = defaultdict(list)
    for v in visits:
        if len(key := _plain_text(v.found)) >= 4:
            by_text[key].append(v)
    for group in by_text.values():
        if len({v.student_id for v in group}) >= SAME_TEXT:
            sample = group[0].found if len(group[0].found) <= 30 else group[0].found[:30] + "…"
            flags.append(Flag("same_text", f"{len(group)} 条家访记录的“了解到的情况”内容相同：“{sample}”",
                              tuple(v.id for v in group)))
    return flags


def _batch(run: list[HomeVisit], who: str, day: date) -> list[Flag]:
    if len(run) < BATCH_SIZE:
        return []
    moment = run[0].recorded_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return [Flag("batch", f"{who}于 {moment} 起一次登记了 {len(run)} 条 {day.isoformat()} 的家访",
                 tuple(v.id for v in run))]


def _user_names(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    return dict(session.execute(select(_U.c.id, _U.c.display_name).where(_U.c.id.in_(ids))).all())


# --- Excel ------------------------------------------------------------------------------------

def _unit_name(session: Session, school_id: int | None) -> str:
    scope = scope_of(session)
    sid = school_id if school_id is not None else (scope.unit_id if scope and scope.unit_kind == UnitKind.SCHOOL
                                                   else None)
    if sid is not None:
        return session.scalar(select(School.name).where(School.id == sid)) or ""
    if scope is not None and scope.unit_kind == UnitKind.VILLAGE:
        return session.scalar(select(Village.name).where(Village.id == scope.unit_id)) or ""
    return session.scalar(select(Township.name).where(Township.id == township_id_of(session))) or ""


def _sheet(wb: Workbook, title: str, heading: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
           before: Sequence[Sequence[Any]] = (), footer: bool = True) -> None:
    """A sheet as officials lay it out: the title, 填报单位/填报时间, the table, the signature line."""
    ws = wb.create_sheet(title)
    width = max(len(headers), 2)
    ws.append([safe_cell(heading)])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(["填报单位（盖章）：", None, None, f"填报时间：{clock.today().isoformat()}"][:max(width, 4)])
    for line in before:
        ws.append([safe_cell(v) for v in line])
    ws.append(list(headers))
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([safe_cell(v) for v in row])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.number_format = "@"
    if footer:
        ws.append([])
        ws.append([FOOTER])
    for index, header in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(index)].width = max(10, min(40, len(str(header)) * 2 + 6))


def _book_bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


VISIT_TEACHER_HEADERS = ("序号", "教师", "学校", "身份", "所带班级", "家访次数", "其中劝返、回访", "学期目标", "是否达标")
VISIT_RECORD_HEADERS = ("序号", "学生姓名", "班级", "家访日期", "家访教师", "家访方式", "参与人员", "家长或监护人及与学生关系",
                        "家访目的", "了解到的情况", "辍学原因", "商定事项", "下次家访日期", "照片（张）", "监护人签字")
WAVERING_HEADERS = ("序号", "学生姓名", "班级", "本学期家访次数", "目标", "是否达标")
FLAG_HEADERS = ("序号", "类型", "说明", "涉及家访记录数")


def do_export_visit_register(session: Session, semester: Semester, *, school_id: int | None = None) -> bytes:
    """The home-visit register of the semester as Excel: per teacher, every visit, the wavering
    children, and the rote flags. Audited."""
    register = visit_register(session, semester, school_id=school_id)
    visits = register.visits
    flags = rote_flags(session, semester, school_id=school_id, visits=visits)
    unit = _unit_name(session, school_id)
    names: dict[int, list[str]] = defaultdict(list)
    ids = [v.id for v in visits]
    if ids:
        for vid, name in session.execute(select(VisitVisitor.visit_id, VisitVisitor.name)
                                         .where(VisitVisitor.visit_id.in_(ids)).order_by(VisitVisitor.id)):
            names[vid].append(name)
    photos: dict[int, int] = defaultdict(int)
    if ids:
        for (vid,) in session.execute(select(Photo.visit_id).where(Photo.visit_id.in_(ids))):
            photos[vid] += 1
    students = dict(session.execute(select(Student.id, Student.name).where(
        Student.id.in_({v.student_id for v in visits}))).all()) if visits else {}
    class_of = dict(session.execute(select(Student.id, _CLASSES.c.name).join(
        _CLASSES, (_CLASSES.c.id == Student.class_id) & (_CLASSES.c.township_id == Student.township_id))
        .where(Student.id.in_(list(students)))).all()) if students else {}

    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, "教师家访统计", f"{unit}教师家访登记统计表（{semester.label}）", VISIT_TEACHER_HEADERS, (
        (n, r.name, r.school, r.role, r.classes, r.visits, r.persuasion, r.target if r.target else "—",
         ("否" if r.short else "是") if r.target else "—") for n, r in enumerate(register.teachers, start=1)))
    _sheet(wb, "家访记录", f"{unit}家访记录表（{semester.label}）", VISIT_RECORD_HEADERS, (
        (n, students.get(v.student_id, ""), class_of.get(v.student_id, ""), china_day(v.visited_at).isoformat(),
         names[v.id][0] if names[v.id] else "", VISIT_MODES.get(v.mode, v.mode), "、".join(names[v.id]), v.met,
         f"第{v.attempt}次劝返" if v.attempt else ("返校后回访" if v.case_id else "常规家访"), v.found,
         reason_label(v.reason_code, v.reason_text), v.agreed, v.next_visit_on.isoformat() if v.next_visit_on else "",
         photos[v.id], "有" if v.signature_key else "无") for n, v in enumerate(visits, start=1)))
    _sheet(wb, "易辍学生家访", f"{unit}易辍学生家访情况（{semester.label}，每生不少于{WAVERING_TARGET}次）",
           WAVERING_HEADERS, ((n, w.name, w.class_name, w.visits, WAVERING_TARGET, "否" if w.short else "是")
                              for n, w in enumerate(register.wavering, start=1)))
    _sheet(wb, "疑似补录", f"{unit}家访登记疑似集中补录、内容雷同提示（{semester.label}）", FLAG_HEADERS, (
        (n, "集中补录" if f.kind == "batch" else "内容雷同", f.description, len(f.visit_ids))
        for n, f in enumerate(flags, start=1)), footer=False)
    audit.record(session, Event.REGISTER_EXPORTED, entity_type="home_visits", changes={
        "register": "visits", "semester": semester.code, "school_id": school_id, "rows": len(visits)})
    return _book_bytes(wb)


DROPOUT_HEADERS = ("序号", "姓名", "性别", "出生年月", "学校", "年级班级", "家长姓名", "家庭住址", "联系电话", "辍学时间",
                   "辍学原因", "去向", "劝返次数", "劝返情况", "承包老师", "包村干部", "备注")


def do_export_dropout_register(session: Session, *, school_id: int | None = None, personal: bool = True) -> bytes:
    """辍学学生登记表: every case in scope that was reported (旷课报告单 or 流失报告), open or closed.

    Without the right to read personal data, the guardian's address and phone are left out."""
    reported = select(CaseEntry.case_id).where(CaseEntry.kind.in_((EntryKind.ABSENCE_REPORT.value,
                                                                   EntryKind.DROPOUT_REPORT.value)))
    query = select(Case).where(Case.id.in_(reported))
    if school_id is not None:
        query = query.where(Case.school_id == school_id)
    cases = list(session.scalars(query.order_by(Case.school_id, Case.first_absent_on, Case.id)))
    students = {s.id: s for s in session.scalars(select(Student).where(
        Student.id.in_({c.student_id for c in cases})))} if cases else {}
    schools = dict(session.execute(select(School.id, School.name)).all())
    class_ids = {c.class_id for c in cases if c.class_id}
    classes = dict(session.execute(select(_CLASSES.c.id, _CLASSES.c.name).where(
        _CLASSES.c.township_id == township_id_of(session), _CLASSES.c.id.in_(class_ids))).all()) if class_ids else {}
    attempts: dict[int, int] = defaultdict(int)
    if cases:
        for (cid,) in session.execute(select(HomeVisit.case_id).where(HomeVisit.case_id.in_([c.id for c in cases]),
                                                                     HomeVisit.attempt.is_not(None))):
            attempts[cid] += 1
    who = people(session, [m for c in cases for m in (c.class_teacher_membership_id, c.township_cadre_membership_id)])

    def state(c: Case) -> str:
        if c.stage != Stage.CLOSED:
            return STAGE_LABELS[Stage(c.stage)]
        closing = CLOSING_LABELS[Closing(c.closing)]
        return f"{closing}（{c.return_date}）" if c.closing == Closing.RETURNED else closing

    def row(n: int, c: Case) -> list[Any]:
        s = students.get(c.student_id)
        guardian = s.guardian if s else None
        return [n, c.student_name, s.gender if s else "", s.birth_date.strftime("%Y-%m") if s else "",
                schools.get(c.school_id, ""), classes.get(c.class_id or 0, ""), guardian.name if guardian else "",
                (s.address if s and personal else ""), (guardian.phone or s.phone if s and guardian and personal
                                                        else ""),
                c.first_absent_on.isoformat() if c.first_absent_on else "", reason_label(c.reason_code, c.reason_text),
                c.whereabouts, attempts[c.id], state(c),
                who[c.class_teacher_membership_id].name if c.class_teacher_membership_id in who else "",
                who[c.township_cadre_membership_id].name if c.township_cadre_membership_id in who else "",
                "再次辍学" if c.previous_case_id else ""]

    wb = Workbook()
    wb.remove(wb.active)
    unit = _unit_name(session, school_id)
    _sheet(wb, "辍学学生登记表", f"{unit}辍学学生登记表（截至{clock.today().isoformat()}）", DROPOUT_HEADERS,
           (row(n, c) for n, c in enumerate(cases, start=1)))
    audit.record(session, Event.REGISTER_EXPORTED, entity_type="cases", changes={
        "register": "dropouts", "school_id": school_id, "rows": len(cases), "personal": personal})
    return _book_bytes(wb)


ATTEMPT_HEADERS = ("劝返次数", "劝返人员姓名", "劝返方式", "劝返时间", "劝返情况记录")
CARE_HEADERS = ("关爱时间", "执行人员", "关爱方式", "关爱结果", "证明材料", "下次跟进日期")


def do_export_persuasion_record(session: Session, case: Case, *, personal: bool = True) -> bytes:
    """劝返情况记录 of one child: who the child is, why they left, every attempt (第N次), and the
    follow-up care after a return. Audited."""
    student = session.scalar(select(Student).where(Student.id == case.student_id))
    school = session.scalar(select(School.name).where(School.id == case.school_id)) or ""
    class_name = session.scalar(select(_CLASSES.c.name).where(_CLASSES.c.township_id == case.township_id,
                                                              _CLASSES.c.id == case.class_id)) if case.class_id else ""
    visits = list(session.scalars(select(HomeVisit).where(HomeVisit.case_id == case.id)
                                  .order_by(HomeVisit.visited_at, HomeVisit.id)))
    names: dict[int, list[str]] = defaultdict(list)
    photos: dict[int, int] = defaultdict(int)
    if visits:
        ids = [v.id for v in visits]
        for vid, name in session.execute(select(VisitVisitor.visit_id, VisitVisitor.name)
                                         .where(VisitVisitor.visit_id.in_(ids)).order_by(VisitVisitor.id)):
            names[vid].append(name)
        for (vid,) in session.execute(select(Photo.visit_id).where(Photo.visit_id.in_(ids))):
            photos[vid] += 1
    measures = [e.summary for e in session.scalars(select(CaseEntry).where(
        CaseEntry.case_id == case.id, CaseEntry.kind.in_((EntryKind.SCHOOL_TALK.value, EntryKind.NOTE.value)))
        .order_by(CaseEntry.number))]
    guardian = student.guardian if student else None
    hidden = "（无权查看）"
    about = [
        ["姓名", case.student_name, "性别", student.gender if student else "",
         "身份证号码", (student.id_number or "") if student and personal else hidden],
        ["就读学校及年级", f"{school}{class_name or ''}", "辍学年月",
         case.first_absent_on.strftime("%Y年%m月") if case.first_absent_on else "", "监护人姓名",
         guardian.name if guardian else ""],
        ["电话", (guardian.phone if guardian else "") if personal else hidden, "家庭住址",
         (student.address if student else "") if personal else hidden, "户籍所在地",
         (student.hukou_place if student else "") if personal else hidden],
        ["辍学原因", reason_label(case.reason_code, case.reason_text), "去向", case.whereabouts],
        ["已采取的帮扶措施", "；".join(measures) or "—"],
        [],
    ]
    attempts = [v for v in visits if v.attempt]
    care = [v for v in visits if not v.attempt]

    def attempt_row(v: HomeVisit) -> list[Any]:
        text = v.found + (f" 商定：{v.agreed}" if v.agreed else "")
        evidence = f"（照片{photos[v.id]}张{'，监护人已签字' if v.signature_key else ''}）" if photos[v.id] or \
            v.signature_key else ""
        return [f"第{v.attempt}次", "、".join(names[v.id]), VISIT_MODES.get(v.mode, v.mode),
                v.visited_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"), text + evidence]

    wb = Workbook()
    wb.remove(wb.active)
    title = f"{case.student_name}劝返情况记录"
    _sheet(wb, "劝返情况记录", title, ATTEMPT_HEADERS, (attempt_row(v) for v in attempts), before=about)
    _sheet(wb, "返校后跟踪关爱", f"{case.student_name}返校后跟踪关爱记录", CARE_HEADERS, (
        (v.visited_at.astimezone(CHINA).strftime("%Y-%m-%d"), "、".join(names[v.id]), VISIT_MODES.get(v.mode, v.mode),
         v.found, f"照片{photos[v.id]}张" if photos[v.id] else "", v.next_visit_on.isoformat() if v.next_visit_on else "")
        for v in care))
    audit.record(session, Event.REGISTER_EXPORTED, entity=case, changes={
        "register": "persuasion", "attempts": len(attempts), "personal": personal})
    return _book_bytes(wb)
