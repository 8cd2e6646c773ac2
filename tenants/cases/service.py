"""The case file (一生一案): the reads its pages need, and its actions.

* `do_open_case`: a teacher, a village cadre or the office opens a case for a child (by hand
  today; attendance and the census will open them too, `opened_via`). One open case per child
  (checked here, and by the partial unique index: 409 either way). The case names who answers
  for it on both lines (DOMAIN.md §3): the class's class teacher and the school's principal,
  the village cadre of the child's village and the township cadre who takes the village (包村).
  The platform does not yet record which cadre takes which village, so the township cadre is
  the township's first active office membership (领导小组办公室, the 基教办 in seed 001);
  when 包村 assignments exist, `_responsible` is the one place to change. A child whose last
  case closed opens a relapse, linked to it (`previous_case_id`).
* `do_move_stage`: identified → reported → persuading → enforcing, one step at a time, each
  with its rule: reporting files the 旷课报告单 or the 流失报告 (reason, and for the dropout
  report the whereabouts); enforcement needs three persuasion attempts first (DOMAIN.md §6).
* `do_record_visit`: a home visit (家访/劝返) with its visitors, photos and the guardian's
  signature. On an open case it is the case's next attempt (第N次劝返) and a timeline entry; on a
  returned child under watch (辍返生) it is a follow-up visit; otherwise a routine visit, which
  the home-visit register counts.
* `do_record_entry`: a call, a talk at school, a note, a dropout report filed later, or a
  correction naming the entry it corrects (entries are never edited).
* `do_close_case`: only as one of `flows.CLOSINGS`, each with its evidence. A return names its
  date and class: the platform proposes the grade (`flows.placement_grade`), the school
  confirms by choosing the class; the child is then watched for the township's
  `return_watch_weeks` (辍返生), with a follow-up visit due every `return_visit_days`.

Every action audits itself in the caller's transaction, flushes, never commits, and tells the
worklist what the case needs now (`reconcile_case`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import PurePath
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.access import access
from baoxue.platform.clock import CHINA, china_day, clock, start_of
from baoxue.platform.concepts import notify
from baoxue.platform.db import township_id_of
from baoxue.platform.errors import Conflict, Forbidden, InvalidInput, not_found
from baoxue.platform.files import document_media_type, document_problem, storage
from baoxue.platform.permissions import Role, ROLE_LABELS, UnitKind
from baoxue.platform.scoping import consequences
from baoxue.platform.settings import Settings, get_settings
from baoxue.platform.text import field_date, field_text, normalise, text_refusal
from baoxue.tenants.cases import timeline
from baoxue.tenants.cases.events import Event
from baoxue.tenants.cases.flows import (
    Closing,
    CLOSING_LABELS,
    CLOSINGS,
    ENTRY_LABELS,
    EntryKind,
    REASONS,
    Stage,
    STAGE_LABELS,
    STAGE_ORDER,
    VISIT_MODES,
    placement_grade,
)
from baoxue.tenants.cases.models import Case, CaseEntry, HomeVisit, Photo, VisitVisitor
from baoxue.tenants.cases.policy import access_case
from baoxue.tenants.school_calendar.rules import Rules, rules_of
from baoxue.tenants.school_calendar.service import Calendar
from baoxue.tenants.students.models import STATUS_LABELS, Student
from baoxue.tenants.students.policy import access_student
from baoxue.tenants.tenancy import lookups
from baoxue.tenants.tenancy.lookups import ClassRow, class_teachers, classes_of_school
from baoxue.tenants.tenancy.models import Membership, MembershipClass, School, SchoolClass, Township, User, Village
from baoxue.tenants.tenancy.service import GRADE_NAMES
from baoxue.tenants.worklist import service as worklist
from baoxue.tenants.worklist.service import Due, Owner

SUBJECT = "cases"  # what the worklist's items name as their record
PAGE_SIZE = 50
MIN_ATTEMPTS = 3  # DOMAIN.md §6 step 3: at least three home visits before anything harsher
MAX_PHOTOS = 6
PHOTO_KIND, SIGNATURE_KIND, DOCUMENT_KIND = "case-photos", "signatures", "case-documents"
# A child on these statuses is not "at risk of leaving": graduated, transferred, dead, ...
OPENABLE_STATUSES = frozenset({"01", "02", "05", "06", "15", "99"})
NEXT_STAGE = {Stage.IDENTIFIED: Stage.REPORTED, Stage.REPORTED: Stage.PERSUADING, Stage.PERSUADING: Stage.ENFORCING}
REPORT_KINDS = {EntryKind.ABSENCE_REPORT: "旷课报告单", EntryKind.DROPOUT_REPORT: "流失报告"}
# What `do_record_entry` takes; visits, stage moves and the closing have their own actions.
ENTRY_KINDS = (EntryKind.PHONE_CALL, EntryKind.SCHOOL_TALK, EntryKind.NOTE, EntryKind.DROPOUT_REPORT,
               EntryKind.CORRECTION)
CONTACTS = frozenset({EntryKind.PHONE_CALL, EntryKind.HOME_VISIT, EntryKind.SCHOOL_TALK})
SKEW = timedelta(minutes=10)  # a phone's clock a little ahead is not "in the future"

# Membership and class rows read as plain tables, narrowed to the township by hand: a case names
# its responsible people whoever opens it (a village cadre cannot read the school's staff), and
# a visit's visitors come from both lines. Only ids, names and roles leave these reads.
_M = Membership.__table__
_MC = MembershipClass.__table__
_U = User.__table__
_CLASSES = SchoolClass.__table__
_CASES = Case.__table__


# --- small helpers ----------------------------------------------------------------------------

def _date(value: Any, label: str, errors: dict[str, str], key: str) -> date | None:
    """A date from the API (a date) or a form ("2026-11-27"; "" for none)."""
    return field_date(value, errors, key, label=label)


def _moment(value: Any, label: str, errors: dict[str, str], key: str) -> datetime | None:
    """A moment from the API (aware or China's wall clock) or a form ("2026-11-27T15:30")."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=CHINA)
    if isinstance(value, date):
        return datetime.combine(value, time(12, 0), tzinfo=CHINA)
    text = normalise(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        errors[key] = f"{label}的格式应为 年-月-日 时:分，例如 2026-11-27 15:30。"
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA)


def _reason(code: Any, text: Any, errors: dict[str, str], *, required: bool) -> tuple[str, str]:
    """A reason for leaving from the coded list; 其他 needs its text."""
    code, text = normalise(code), normalise(text)
    if not code:
        if required:
            errors["reason_code"] = "请选择辍学（离校）原因。"
        return "", text
    if code not in REASONS:
        errors["reason_code"] = "请从列表中选择原因。"
        return "", text
    if code == "other" and not text:
        errors["reason_text"] = "原因选择“其他”时，须写明具体原因。"
    elif problem := text_refusal(text, label="原因说明", max_length=500, required=False, multiline=True):
        errors["reason_text"] = problem
    return code, text


def _text(value: Any, label: str, errors: dict[str, str], key: str, *, required: bool = False,
          max_length: int = 2000) -> str:
    return field_text(value, errors, key, label=label, max_length=max_length, required=required, multiline=True)


def _settings_of(session: Session) -> tuple[int, int]:
    """(return_watch_weeks, return_visit_days) of the township."""
    row = session.execute(select(Township.return_watch_weeks, Township.return_visit_days)
                          .where(Township.id == township_id_of(session))).first()
    return (row[0], row[1]) if row else (8, 14)


def _open_case_id(session: Session, student_id: int) -> int | None:
    """The child's open case, whoever may read it (one who opens a second must learn of the first)."""
    return session.scalar(select(_CASES.c.id).where(
        _CASES.c.township_id == township_id_of(session), _CASES.c.student_id == student_id,
        _CASES.c.stage != Stage.CLOSED.value).limit(1))


def _last_closed_case_id(session: Session, student_id: int) -> int | None:
    return session.scalar(select(_CASES.c.id).where(
        _CASES.c.township_id == township_id_of(session), _CASES.c.student_id == student_id,
        _CASES.c.stage == Stage.CLOSED.value).order_by(_CASES.c.closed_at.desc(), _CASES.c.id.desc()).limit(1))


# --- people -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    membership_id: int
    name: str  # 王芳（班主任）
    role: str
    line: str  # "education" | "government"


def _people_query(session: Session) -> Any:
    return (select(_M.c.id, _U.c.display_name, _M.c.role, _M.c.title)
            .join(_U, _U.c.id == _M.c.user_id)
            .where(_M.c.township_id == township_id_of(session), _M.c.is_active.is_(True)))


def _person(row: Any) -> Person:
    role = Role(row.role)
    line = "government" if role.unit_kind in (UnitKind.VILLAGE, UnitKind.TOWNSHIP) else "education"
    return Person(row.id, f"{row.display_name}（{row.title or ROLE_LABELS.get(role, role.value)}）"[:64], role.value,
                  line)


def people(session: Session, membership_ids: Iterable[int | None]) -> dict[int, Person]:
    """Memberships by id, with names (one query)."""
    ids = sorted({i for i in membership_ids if i is not None})
    if not ids:
        return {}
    rows = session.execute(_people_query(session).where(_M.c.id.in_(ids)))
    return {row.id: _person(row) for row in rows}


def visitor_choices(session: Session, school_id: int, village_id: int | None) -> list[Person]:
    """Who may be named as a visitor: the child's school, their village's cadres, the township office."""
    m = _M.c
    sides = [m.school_id == school_id, m.role.in_((Role.OFFICE_STAFF.value, Role.LEADER.value))]
    if village_id is not None:
        sides.append(and_(m.village_id == village_id, m.role == Role.VILLAGE_CADRE.value))
    rows = session.execute(_people_query(session).where(or_(*sides)).order_by(m.school_id.is_(None), m.role, m.id))
    return [_person(row) for row in rows]


def _first_membership(session: Session, *where: Any) -> int | None:
    return session.scalar(select(_M.c.id).where(_M.c.township_id == township_id_of(session), _M.c.is_active.is_(True),
                                                *where).order_by(_M.c.id).limit(1))


def _responsible(session: Session, student: Student) -> dict[str, int | None]:
    """Who answers for a new case, on both lines (DOMAIN.md §3)."""
    teachers = class_teachers(session, student.class_id)
    village = (_first_membership(session, _M.c.role == Role.VILLAGE_CADRE.value,
                                 _M.c.village_id == student.residence_village_id)
               if student.residence_village_id is not None else None)
    return {
        "class_teacher_membership_id": teachers[0] if teachers else None,
        "principal_membership_id": _first_membership(session, _M.c.role == Role.PRINCIPAL.value,
                                                     _M.c.school_id == student.school_id),
        "village_cadre_membership_id": village,
        # 包村干部: the cadre who takes the child's village; a village nobody takes yet, the office.
        "township_cadre_membership_id": _liaison(session, student.residence_village_id)
        or _first_membership(session, _M.c.role == Role.OFFICE_STAFF.value),
    }


def _liaison(session: Session, village_id: int | None) -> int | None:
    """The village's 包村干部 (a plain-table read: a teacher opening a case may not read villages' staff)."""
    if village_id is None:
        return None
    villages = Village.__table__
    return session.scalar(select(villages.c.liaison_membership_id).where(
        villages.c.township_id == township_id_of(session), villages.c.id == village_id))


# --- reads ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseView:
    case: Case
    school: str
    class_name: str
    village: str
    attempts: int = 0

    @property
    def stage_label(self) -> str:
        return STAGE_LABELS.get(Stage(self.case.stage), self.case.stage)

    @property
    def closing_label(self) -> str:
        return CLOSING_LABELS[Closing(self.case.closing)] if self.case.closing else ""

    @property
    def reason_label(self) -> str:
        return reason_label(self.case.reason_code, self.case.reason_text)

    @property
    def returner(self) -> bool:
        """辍返生: returned and still watched."""
        return timeline.under_watch(self.case)


def reason_label(code: str, text: str) -> str:
    if not code:
        return text
    label = REASONS.get(code, code)
    return f"{label}：{text}" if text and code == "other" else (f"{label}（{text}）" if text else label)


@dataclass(frozen=True)
class CaseFilters:
    stage: str = ""
    school_id: int | None = None
    student_id: int | None = None
    q: str = ""
    watch: bool = False  # only returned children still watched

    def query(self) -> dict[str, Any]:
        values = {"stage": self.stage, "school_id": self.school_id, "student_id": self.student_id, "q": self.q,
                  "watch": "1" if self.watch else ""}
        return {k: v for k, v in values.items() if v not in (None, "")}


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseView]
    total: int
    page: int
    pages: int
    by_stage: dict[str, int]  # every case in scope by stage, whatever the filters


def _names(session: Session, cases: Sequence[Case]) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """School, class and village names of the cases: three queries at most."""
    if not cases:
        return {}, {}, {}
    schools = dict(session.execute(select(School.id, School.name)).all())
    villages = dict(session.execute(select(Village.id, Village.name)).all())
    class_ids = {c for case in cases for c in (case.class_id, case.return_class_id) if c is not None}
    classes = dict(session.execute(select(_CLASSES.c.id, _CLASSES.c.name).where(
        _CLASSES.c.township_id == township_id_of(session), _CLASSES.c.id.in_(class_ids))).all()) if class_ids else {}
    return schools, classes, villages


def _attempts(session: Session, case_ids: list[int]) -> dict[int, int]:
    if not case_ids:
        return {}
    return dict(session.execute(select(HomeVisit.case_id, func.count(HomeVisit.id)).where(
        HomeVisit.case_id.in_(case_ids), HomeVisit.attempt.is_not(None)).group_by(HomeVisit.case_id)).all())


def _views(session: Session, cases: Sequence[Case]) -> list[CaseView]:
    schools, classes, villages = _names(session, cases)
    attempts = _attempts(session, [c.id for c in cases])
    return [CaseView(c, schools.get(c.school_id, ""), classes.get(c.class_id or 0, ""),
                     villages.get(c.village_id or 0, ""), attempts.get(c.id, 0)) for c in cases]


def list_cases(session: Session, filters: CaseFilters = CaseFilters(), *, page: int = 1) -> CasePage:
    """One page of the cases in scope, open first then newest: seven queries at most."""
    query = select(Case)
    if filters.stage:
        query = query.where(Case.stage == filters.stage)
    if filters.school_id is not None:
        query = query.where(Case.school_id == filters.school_id)
    if filters.student_id is not None:
        query = query.where(Case.student_id == filters.student_id)
    if filters.q.strip():
        query = query.where(Case.student_name.contains(filters.q.strip()))
    if filters.watch:
        query = query.where(Case.closing == Closing.RETURNED.value, Case.watch_until >= clock.today())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    cases = list(session.scalars(query.order_by((Case.stage == Stage.CLOSED.value), Case.opened_at.desc(),
                                                Case.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    by_stage = dict(session.execute(select(Case.stage, func.count(Case.id)).group_by(Case.stage)).all())
    return CasePage(_views(session, cases), total, page, pages, by_stage)


def cases_of_student(session: Session, student_id: int) -> list[CaseView]:
    """A child's cases, current and earlier, newest first (the student's page)."""
    cases = list(session.scalars(select(Case).where(Case.student_id == student_id)
                                 .order_by(Case.opened_at.desc(), Case.id.desc())))
    return _views(session, cases)


def returner_ids(session: Session, student_ids: Iterable[int] | None = None) -> set[int]:
    """Children flagged 辍返生 today (returned, still watched): attendance raises the alarm on day one."""
    query = select(Case.student_id).where(Case.closing == Closing.RETURNED.value, Case.watch_until >= clock.today())
    if student_ids is not None:
        query = query.where(Case.student_id.in_(list(student_ids)))
    return set(session.scalars(query))


@dataclass(frozen=True)
class VisitView:
    visit: HomeVisit
    visitors: list[str]
    photos: list[Photo]

    @property
    def mode_label(self) -> str:
        return VISIT_MODES.get(self.visit.mode, self.visit.mode)

    @property
    def reason_label(self) -> str:
        return reason_label(self.visit.reason_code, self.visit.reason_text)

    @property
    def title(self) -> str:
        if self.visit.attempt:
            return f"第{self.visit.attempt}次劝返"
        return "返校后回访" if self.visit.case_id else "家访"


def _visit_views(session: Session, visits: Sequence[HomeVisit]) -> dict[int, VisitView]:
    """Visits with their visitors' names and photos: two queries, however many visits."""
    ids = [v.id for v in visits]
    if not ids:
        return {}
    visitors: dict[int, list[str]] = {}
    for visit_id, name in session.execute(select(VisitVisitor.visit_id, VisitVisitor.name)
                                          .where(VisitVisitor.visit_id.in_(ids)).order_by(VisitVisitor.id)):
        visitors.setdefault(visit_id, []).append(name)
    photos: dict[int, list[Photo]] = {}
    for photo in session.scalars(select(Photo).where(Photo.visit_id.in_(ids)).order_by(Photo.id)):
        photos.setdefault(photo.visit_id or 0, []).append(photo)
    return {v.id: VisitView(v, visitors.get(v.id, []), photos.get(v.id, [])) for v in visits}


@dataclass(frozen=True)
class Placement:
    """The grade a returner is proposed for, and the classes of that grade the school may choose."""

    grade_left: int | None
    proposed: int | None
    classes: list[ClassRow]

    @property
    def proposed_name(self) -> str:
        return GRADE_NAMES[self.proposed] if self.proposed else ""


@dataclass(frozen=True)
class CaseDetail:
    view: CaseView
    student: Student | None
    entries: list[CaseEntry]
    visits: dict[int, VisitView]
    people: dict[str, Person | None]  # class_teacher, principal, village_cadre, township_cadre
    items: list[Any]  # the worklist items open now
    notices: list[Any]
    previous: Case | None
    later: list[int]  # cases opened after this one (a relapse)
    return_class: str

    @property
    def case(self) -> Case:
        return self.view.case

    @property
    def next_stage(self) -> Stage | None:
        return NEXT_STAGE.get(Stage(self.case.stage))

    @property
    def follow_ups(self) -> list[VisitView]:
        return [v for v in self.visits.values() if v.visit.attempt is None]


def _notices_of(session: Session, case_id: int) -> list[Any]:
    """The enforcement chain's documents (tenants/cases/notices.py), once that part exists."""
    try:
        from baoxue.tenants.cases.notices import notices_of
    except ImportError:
        return []
    return list(notices_of(session, case_id))


def get_case(session: Session, case_id: int) -> CaseDetail:
    """One case in scope with its whole timeline (or the one 404): a fixed number of queries."""
    case = access_case(session, case_id)
    view = _views(session, [case])[0]
    student = session.scalar(select(Student).where(Student.id == case.student_id))
    visits = list(session.scalars(select(HomeVisit).where(HomeVisit.case_id == case.id).order_by(HomeVisit.visited_at,
                                                                                                  HomeVisit.id)))
    found = people(session, (case.class_teacher_membership_id, case.principal_membership_id,
                             case.village_cadre_membership_id, case.township_cadre_membership_id))
    previous = (session.scalar(select(Case).where(Case.id == case.previous_case_id))
                if case.previous_case_id else None)
    later = list(session.scalars(select(Case.id).where(Case.previous_case_id == case.id)))
    return_class = lookups.class_row(session, case.return_class_id)
    return CaseDetail(
        view=view, student=student, entries=timeline.entries_of(session, case.id),
        visits=_visit_views(session, visits),
        people={"class_teacher": found.get(case.class_teacher_membership_id or 0),
                "principal": found.get(case.principal_membership_id or 0),
                "village_cadre": found.get(case.village_cadre_membership_id or 0),
                "township_cadre": found.get(case.township_cadre_membership_id or 0)},
        items=[i for i in worklist.items_about(session, SUBJECT, case.id) if i.closed_at is None],
        notices=_notices_of(session, case.id), previous=previous, later=later,
        return_class=return_class.name if return_class else "")


def placement(session: Session, case: Case, student: Student | None, returned_on: date | None = None) -> Placement:
    """The placement the platform proposes for a return on `returned_on` (DOMAIN.md §13)."""
    left = lookups.class_row(session, case.class_id)
    classes = classes_of_school(session, case.school_id)
    if left is None or student is None:
        return Placement(None, None, classes)
    left_on = case.first_absent_on or china_day(case.opened_at)
    proposed = placement_grade(left.grade, left_on, returned_on or clock.today(), student.birth_date)
    return Placement(left.grade, proposed, classes)


def visits_of(session: Session, visit_ids: Iterable[int]) -> dict[int, VisitView]:
    visits = list(session.scalars(select(HomeVisit).where(HomeVisit.id.in_(list(visit_ids)))))
    return _visit_views(session, visits)


@dataclass(frozen=True)
class OpenForm:
    student: Student
    school: str
    class_name: str
    open_case_id: int | None
    previous_case_id: int | None


def open_form(session: Session, student_id: int) -> OpenForm:
    student = access_student(session, student_id)
    school = session.scalar(select(School.name).where(School.id == student.school_id)) or ""
    class_row = lookups.class_row(session, student.class_id)
    return OpenForm(student, school, class_row.name if class_row else "",
                    _open_case_id(session, student.id), _last_closed_case_id(session, student.id))


# --- the worklist -----------------------------------------------------------------------------

def _owner(case: Case, who: str) -> Owner:
    """A responsible person's owner; a post left empty falls to the role of the unit."""
    if who == "class_teacher":
        if case.class_teacher_membership_id:
            return Owner(UnitKind.SCHOOL, case.school_id, Role.CLASS_TEACHER.value, case.class_teacher_membership_id)
        return Owner(UnitKind.SCHOOL, case.school_id, Role.ACADEMIC_OFFICE.value)  # a class without one
    if who == "principal":
        return Owner(UnitKind.SCHOOL, case.school_id, Role.PRINCIPAL.value, case.principal_membership_id)
    if who == "village_cadre":
        return Owner(UnitKind.VILLAGE, case.village_id, Role.VILLAGE_CADRE.value, case.village_cadre_membership_id)
    return Owner(UnitKind.TOWNSHIP, None, Role.OFFICE_STAFF.value, case.township_cadre_membership_id)


@dataclass(frozen=True)
class _Facts:
    kinds: set[str]
    attempts: int
    last_visit: HomeVisit | None
    stage_since: date
    visitor_roles: set[str]

    @property
    def village_visited(self) -> bool:
        return Role.VILLAGE_CADRE.value in self.visitor_roles

    @property
    def leader_visited(self) -> bool:
        """A school leader (the principal, or the academic office's head) went: the final visit."""
        return bool(self.visitor_roles & {Role.PRINCIPAL.value, Role.ACADEMIC_OFFICE.value})


@dataclass(frozen=True)
class _Deadlines:
    """The case's days counted on its school's calendar from the first day away (day 1), by the
    township's rules; a case opened by hand for a child long away is due no earlier than its
    opening (`floor`), one opened by attendance keeps the days the steps fell due."""

    calendar: Calendar
    rules: Rules
    school_id: int
    first: date
    floor: date

    def step(self, n: int) -> date:
        return max(self.calendar.day_n(self.school_id, self.first, n), self.floor)

    def after(self, day: date, n: int = 1) -> date:
        return self.calendar.after(self.school_id, day, n)


def _deadlines(session: Session, case: Case) -> _Deadlines:
    opened = china_day(case.opened_at)
    calendar = Calendar.load(session, [case.school_id])
    floor = date.min if case.opened_via == "attendance" else calendar.day_n(case.school_id, opened, 1)
    return _Deadlines(calendar, rules_of(session), case.school_id, case.first_absent_on or opened, floor)


def _facts(session: Session, case: Case) -> _Facts:
    kinds = set(session.scalars(select(CaseEntry.kind).where(CaseEntry.case_id == case.id)))
    attempts = session.scalar(select(func.count(HomeVisit.id)).where(HomeVisit.case_id == case.id,
                                                                      HomeVisit.attempt.is_not(None))) or 0
    last = session.scalars(select(HomeVisit).where(HomeVisit.case_id == case.id)
                           .order_by(HomeVisit.visited_at.desc(), HomeVisit.id.desc()).limit(1)).first()
    moved = session.scalar(select(func.max(CaseEntry.occurred_at)).where(
        CaseEntry.case_id == case.id, CaseEntry.kind.in_((EntryKind.STAGE.value, EntryKind.OPENED.value))))
    roles = set(session.scalars(select(_M.c.role).distinct().join(
        VisitVisitor, _M.c.id == VisitVisitor.membership_id).join(
        HomeVisit, HomeVisit.id == VisitVisitor.visit_id).where(HomeVisit.case_id == case.id)))
    return _Facts(kinds, attempts, last, china_day(moved or case.opened_at), roles)


def _notice_dues(session: Session, case: Case) -> list[Due] | None:
    """The enforcement chain's items (tenants/cases/notices.py); None until that part exists."""
    try:
        from baoxue.tenants.cases.notices import notice_dues
    except ImportError:
        return None
    return list(notice_dues(session, case))


def wanted(session: Session, case: Case) -> list[Due]:
    """The items the case needs now, for whom, by when: each on its school day (DOMAIN.md §6)."""
    href, name = f"/cases/{case.id}", case.student_name
    if case.stage == Stage.CLOSED:
        return _follow_up(session, case, href)
    facts = _facts(session, case)
    days = _deadlines(session, case)
    rules = days.rules
    dues: list[Due] = []
    stage = Stage(case.stage)
    if stage == Stage.IDENTIFIED:
        if not facts.kinds & {k.value for k in CONTACTS}:
            dues.append(Due("cases:contact", f"联系家长并家访：{name}（疑似辍学）", href, _owner(case, "class_teacher"),
                            days.step(rules.step_contact)))
        else:
            dues.append(Due("cases:report", f"填报旷课报告单并上报：{name}", href, _owner(case, "class_teacher"),
                            days.step(rules.step_report)))
    if stage in (Stage.REPORTED, Stage.PERSUADING):
        if facts.attempts < MIN_ATTEMPTS:
            last = facts.last_visit
            if last is None:
                due = days.step(rules.step_visits) if case.opened_via == "attendance" else days.after(facts.stage_since)
            else:
                due = last.next_visit_on or days.after(china_day(last.visited_at))
            dues.append(Due("cases:visit", f"第{facts.attempts + 1}次劝返：{name}", href,
                            _owner(case, "class_teacher"), due))
        if not facts.leader_visited:
            due = days.step(rules.step_final_visit)
            dues.append(Due("cases:final_visit", f"校领导与班主任最后一次家访：{name}", href, _owner(case, "principal"),
                            due, due))
        if case.village_id is not None and not facts.village_visited:
            dues.append(Due("cases:village", f"入户协助劝返：{name}（村委会）", href, _owner(case, "village_cadre"),
                            max(days.step(rules.step_village), facts.stage_since)))
    if EntryKind.DROPOUT_REPORT.value not in facts.kinds:
        due = days.step(rules.step_confirm)
        dues.append(Due("cases:confirm", f"确认流失并报送流失报告（乡镇、村委会、县教育局）：{name}", href,
                        _owner(case, "principal"), due, due))
    notices = _notice_dues(session, case)
    if notices is not None:
        dues.extend(notices)
    elif stage == Stage.ENFORCING:
        dues.append(Due("cases:enforce", f"依法控辍：{name}（制发并送达文书）", href, _owner(case, "township_cadre"),
                        days.after(facts.stage_since, 5)))
    return dues


def _follow_up(session: Session, case: Case, href: str) -> list[Due]:
    """A returned child's follow-up visits: one every `return_visit_days` until `watch_until`."""
    if case.closing != Closing.RETURNED or case.return_date is None or case.watch_until is None:
        return []
    _weeks, every = _settings_of(session)
    last = session.scalar(select(func.max(HomeVisit.visited_at)).where(HomeVisit.case_id == case.id,
                                                                        HomeVisit.attempt.is_(None)))
    done = session.scalar(select(func.count(HomeVisit.id)).where(HomeVisit.case_id == case.id,
                                                                  HomeVisit.attempt.is_(None))) or 0
    base = max(case.return_date, china_day(last)) if last is not None else case.return_date
    due = base + timedelta(days=every)
    if due > case.watch_until:
        return []
    return [Due("cases:follow_up", f"辍返生回访（第{done + 1}次）：{case.student_name}", href,
                _owner(case, "class_teacher"), due)]


def reconcile_case(session: Session, case: Case) -> None:
    """Open, move and close the case's worklist items to match what it needs now.

    A case's items belong to both lines (the school's teachers, the village, the township), so
    they are reconciled under the township's scope, as the case's consequences.
    """
    with consequences(session):
        worklist.reconcile(session, SUBJECT, case.id, wanted(session, case))


# --- open -------------------------------------------------------------------------------------

def _acting_membership(actor: Any) -> Any:
    m = getattr(actor, "membership", None)
    if m is None:
        raise Forbidden(detail="请先选择工作身份。")
    return m


def do_open_case(session: Session, actor: Any, student_id: int, *, first_absent_on: Any = None,
                 reason_code: str = "", reason_text: str = "", note: str = "",
                 opened_via: str = "manual") -> Case:
    """Open a case for a child at risk of leaving (疑似辍学); one open case per child."""
    _acting_membership(actor)
    student = access_student(session, student_id)
    errors: dict[str, str] = {}
    if student.status not in OPENABLE_STATUSES:
        errors["student_id"] = (f"该学生的学籍状态是“{STATUS_LABELS.get(student.status, student.status)}”，"
                                "不需要建立控辍个案。")
    absent_on = _date(first_absent_on, "首次缺课日期", errors, "first_absent_on")
    if absent_on is not None and absent_on > clock.today():
        errors["first_absent_on"] = "首次缺课日期不能晚于今天。"
    code, text = _reason(reason_code, reason_text, errors, required=False)
    note = _text(note, "情况说明", errors, "note", required=True)
    if opened_via not in ("manual", "attendance", "census"):
        errors["opened_via"] = "立案来源无效。"
    if errors:
        raise InvalidInput(errors)
    if (existing := _open_case_id(session, student.id)) is not None:
        raise Conflict(detail=f"该学生已有未结案的控辍个案（#{existing}），请在该个案中继续记录。")

    case = _create_case(session, actor, student, opened_via=opened_via, first_absent_on=absent_on,
                        reason_code=code, reason_text=text, note=note)
    reconcile_case(session, case)
    return case


def _create_case(session: Session, actor: Any, student: Student, *, opened_via: str, first_absent_on: date | None,
                 reason_code: str = "", reason_text: str = "", note: str) -> Case:
    now = clock.now()
    case = Case(township_id=township_id_of(session), student_id=student.id, student_name=student.name,
                school_id=student.school_id, class_id=student.class_id, village_id=student.residence_village_id,
                stage=Stage.IDENTIFIED.value, opened_via=opened_via, opened_by=actor.user_id, opened_at=now,
                first_absent_on=first_absent_on, reason_code=reason_code, reason_text=reason_text,
                previous_case_id=_last_closed_case_id(session, student.id), **_responsible(session, student))
    try:
        # A savepoint: the partial unique index refuses a second case opened at the same moment.
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError:
        raise Conflict(detail="该学生刚刚已有控辍个案建立，请刷新页面后查看。") from None
    relapse = "（再次辍学，关联前一个案）" if case.previous_case_id else ""
    timeline.add_entry(session, case, EntryKind.OPENED, actor, occurred_at=now, summary=note + relapse,
                       details={"opened_via": opened_via, "first_absent_on": first_absent_on,
                                "reason_code": reason_code, "previous_case_id": case.previous_case_id})
    audit.record(session, Event.OPENED, entity=case, changes={
        "student_id": student.id, "opened_via": opened_via, "first_absent_on": first_absent_on,
        "previous_case_id": case.previous_case_id})
    notify("figures_moved", session, what="case_opened", record_id=case.id)  # a new suspected dropout
    return case


def open_from_attendance(session: Session, actor: Any, student_id: int, *, first_absent_on: date, days: int,
                         returner: bool = False, report: dict[str, Any] | None = None) -> Case:
    """The escalation opens the case (疑似辍学) on the village day, or on day one for a returner.

    Called by `attendance.escalation` as the consequence of a report it has authorized (or by
    the township's job). The case begins with everything the run already has: the calls and
    visits since the first day become its first attempts, and a 旷课报告单 already filed moves it
    to "reported", so nothing is asked twice.
    """
    student = session.scalar(select(Student).where(Student.id == student_id))
    if student is None:
        raise not_found()
    why = "辍返生再次缺课，当日立案" if returner else f"连续旷课{days}个教学日"
    case = _create_case(session, actor, student, opened_via="attendance", first_absent_on=first_absent_on,
                        note=f"到校日报告：自{first_absent_on:%Y年%m月%d日}起未到校，{why}，认定为疑似辍学。")
    for attempt, visit in enumerate(session.scalars(select(HomeVisit).where(
            HomeVisit.student_id == student.id, HomeVisit.case_id.is_(None),
            HomeVisit.visited_at >= start_of(first_absent_on), HomeVisit.visited_at <= clock.now()).order_by(HomeVisit.visited_at, HomeVisit.id)), 1):
        visit.case_id, visit.attempt = case.id, attempt
        session.execute(update(Photo).where(Photo.visit_id == visit.id).values(case_id=case.id))
        timeline.add_entry(session, case, EntryKind.HOME_VISIT, actor, occurred_at=visit.visited_at,
                           visit_id=visit.id, summary=f"第{attempt}次劝返（{VISIT_MODES.get(visit.mode, visit.mode)}，"
                           f"立案前登记）：见到{visit.met}。{visit.found}",
                           details={"attempt": attempt, "mode": visit.mode, "before_case": True})
    if report is not None:
        facts = {"first_absent_on": first_absent_on, "reason_code": report["reason_code"],
                 "reason_text": report["text"], "whereabouts": ""}
        case.reason_code = report["reason_code"]
        timeline.add_entry(session, case, EntryKind.ABSENCE_REPORT, actor, occurred_at=report["filed_at"],
                           summary=_report_summary(EntryKind.ABSENCE_REPORT, facts, ""), details=facts)
        case.stage = Stage.REPORTED.value
        session.flush()
        timeline.add_entry(session, case, EntryKind.STAGE, actor, summary="疑似辍学 → 已报告（旷课报告单已于立案前提交）",
                           details={"from": Stage.IDENTIFIED.value, "to": case.stage})
    session.flush()
    reconcile_case(session, case)
    return case


def open_from_census(session: Session, actor: Any, student_id: int, *, note: str) -> Case:
    """四查三比对 found a child of the township's lists on no roll: the case (疑似辍学) opens for
    the village and the school, as a consequence the census's reconciliation has authorized."""
    student = session.scalar(select(Student).where(Student.id == student_id))
    if student is None:
        raise not_found()
    case = _create_case(session, actor, student, opened_via="census", first_absent_on=None, note=note)
    session.flush()
    reconcile_case(session, case)
    return case


def note_attendance(session: Session, actor: Any, case_id: int, *, first_absent_on: date, days: int) -> None:
    """A run of absence of a child whose case is already open: the case takes it over."""
    case = session.scalar(select(Case).where(Case.id == case_id))
    if case is None or case.stage == Stage.CLOSED:
        return
    if case.first_absent_on is None or first_absent_on < case.first_absent_on:
        case.first_absent_on = first_absent_on
    timeline.add_entry(session, case, EntryKind.NOTE, actor, summary=(
        f"到校日报告：自{first_absent_on:%Y年%m月%d日}起连续旷课{days}个教学日，由本个案继续跟进。"),
        details={"first_absent_on": first_absent_on, "days": days})
    reconcile_case(session, case)


# --- stages -----------------------------------------------------------------------------------

def _writable(session: Session, case_id: int) -> Case:
    case = access_case(session, case_id, for_write=True)
    if case.stage == Stage.CLOSED:
        raise Conflict(detail=timeline.CLOSED_CASE)
    return case


def _report(case: Case, kind: EntryKind, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The 旷课报告单 (first day absent, reason) or the 流失报告 (and the whereabouts)."""
    absent_on = _date(values.get("first_absent_on"), "首次缺课日期", errors, "first_absent_on") or case.first_absent_on
    if absent_on is None:
        errors.setdefault("first_absent_on", "上报须填写首次缺课日期。")
    elif absent_on > clock.today():
        errors["first_absent_on"] = "首次缺课日期不能晚于今天。"
    code, text = _reason(values.get("reason_code") or case.reason_code,
                         values.get("reason_text") if values.get("reason_code") else case.reason_text,
                         errors, required=True)
    whereabouts = _text(values.get("whereabouts") or case.whereabouts, "去向", errors, "whereabouts",
                        required=kind == EntryKind.DROPOUT_REPORT, max_length=500)
    if kind == EntryKind.DROPOUT_REPORT and "whereabouts" in errors:
        errors["whereabouts"] = "流失报告须写明去向：在哪里、做什么、和谁在一起（如在某市务工）。"
    return {"first_absent_on": absent_on, "reason_code": code, "reason_text": text, "whereabouts": whereabouts}


def _report_summary(kind: EntryKind, facts: dict[str, Any], note: str) -> str:
    days = (clock.today() - facts["first_absent_on"]).days + 1 if facts.get("first_absent_on") else None
    parts = [f"{REPORT_KINDS[kind]}：自{facts['first_absent_on']}起未到校" + (f"（第{days}天）" if days else ""),
             f"原因：{reason_label(facts['reason_code'], facts['reason_text'])}"]
    if facts.get("whereabouts"):
        parts.append(f"去向：{facts['whereabouts']}")
    if note:
        parts.append(note)
    return "；".join(parts)


def do_move_stage(session: Session, actor: Any, case_id: int, stage: str, *, report: str = "",
                  first_absent_on: Any = None, reason_code: str = "", reason_text: str = "", whereabouts: str = "",
                  note: str = "") -> Case:
    """Move the case one stage on, by its rule (the stages go in order, none skipped)."""
    case = _writable(session, case_id)
    current = Stage(case.stage)
    wanted_stage = NEXT_STAGE.get(current)
    if normalise(stage) != (wanted_stage.value if wanted_stage else ""):
        raise InvalidInput({"stage": f"个案现在是“{current.label}”，下一阶段只能是“{wanted_stage.label}”。"
                            if wanted_stage else "个案已在最后阶段，只能结案。"})
    errors: dict[str, str] = {}
    note = _text(note, "说明", errors, "note", max_length=1000)
    facts: dict[str, Any] = {}
    report_kind: EntryKind | None = None
    if wanted_stage == Stage.REPORTED:
        try:
            report_kind = EntryKind(normalise(report) or "absence_report")
        except ValueError:
            report_kind = None
        if report_kind not in REPORT_KINDS:
            errors["report"] = "请选择上报的文书：旷课报告单或流失报告。"
        else:
            facts = _report(case, report_kind, {"first_absent_on": first_absent_on, "reason_code": reason_code,
                                                "reason_text": reason_text, "whereabouts": whereabouts}, errors)
    elif wanted_stage == Stage.ENFORCING:
        attempts = _attempts(session, [case.id]).get(case.id, 0)
        if attempts < MIN_ATTEMPTS:
            errors["stage"] = (f"依法控辍前须至少劝返 {MIN_ATTEMPTS} 次（已劝返 {attempts} 次）："
                               "请先登记家访劝返。")
        if not note:
            errors["note"] = "请写明劝返未果的情况和转入依法控辍的理由。"
    if errors:
        raise InvalidInput(errors)

    before = {"stage": case.stage}
    now = clock.now()
    if report_kind is not None:
        case.first_absent_on, case.reason_code = facts["first_absent_on"], facts["reason_code"]
        case.reason_text, case.whereabouts = facts["reason_text"], facts["whereabouts"]
        timeline.add_entry(session, case, report_kind, actor, occurred_at=now,
                           summary=_report_summary(report_kind, facts, note), details=facts)
    case.stage = wanted_stage.value  # type: ignore[union-attr]
    session.flush()
    timeline.add_entry(session, case, EntryKind.STAGE, actor, occurred_at=now,
                       summary=f"{current.label} → {wanted_stage.label}" + (f"：{note}" if note else ""),  # type: ignore[union-attr]
                       details={"from": current.value, "to": case.stage})
    audit.record(session, Event.STAGE_MOVED, entity=case, changes={
        **audit.diff(before, {"stage": case.stage}), "report": report_kind.value if report_kind else ""})
    if report_kind == EntryKind.DROPOUT_REPORT:
        notify("figures_moved", session, what="dropout_report", record_id=case.id)  # a dropout counts from today
    if case.stage == Stage.ENFORCING.value:
        notify("case_enforcing", session, case_id=case.id)  # the justice office's ticket (referrals)
    reconcile_case(session, case)
    return case


# --- entries ----------------------------------------------------------------------------------

def do_record_entry(session: Session, actor: Any, case_id: int, kind: str, summary: str = "", *,
                    occurred_at: Any = None, corrects_entry_id: int | None = None, reason_code: str = "",
                    reason_text: str = "", whereabouts: str = "", first_absent_on: Any = None) -> CaseEntry:
    """A call, a talk at school, a note, a dropout report filed later, or a correction."""
    case = _writable(session, case_id)
    errors: dict[str, str] = {}
    try:
        parsed = EntryKind(normalise(kind))
    except ValueError:
        parsed = None
    if parsed not in ENTRY_KINDS:
        raise InvalidInput({"entry_kind": "请选择记录类型：电话联系、到校面谈、备注、流失报告或更正。"})
    when = _moment(occurred_at, "时间", errors, "occurred_at") or clock.now()
    if when > clock.now() + SKEW:
        errors["occurred_at"] = "时间不能晚于现在。"
    text = _text(summary, "内容", errors, "summary", required=parsed != EntryKind.DROPOUT_REPORT)
    corrects = None
    if parsed == EntryKind.CORRECTION:
        if corrects_entry_id is None:
            errors["corrects_entry_id"] = "更正须选择要更正的记录。"
        else:
            corrects = session.scalar(select(CaseEntry).where(CaseEntry.id == corrects_entry_id,
                                                              CaseEntry.case_id == case.id))
            if corrects is None:
                errors["corrects_entry_id"] = "要更正的记录不在本个案中。"
    details: dict[str, Any] = {}
    if parsed == EntryKind.DROPOUT_REPORT:
        details = _report(case, parsed, {"first_absent_on": first_absent_on, "reason_code": reason_code,
                                         "reason_text": reason_text, "whereabouts": whereabouts}, errors)
    if errors:
        raise InvalidInput(errors)
    if parsed == EntryKind.DROPOUT_REPORT:
        case.first_absent_on, case.reason_code = details["first_absent_on"], details["reason_code"]
        case.reason_text, case.whereabouts = details["reason_text"], details["whereabouts"]
        text = _report_summary(parsed, details, text)
    elif corrects is not None:
        text = f"更正第{corrects.number}条（{ENTRY_LABELS.get(EntryKind(corrects.kind), corrects.kind)}）：{text}"
    entry = timeline.add_entry(session, case, parsed, actor, occurred_at=when, summary=text,  # type: ignore[arg-type]
                               details=details, corrects=corrects)
    audit.record(session, Event.ENTRY_RECORDED, entity=case, changes={
        "entry_id": entry.id, "entry_kind": entry.kind, "corrects_entry_id": entry.corrects_entry_id})
    if parsed == EntryKind.DROPOUT_REPORT:
        notify("figures_moved", session, what="dropout_report", record_id=f"{case.id}:{entry.id}")
    reconcile_case(session, case)
    return entry


# --- visits -----------------------------------------------------------------------------------

@dataclass
class Upload:
    """A file from a form or the API: its bytes and the name it came with."""

    data: bytes
    filename: str = ""


def _visit_case(session: Session, student: Student, case_id: int | None) -> Case | None:
    """The case a visit belongs to: the one named, or the child's open case, or the returned case
    still watched; None for a routine visit."""
    if case_id is not None:
        case = access_case(session, case_id, for_write=True)
        if case.student_id != student.id:
            raise not_found()
        if case.stage == Stage.CLOSED and not timeline.under_watch(case):
            raise Conflict(detail=timeline.CLOSED_CASE)
        return case
    open_id = _open_case_id(session, student.id)
    if open_id is None:
        watched = session.scalar(select(_CASES.c.id).where(
            _CASES.c.township_id == township_id_of(session), _CASES.c.student_id == student.id,
            _CASES.c.closing == Closing.RETURNED.value, _CASES.c.watch_until >= clock.today()).limit(1))
        if watched is None:
            return None
        open_id = watched
    return access_case(session, open_id, for_write=True)


def do_record_visit(session: Session, actor: Any, student_id: int, *, case_id: int | None = None,
                    visited_at: Any = None, mode: str = "home", visitor_ids: Sequence[int] = (), met: str = "",
                    found: str = "", reason_code: str = "", reason_text: str = "", agreed: str = "",
                    next_visit_on: Any = None, photos: Sequence[Upload] = (), signature: bytes | None = None,
                    settings: Settings | None = None) -> HomeVisit:
    """A home visit (家访/劝返): on a case, its next numbered attempt; after a return, a follow-up."""
    from baoxue.platform import photos as photo_files

    m = _acting_membership(actor)
    student = access_student(session, student_id)
    case = _visit_case(session, student, case_id)
    persuading = case is not None and case.stage != Stage.CLOSED
    errors: dict[str, str] = {}
    when = _moment(visited_at, "家访时间", errors, "visited_at") or clock.now()
    if when > clock.now() + SKEW:
        errors["visited_at"] = "家访时间不能晚于现在。"
    mode = normalise(mode)
    if mode not in VISIT_MODES:
        errors["mode"] = "请选择家访方式：上门、电话、到校面谈或线上。"
    choices = {p.membership_id: p for p in visitor_choices(session, student.school_id, student.residence_village_id)}
    wanted_ids = list(dict.fromkeys(visitor_ids or ([m.id] if m.id else [])))
    if not wanted_ids:
        errors["visitor_ids"] = "请选择家访人员。"
    elif any(i not in choices for i in wanted_ids):
        errors["visitor_ids"] = "家访人员只能是本校教师、学生所在村的村干部或乡镇控辍办人员。"
    met = _text(met, "见到的人及与学生关系", errors, "met", required=True, max_length=200)
    found = _text(found, "了解到的情况", errors, "found", required=True)
    code, text = _reason(reason_code, reason_text, errors, required=persuading)
    agreed = _text(agreed, "商定事项", errors, "agreed")
    next_on = _date(next_visit_on, "下次家访日期", errors, "next_visit_on")
    if next_on is not None and next_on < china_day(when):
        errors["next_visit_on"] = "下次家访日期不能早于本次家访。"
    if len(photos) > MAX_PHOTOS:
        errors["photos"] = f"每次家访最多上传 {MAX_PHOTOS} 张照片。"
    accepted = []
    for upload in photos:
        try:
            accepted.append(photo_files.accept_photo(upload.data, upload.filename, field="photos"))
        except InvalidInput as refused:
            errors.update(refused.errors)
            break
    signed = None
    if signature:
        try:
            signed = photo_files.accept_signature(signature, field="signature")
        except InvalidInput as refused:
            errors.update(refused.errors)
    if errors:
        raise InvalidInput(errors)

    township_id = township_id_of(session)
    files = storage(settings or get_settings())
    attempt = None
    if persuading:
        attempt = (session.scalar(select(func.count(HomeVisit.id)).where(
            HomeVisit.case_id == case.id, HomeVisit.attempt.is_not(None))) or 0) + 1  # type: ignore[union-attr]
    visit = HomeVisit(township_id=township_id, student_id=student.id, school_id=student.school_id,
                      case_id=case.id if case else None, attempt=attempt, visited_at=when, mode=mode, met=met,
                      found=found, reason_code=code, reason_text=text, agreed=agreed, next_visit_on=next_on,
                      signature_key=files.save(township_id, SIGNATURE_KIND, signed, ".png") if signed else "",
                      recorded_by=actor.user_id, recorded_at=clock.now())
    session.add(visit)
    session.flush()
    session.add_all(VisitVisitor(township_id=township_id, visit_id=visit.id, membership_id=i,
                                 name=choices[i].name) for i in wanted_ids)
    for photo in accepted:
        key, small_key = photo_files.save_photo(files, township_id, photo, kind=PHOTO_KIND)
        session.add(Photo(township_id=township_id, case_id=visit.case_id, visit_id=visit.id, key=key,
                          small_key=small_key, width=photo.width, height=photo.height, uploaded_by=actor.user_id))
    session.flush()
    if case is not None:
        names = "、".join(choices[i].name for i in wanted_ids)
        head = f"第{attempt}次劝返" if attempt else "返校后回访"
        summary = f"{head}（{VISIT_MODES[mode]}）：{names}；见到{met}。{found}"
        if agreed:
            summary += f" 商定：{agreed}"
        timeline.add_entry(session, case, EntryKind.HOME_VISIT if attempt else EntryKind.FOLLOW_UP, actor,
                           occurred_at=when, summary=summary, visit_id=visit.id,
                           details={"attempt": attempt, "mode": mode, "photos": len(accepted),
                                    "next_visit_on": next_on, "signed": bool(signed)})
    audit.record(session, Event.VISIT_RECORDED, entity=visit, changes={
        "student_id": student.id, "case_id": visit.case_id, "attempt": attempt, "mode": mode,
        "visitors": wanted_ids, "photos": len(accepted), "signed": bool(signed)})
    if case is not None:
        reconcile_case(session, case)
    with consequences(session):
        notify("visit_recorded", session, student_id=student.id)  # e.g. attendance's "call home" closes
    return visit


# --- close ------------------------------------------------------------------------------------

def do_close_case(session: Session, actor: Any, case_id: int, closing: str, *, return_date: Any = None,
                  return_class_id: int | None = None, closing_evidence: str = "", document: Upload | None = None,
                  settings: Settings | None = None) -> Case:
    """Close the case as one of the five closings, with that closing's evidence."""
    case = _writable(session, case_id)
    m = _acting_membership(actor)
    try:
        parsed = Closing(normalise(closing))
    except ValueError:
        raise InvalidInput({"closing": "请选择结案方式：返校复学、依法转学、免学缓学、送教上门或死亡。"
                                       "没有“其他”：说不清去向的个案不能结案。"}) from None
    evidence = CLOSINGS[parsed]
    errors: dict[str, str] = {}
    text = _text(closing_evidence, "结案依据", errors, "closing_evidence", max_length=1000,
                 required="closing_evidence" in evidence.fields)
    values: dict[str, Any] = {}
    student = session.scalar(select(Student).where(Student.id == case.student_id))
    if parsed == Closing.RETURNED:
        if m.unit_kind != UnitKind.SCHOOL or m.unit_id != case.school_id:
            raise Forbidden(detail="返校复学由学生所在学校确认编班后结案。")
        returned_on = _date(return_date, "返校日期", errors, "return_date")
        if returned_on is None:
            errors.setdefault("return_date", "请填写返校日期。")
        elif returned_on > clock.today():
            errors["return_date"] = "返校日期不能晚于今天。"
        elif case.first_absent_on and returned_on < case.first_absent_on:
            errors["return_date"] = "返校日期不能早于首次缺课日期。"
        target = lookups.class_row(session, return_class_id) if return_class_id is not None else None
        if return_class_id is None:
            errors["return_class_id"] = "请选择返校后就读的班级。"
        elif target is None or target.school_id != case.school_id:
            errors["return_class_id"] = "请选择本校的班级。"
        elif returned_on is not None and "return_date" not in errors:
            proposal = placement(session, case, student, returned_on)
            if proposal.proposed and target.grade != proposal.proposed and not text:
                errors["closing_evidence"] = (f"按离校时间应编入{proposal.proposed_name}；编入{GRADE_NAMES[target.grade]}"
                                              "须写明理由。")
        values = {"return_date": returned_on, "return_class_id": target.id if target else None}
    doc_name = ""
    if evidence.document:
        if document is None or not document.data:
            errors["document"] = f"{parsed.label}须上传{evidence.document}（PDF 或 JPG、PNG 图片）。"
        else:
            doc_name = normalise(document.filename) or "证明材料.pdf"
            if problem := document_problem(document.data, doc_name):
                errors["document"] = problem
    if errors:
        raise InvalidInput(errors)

    now = clock.now()
    township_id = township_id_of(session)
    effect: dict[str, Any] = {}
    if doc_name and document is not None:
        case.closing_document_key = storage(settings or get_settings()).save(
            township_id, DOCUMENT_KIND, document.data, PurePath(doc_name).suffix.lower())
    if parsed == Closing.RETURNED:
        weeks, _every = _settings_of(session)
        case.return_date, case.return_class_id = values["return_date"], values["return_class_id"]
        case.watch_until = case.return_date + timedelta(weeks=weeks)
        target = lookups.class_row(session, case.return_class_id)
        timeline.add_entry(session, case, EntryKind.RETURNED, actor, occurred_at=now,
                           summary=f"{case.return_date}返校，编入{target.name if target else ''}；"
                                   f"作为辍返生跟踪回访至{case.watch_until}。" + (f" {text}" if text else ""),
                           details={"return_date": case.return_date, "return_class_id": case.return_class_id,
                                    "watch_until": case.watch_until})
        effect = _returned(session, case)
    case.closing, case.closing_evidence, case.closed_at = parsed.value, text, now
    case.stage = Stage.CLOSED.value
    session.flush()
    timeline.add_entry(session, case, EntryKind.CLOSED, actor, occurred_at=now,
                       summary=f"结案：{parsed.label}" + (f"。{text}" if text else "")
                       + (f"（附{evidence.document}）" if doc_name else ""),
                       details={"closing": parsed.value, "document": doc_name})
    audit.record(session, Event.CLOSED, entity=case, changes={
        "closing": parsed.value, "return_date": case.return_date, "return_class_id": case.return_class_id,
        "watch_until": case.watch_until, "document": doc_name, **effect})
    notify("figures_moved", session, what="case_closed", record_id=case.id)  # a return counts again
    reconcile_case(session, case)
    return case


_TRACKED = ("status", "class_id")


def _returned(session: Session, case: Case) -> dict[str, Any]:
    """The child is back on the roll, in the class the school chose (in 在读 status)."""
    with consequences(session):
        student = access(session, Student, case.student_id, for_write=True)
        before = {f: getattr(student, f) for f in _TRACKED}
        student.class_id = case.return_class_id
        if student.status in ("06", "15"):  # 流失, 下落不明: back in school
            student.status = "01"
        student.updated_at = clock.now()
    return audit.diff(before, {f: getattr(student, f) for f in _TRACKED})


# --- files ------------------------------------------------------------------------------------

def photo_bytes(session: Session, photo: Photo, *, small: bool = False,
                settings: Settings | None = None) -> bytes:
    """A photo the caller has reached through `access_photo` (its case's or visit's check)."""
    return storage(settings or get_settings()).read(photo.township_id, photo.small_key if small else photo.key)


def do_download_photo(session: Session, photo: Photo, settings: Settings | None = None) -> tuple[bytes, str]:
    """A photo, full size, as a download (the API's): audited like every export of a family's data."""
    data = photo_bytes(session, photo, settings=settings)
    audit.record(session, Event.PHOTO_DOWNLOADED, entity=photo, changes={"case_id": photo.case_id,
                                                                        "visit_id": photo.visit_id})
    return data, document_media_type(photo.key)


def signature_bytes(session: Session, visit: HomeVisit, settings: Settings | None = None) -> bytes:
    if not visit.signature_key:
        raise not_found()
    return storage(settings or get_settings()).read(visit.township_id, visit.signature_key)


def do_download_closing_document(session: Session, case: Case, settings: Settings | None = None) -> tuple[bytes, str]:
    """The closing's document (the approval, the plan, ...): audited."""
    if not case.closing_document_key:
        raise not_found()
    data = storage(settings or get_settings()).read(case.township_id, case.closing_document_key)
    audit.record(session, Event.DOCUMENT_DOWNLOADED, entity=case, changes={"closing": case.closing})
    return data, document_media_type(case.closing_document_key)


STAGES = [(s.value, s.label) for s in STAGE_ORDER]

