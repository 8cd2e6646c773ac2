"""Status changes (学籍变动): the reads the pages need, and the three actions.

* `do_request_change`: a school asks for a change of one child's status (a transfer, a
  suspension, ...). Everything is checked before anything is written; 退学 and 开除 are refused
  with the Compulsory Education Law's reason; the certificate a suspension or a death needs is
  stored with the platform's file storage.
* `do_decide_step`: whoever `flows.RULES` names takes the awaited step, approving or refusing
  (a refusal needs its reason). The last approval changes the child's record; a transfer to
  another school of the township is "in transfer" once the central school files it, and ends
  only when the receiving school confirms the arrival.
* `do_graduate_grade`: the principal graduates the school's last grade in one action.

Every action audits itself in the caller's transaction, flushes, never commits, and tells the
worklist what the change needs now (`reconcile_change`): the owner of the awaited step has an
item; while a transfer waits for its arrival, the receiving school has "确认转入" and the
central school a "转学超期未确认" that shows (and is due) on the day the township's
`transfer_confirm_days` run out: an unfinished transfer is a possible dropout. A change that
completes or is refused needs nothing, so its items close.

Who takes a "central" step: the township's school of kind `central_primary` (the first, if a
township recorded two). A township without one has its leading group's office (领导小组办公室,
the 基教办 in seed 001) take those steps and receive those items instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import PurePath
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.access import access
from baoxue.platform.clock import china_day, clock
from baoxue.platform.concepts import notify
from baoxue.platform.db import township_id_of
from baoxue.platform.errors import Conflict, Forbidden, InvalidInput, not_found
from baoxue.platform.files import document_media_type, document_problem, storage
from baoxue.platform.permissions import Role, UnitKind
from baoxue.platform.scoping import consequences
from baoxue.platform.settings import Settings, get_settings
from baoxue.platform.text import normalise, text_refusal
from baoxue.tenants.status_changes.events import Event
from baoxue.tenants.status_changes.flows import (
    ALLOWED_STATUSES,
    Kind,
    KIND_LABELS,
    NEEDS_DOCUMENT,
    OPEN_STATES,
    REFUSED_KIND_MESSAGE,
    REFUSED_KINDS,
    RULES,
    State,
    STATE_LABELS,
    STATUS_AFTER,
    Step,
    STEP_LABELS,
    Where,
    steps_of,
)
from baoxue.tenants.status_changes.models import StatusChange, StatusStep
from baoxue.tenants.status_changes.policy import access_change
from baoxue.tenants.students.models import ENROLLED, STATUS_LABELS, Student
from baoxue.tenants.students.policy import access_student
from baoxue.tenants.tenancy import lookups
from baoxue.tenants.tenancy.lookups import ClassRow, class_teachers, classes_of_school
from baoxue.tenants.tenancy.models import Membership, MembershipClass, School, SchoolClass, Township
from baoxue.tenants.tenancy.service import GRADE_NAMES, SCHOOL_GRADES
from baoxue.tenants.worklist import service as worklist
from baoxue.tenants.worklist.service import Due, Owner

SUBJECT = "status_changes"  # what the worklist's items name as their record
PAGE_SIZE = 50
STEP_DAYS = 5  # an approval is due this many days after the step before it (or the request)
# What a certificate may be: a scan or a photograph. The first bytes must agree with the name.
FILE_KIND = "status-documents"
GRADUATED = "07"
COMPULSORY_AGE = range(6, 16)  # 6 to 15: the Compulsory Education Law's school age

# Class and membership rows read as plain tables, narrowed to the township by hand: a class
# teacher asking for a repetition names a class of their school they do not teach, the central
# school's item names the class of a child of another school, and the worklist must find a
# class's teacher whoever acts. Only ids, names and grades leave these reads.
_CLASSES = SchoolClass.__table__
_MEMBERSHIPS = Membership.__table__
_MEMBERSHIP_CLASSES = MembershipClass.__table__
_CHANGES = StatusChange.__table__


# --- small helpers ----------------------------------------------------------------------------

def age_on(birth: date, day: date) -> int:
    """Whole years of age on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _kind(value: Any) -> Kind | None:
    try:
        return Kind(normalise(value))
    except ValueError:
        return None


def _step(value: Any) -> Step | None:
    try:
        return Step(normalise(value))
    except ValueError:
        return None


def actor_name(actor: Any) -> str:
    return actor.signed_as


def _named_class(session: Session, class_id: Any) -> ClassRow:
    """A class named by the request: one of this township, or the one 404."""
    if not isinstance(class_id, int) or isinstance(class_id, bool):
        raise not_found()
    found = lookups.class_row(session, class_id)
    if found is None:
        raise not_found()
    return found


def central_school_id(session: Session) -> int | None:
    """The township's central school (中心校), which files transfers and records the bureau's sign-off."""
    return session.scalar(select(School.id).where(School.kind == "central_primary").order_by(School.id).limit(1))


def _open_change(session: Session, student_id: int) -> Any:
    """The child's open change, whoever may read it (a teacher must learn that one exists)."""
    return session.execute(select(_CHANGES.c.kind, _CHANGES.c.state).where(
        _CHANGES.c.township_id == township_id_of(session), _CHANGES.c.student_id == student_id,
        _CHANGES.c.state.in_([str(s) for s in OPEN_STATES])).limit(1)).first()


# --- who takes a step -------------------------------------------------------------------------

@dataclass(frozen=True)
class Takers:
    """Who may take a step of one change: these roles of this unit."""

    unit_kind: UnitKind
    unit_id: int | None
    roles: tuple[Role, ...]

    @property
    def owner_role(self) -> Role:
        return self.roles[0]


def takers(change: StatusChange, step: Step) -> Takers:
    rule = RULES[step]
    if rule.where == Where.SCHOOL:
        return Takers(UnitKind.SCHOOL, change.school_id, rule.roles)
    if rule.where == Where.RECEIVING:
        return Takers(UnitKind.SCHOOL, change.to_school_id, rule.roles)
    if change.central_school_id is not None:
        return Takers(UnitKind.SCHOOL, change.central_school_id, rule.roles)
    # No central school in the township: its leading group's office files and records instead.
    return Takers(UnitKind.TOWNSHIP, None, (Role.OFFICE_STAFF,))


def may_decide(actor: Any, change: StatusChange) -> bool:
    """Whether the actor may take the change's awaited step now (no query)."""
    m = getattr(actor, "membership", None)
    if m is None or change.state not in OPEN_STATES or not change.next_step:
        return False
    who = takers(change, Step(change.next_step))
    if m.unit_kind != who.unit_kind or m.unit_id != who.unit_id or m.role not in who.roles:
        return False
    # A class teacher gives the opinion on the children of their own class only.
    return m.role != Role.CLASS_TEACHER or change.class_id in m.class_ids


def takers_label(change: StatusChange, step: Step, school_names: dict[int, str]) -> str:
    """Who takes a step, in words: 板当镇中心小学 教导处或校长."""
    who = takers(change, step)
    roles = "或".join(role.label for role in who.roles)
    if who.unit_kind == UnitKind.TOWNSHIP:
        return roles
    return f"{school_names.get(who.unit_id or 0, '')} {roles}"


# --- reads ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedStep:
    """One step of a change's flow, taken (`decision`) or still to come."""

    step: Step
    decision: StatusStep | None
    takers: str  # who takes it, in words

    @property
    def label(self) -> str:
        return self.step.label


@dataclass(frozen=True)
class ChangeView:
    """A change with the names it shows and, where asked for, its steps in order."""

    change: StatusChange
    school: str
    class_name: str
    to_school: str
    to_class: str
    central_school: str
    steps: tuple[StatusStep, ...] = ()
    plan: tuple[PlannedStep, ...] = ()
    confirm_by: date | None = None  # in transfer: the day the arrival is due

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(Kind(self.change.kind), self.change.kind)

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(State(self.change.state), self.change.state)

    @property
    def next_step_label(self) -> str:
        return STEP_LABELS[Step(self.change.next_step)] if self.change.next_step else ""

    @property
    def overdue(self) -> bool:
        return self.confirm_by is not None and self.confirm_by < clock.today()

    @property
    def where_to(self) -> str:
        """Where the child goes (or comes from): a school of the township, or the text given."""
        return self.to_school or self.change.destination


@dataclass(frozen=True)
class ChangeFilters:
    state: str = ""
    kind: str = ""
    student_id: int | None = None

    def query(self) -> dict[str, Any]:
        """The filters that are set, as query parameters (for the pager's links)."""
        values = {"change_state": self.state, "change_kind": self.kind, "student_id": self.student_id}
        return {k: v for k, v in values.items() if v not in (None, "")}


@dataclass(frozen=True)
class ChangePage:
    rows: list[ChangeView]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class _Names:
    schools: dict[int, str]
    classes: dict[int, str]

    def view(self, change: StatusChange, **more: Any) -> ChangeView:
        return ChangeView(
            change=change, school=self.schools.get(change.school_id, ""),
            class_name=self.classes.get(change.class_id or 0, ""),
            to_school=self.schools.get(change.to_school_id or 0, ""),
            to_class=self.classes.get(change.to_class_id or 0, ""),
            central_school=self.schools.get(change.central_school_id or 0, ""), **more)


def _names(session: Session, changes: Iterable[StatusChange]) -> _Names:
    """School and class names of the changes: two queries, however many changes."""
    changes = list(changes)
    schools = dict(session.execute(select(School.id, School.name)).all()) if changes else {}
    class_ids = {c for change in changes for c in (change.class_id, change.to_class_id) if c is not None}
    classes = dict(session.execute(select(_CLASSES.c.id, _CLASSES.c.name).where(
        _CLASSES.c.township_id == township_id_of(session), _CLASSES.c.id.in_(class_ids))).all()) if class_ids else {}
    return _Names(schools, classes)


def _steps_of(session: Session, change_ids: list[int]) -> dict[int, list[StatusStep]]:
    found: dict[int, list[StatusStep]] = {}
    if change_ids:
        for step in session.scalars(select(StatusStep).where(StatusStep.change_id.in_(change_ids))
                                    .order_by(StatusStep.decided_at, StatusStep.id)):
            found.setdefault(step.change_id, []).append(step)
    return found


def list_changes(session: Session, filters: ChangeFilters = ChangeFilters(), *, page: int = 1) -> ChangePage:
    """One page of the changes in scope, newest first: six queries at most."""
    query = select(StatusChange)
    if filters.state:
        query = query.where(StatusChange.state == filters.state)
    if filters.kind:
        query = query.where(StatusChange.kind == filters.kind)
    if filters.student_id is not None:
        query = query.where(StatusChange.student_id == filters.student_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    changes = list(session.scalars(query.order_by(StatusChange.requested_at.desc(), StatusChange.id.desc())
                                   .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    names = _names(session, changes)
    due = _confirm_dates(session, changes)
    return ChangePage([names.view(c, confirm_by=due.get(c.id)) for c in changes], total, page, pages)


def _plan(change: StatusChange, steps: list[StatusStep], school_names: dict[int, str]) -> tuple[PlannedStep, ...]:
    """The flow's steps in order, each with its decision if taken: what the change's page lists."""
    taken = {s.step: s for s in steps}
    flow = steps_of(change.kind, inside_township=change.to_school_id is not None)
    planned = [PlannedStep(Step.APPLICATION, taken.get(Step.APPLICATION), "")]
    for step in flow:
        planned.append(PlannedStep(step, taken.get(step), takers_label(change, step, school_names)))
    return tuple(planned)


def _confirm_dates(session: Session, changes: list[StatusChange],
                   steps: dict[int, list[StatusStep]] | None = None) -> dict[int, date]:
    """{change id: the day its arrival is due} for the changes in transfer: two queries at most
    (none when the steps are at hand, or nothing is in transfer)."""
    moving = [c for c in changes if c.state == State.IN_TRANSFER]
    if not moving:
        return {}
    if steps is None:
        filed = dict(session.execute(select(StatusStep.change_id, StatusStep.decided_at).where(
            StatusStep.change_id.in_([c.id for c in moving]), StatusStep.step == Step.CENTRAL_SCHOOL.value)).all())
    else:
        filed = {c.id: s.decided_at for c in moving for s in steps.get(c.id, []) if s.step == Step.CENTRAL_SCHOOL}
    days = timedelta(days=confirm_days(session))
    return {c.id: china_day(filed.get(c.id, c.requested_at)) + days for c in moving}


def get_change(session: Session, change_id: int) -> ChangeView:
    """One change in scope with every step (or the one 404): five queries at most."""
    change = access_change(session, change_id)
    steps = _steps_of(session, [change.id]).get(change.id, [])
    names = _names(session, [change])
    return names.view(change, steps=tuple(steps), plan=_plan(change, steps, names.schools),
                      confirm_by=_confirm_dates(session, [change], {change.id: steps}).get(change.id))


def history_of(session: Session, student_id: int) -> list[ChangeView]:
    """A child's status history as the reader may see it, oldest first, with every step: five
    queries at most, however long the history (the student page includes `_history.html`)."""
    changes = list(session.scalars(select(StatusChange).where(StatusChange.student_id == student_id)
                                   .order_by(StatusChange.requested_at, StatusChange.id)))
    if not changes:
        return []
    steps = _steps_of(session, [c.id for c in changes])
    names = _names(session, changes)
    due = _confirm_dates(session, changes, steps)
    return [names.view(c, steps=tuple(steps.get(c.id, [])), plan=_plan(c, steps.get(c.id, []), names.schools),
                       confirm_by=due.get(c.id)) for c in changes]


def confirm_days(session: Session) -> int:
    return session.scalar(select(Township.transfer_confirm_days).where(Township.id == township_id_of(session))) or 10


@dataclass(frozen=True)
class RequestForm:
    """What the request form offers for one child: the kinds and, per kind, the choices."""

    student: Student
    school: str
    class_row: ClassRow | None
    to_schools: list[tuple[int, str]]  # other schools of the township teaching the child's grade
    lower_classes: list[ClassRow]  # repetition
    classes: list[ClassRow]  # resumption: any class of the school
    open_change: Any  # (kind, state) of an open change, or None

    @property
    def age(self) -> int:
        return age_on(self.student.birth_date, clock.today())


def request_form(session: Session, student_id: int) -> RequestForm:
    """The child (in write scope) and the choices the request form offers: five queries."""
    student = access_student(session, student_id, for_write=True)
    class_row = lookups.class_row(session, student.class_id)
    schools = list(session.execute(select(School.id, School.name, School.kind).order_by(School.id)))
    grade = class_row.grade if class_row else None
    to_schools = [(sid, name) for sid, name, kind in schools
                  if sid != student.school_id and (grade is None or grade in SCHOOL_GRADES.get(kind, range(1, 10)))]
    classes = classes_of_school(session, student.school_id)
    return RequestForm(
        student=student, school=next((name for sid, name, _ in schools if sid == student.school_id), ""),
        class_row=class_row, to_schools=to_schools,
        lower_classes=[c for c in classes if grade is not None and c.grade < grade], classes=classes,
        open_change=_open_change(session, student.id))


# --- the worklist -----------------------------------------------------------------------------

def _wanted(session: Session, change: StatusChange) -> list[Due]:
    """The items the change needs now: none once it is completed or refused."""
    if change.state not in OPEN_STATES or not change.next_step:
        return []
    decided = dict(session.execute(select(StatusStep.step, StatusStep.decided_at)
                                   .where(StatusStep.change_id == change.id)).all())
    since = max(decided.values(), default=change.requested_at)
    schools = dict(session.execute(select(School.id, School.name)).all())
    href = f"/status-changes/{change.id}"
    kind = KIND_LABELS[Kind(change.kind)]
    if change.state == State.IN_TRANSFER:
        filed_on = china_day(decided.get(Step.CENTRAL_SCHOOL, since))
        due = filed_on + timedelta(days=confirm_days(session))
        to, source = schools.get(change.to_school_id or 0, ""), schools.get(change.school_id, "")
        arrival = takers(change, Step.ARRIVAL)
        central = takers(change, Step.CENTRAL_SCHOOL)
        return [
            Due("status_changes:arrival", f"确认转入：{change.student_name}（自{source}转来）", href,
                Owner(arrival.unit_kind, arrival.unit_id, arrival.owner_role.value), due),
            # Shown (and due) only on the day the township's confirm days run out.
            Due("status_changes:overdue", f"转学超期未确认：{change.student_name}（{source}→{to}）", href,
                Owner(central.unit_kind, central.unit_id, central.owner_role.value), due, shows_from=due),
        ]
    step = Step(change.next_step)
    due = china_day(since) + timedelta(days=STEP_DAYS)
    title = f"{kind}待{step.label}：{change.student_name}（{schools.get(change.school_id, '')}）"
    who = takers(change, step)
    if step == Step.CLASS_TEACHER:
        teachers = class_teachers(session, change.class_id)
        if teachers:
            return [Due(f"status_changes:{step}:{membership_id}", title, href,
                        Owner(UnitKind.SCHOOL, change.school_id, Role.CLASS_TEACHER.value, membership_id), due)
                    for membership_id in teachers]
        # A class without a class teacher: the academic office gives the opinion.
        return [Due(f"status_changes:{step}", title, href,
                    Owner(UnitKind.SCHOOL, change.school_id, Role.ACADEMIC_OFFICE.value), due)]
    return [Due(f"status_changes:{step}", title, href, Owner(who.unit_kind, who.unit_id, who.owner_role.value), due)]


def reconcile_change(session: Session, change: StatusChange) -> None:
    """Open, move and close the change's worklist items to match what it needs now.

    The worklist reads a record's open items through the reader's scope, which shows a unit only
    its own items; the change's items belong to up to three schools, so they are reconciled
    under the township's scope (`_township_wide`).
    """
    with consequences(session):
        worklist.reconcile(session, SUBJECT, change.id, _wanted(session, change))


# --- request ----------------------------------------------------------------------------------

def _refused_kind(kind: Kind, student: Student) -> str:
    age = age_on(student.birth_date, clock.today())
    if age < COMPULSORY_AGE.stop:
        return REFUSED_KIND_MESSAGE.format(kind=kind.label)
    # 16 or older and still on a compulsory school's roll: the platform keeps no such procedure.
    return (f"本平台只办理义务教育阶段的学籍变动，不办理{kind.label}。该学生已满 {age} 周岁，"
            "如确需办理，请报县教育局按规定办理。")


def _date(value: Any) -> date | None | str:
    """A date from the API (a date) or a form ("2026-11-27", "" for none); a str is the problem."""
    if value is None or isinstance(value, date):
        return value
    text = normalise(value)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return "日期格式应为 年-月-日，例如 2026-11-27。"


def do_request_change(session: Session, actor: Any, student_id: int, kind: str, *, reason: str = "",
                      to_school_id: int | None = None, to_class_id: int | None = None, destination: str = "",
                      effective_on: date | str | None = None, document: bytes | None = None,
                      document_name: str = "", settings: Settings | None = None) -> StatusChange:
    """A request for one child, checked whole before anything is written.

    A field the kind does not use is ignored (a form may send every field); errors name the
    fields of the API and the form: `change_kind`, `student_id`, `to_school_id`, ...
    """
    m = getattr(actor, "membership", None)
    if m is None or m.unit_kind != UnitKind.SCHOOL:
        # The township reads every change and (without a central school) files them; it asks for none.
        raise Forbidden(detail="学籍变动由学生所在学校提出。")
    student = access_student(session, student_id, for_write=True)
    if student.school_id != m.unit_id:
        raise not_found()  # a child a transfer is bringing here is not this school's to change yet
    parsed = _kind(kind)
    if parsed is None:
        raise InvalidInput({"change_kind": "请选择变动类型。"})
    if parsed in REFUSED_KINDS:
        raise InvalidInput({"change_kind": _refused_kind(parsed, student)})
    if parsed == Kind.GRADUATION:
        raise InvalidInput({"change_kind": "毕业由校长在“年级毕业”中为毕业年级整批办理。"})

    errors: dict[str, str] = {}
    if student.status not in ALLOWED_STATUSES[parsed]:
        wanted = "或".join(f"“{STATUS_LABELS[s]}”" for s in sorted(ALLOWED_STATUSES[parsed]))
        errors["student_id"] = (f"该学生的学籍状态是“{STATUS_LABELS.get(student.status, student.status)}”，"
                                f"{parsed.label}只能为{wanted}的学生办理。")
    elif (open_change := _open_change(session, student.id)) is not None:
        errors["student_id"] = (f"该学生已有一项未办结的学籍变动（{KIND_LABELS[Kind(open_change.kind)]}，"
                                f"{STATE_LABELS[State(open_change.state)]}），办结后才能提出新的申请。")
    reason = normalise(reason)
    if problem := text_refusal(reason, label="申请理由", max_length=500, multiline=True):
        errors["reason"] = problem
    when = _date(effective_on)
    if isinstance(when, str):
        errors["effective_on"] = when
        when = None

    values: dict[str, Any] = {}
    class_row = lookups.class_row(session, student.class_id)
    destination = normalise(destination)
    if parsed == Kind.TRANSFER_OUT:
        values.update(_transfer_target(session, student, class_row, to_school_id, destination, errors))
    elif parsed in (Kind.TRANSFER_IN, Kind.ELSEWHERE):
        label = "原就读学校" if parsed == Kind.TRANSFER_IN else "借读学校"
        if problem := text_refusal(destination, label=label, max_length=200):
            errors["destination"] = problem
        values["destination"] = destination
    elif parsed == Kind.REPETITION:
        values["to_class_id"] = _lower_class(session, student, class_row, to_class_id, errors)
    elif parsed == Kind.RESUMPTION and to_class_id is not None:
        target = _named_class(session, to_class_id)
        if target.school_id != student.school_id:
            errors["to_class_id"] = "复学的班级应是学生所在学校的班级。"
        values["to_class_id"] = target.id

    if document:
        document_name = normalise(document_name) or "证明材料"
        if problem := (document_problem(document, document_name)
                       or text_refusal(document_name, label="文件名", max_length=120)):
            errors["document"] = problem
    elif parsed in NEEDS_DOCUMENT:
        errors["document"] = f"{parsed.label}须上传{NEEDS_DOCUMENT[parsed]}（PDF 或 JPG、PNG 图片）。"
    if errors:
        raise InvalidInput(errors)

    township_id = township_id_of(session)
    if document:
        suffix = PurePath(document_name).suffix.lower()
        values["document_key"] = storage(settings or get_settings()).save(township_id, FILE_KIND, document, suffix)
        values["document_name"] = document_name
    now = clock.now()
    first = steps_of(parsed, inside_township=values.get("to_school_id") is not None)[0]
    change = StatusChange(
        township_id=township_id, kind=parsed.value, student_id=student.id, student_name=student.name,
        school_id=student.school_id, class_id=student.class_id, central_school_id=central_school_id(session),
        reason=reason, state=State.PENDING.value, next_step=first.value, effective_on=when,
        requested_by=actor.user_id, requested_at=now, **values)
    try:
        # A savepoint: the unique key on open changes refuses a second request made at the same moment.
        with session.begin_nested():
            session.add(change)
            session.flush()
    except IntegrityError:
        raise Conflict(detail="该学生刚刚已有一项学籍变动提出，请刷新页面后查看。") from None
    session.add(StatusStep(township_id=township_id, change_id=change.id, step=Step.APPLICATION.value, approved=True,
                           opinion=reason, user_id=actor.user_id, actor_name=actor_name(actor), decided_at=now))
    session.flush()
    audit.record(session, Event.REQUESTED, entity=change, changes={
        "kind": change.kind, "student_id": student.id, "school_id": change.school_id,
        "to_school_id": change.to_school_id, "to_class_id": change.to_class_id, "destination": change.destination,
        "document_name": change.document_name, "next_step": change.next_step})
    reconcile_change(session, change)
    return change


def _transfer_target(session: Session, student: Student, class_row: ClassRow | None, to_school_id: int | None,
                     destination: str, errors: dict[str, str]) -> dict[str, Any]:
    """A transfer goes to a school of the township (`to_school_id`) or outside it (`destination`)."""
    if (to_school_id is None) == (not destination):
        errors["to_school_id"] = "请选择转入的本乡镇学校，或填写转往乡镇外的学校（二者选一）。"
        return {}
    if to_school_id is None:
        if problem := text_refusal(destination, label="转往学校", max_length=200):
            errors["destination"] = problem
        return {"destination": destination}
    school = access(session, School, to_school_id)  # another township's school: the one 404
    if school.id == student.school_id:
        errors["to_school_id"] = "转入学校不能是学生现在就读的学校。"
    elif class_row is not None and class_row.grade not in SCHOOL_GRADES.get(school.kind, range(1, 10)):
        errors["to_school_id"] = f"{school.name}没有{GRADE_NAMES[class_row.grade]}，请选择其他学校。"
    return {"to_school_id": school.id}


def _lower_class(session: Session, student: Student, class_row: ClassRow | None, to_class_id: int | None,
                 errors: dict[str, str]) -> int | None:
    """Repetition: a class of a lower grade in the child's own school."""
    if class_row is None:
        errors["student_id"] = "该学生没有编入班级，不能办理留级。"
        return None
    if to_class_id is None:
        errors["to_class_id"] = "请选择留级后就读的班级（低于现年级）。"
        return None
    target = _named_class(session, to_class_id)
    if target.school_id != student.school_id:
        errors["to_class_id"] = "留级后的班级应是学生所在学校的班级。"
    elif target.grade >= class_row.grade:
        errors["to_class_id"] = f"留级应编入低于{GRADE_NAMES[class_row.grade]}的班级。"
    return target.id


# --- decide a step ----------------------------------------------------------------------------

def do_decide_step(session: Session, actor: Any, change_id: int, step: str, approved: Any, opinion: str = "",
                   to_class_id: int | None = None) -> StatusChange:
    """Take the change's awaited step: approve it, or refuse it with a reason.

    The step must be the one awaited (steps go in order), and the actor one of those
    `flows.RULES` names, of the right school (403 otherwise). The arrival names the class of
    the receiving school the child joins. The last approval changes the child's record.
    """
    change = access_change(session, change_id, for_write=True)
    parsed = _step(step)
    if change.state not in OPEN_STATES:
        raise InvalidInput({"step": f"这项学籍变动{STATE_LABELS[State(change.state)]}，不能再审批。"})
    if parsed is None or parsed.value != change.next_step:
        raise InvalidInput({"step": f"现在应办理的是“{Step(change.next_step).label}”。"})
    if not may_decide(actor, change):
        schools = dict(session.execute(select(School.id, School.name)).all())
        raise Forbidden(
            detail=f"“{parsed.label}”应由{takers_label(change, parsed, schools)}办理，您当前的身份不能办理。")

    errors: dict[str, str] = {}
    if not isinstance(approved, bool):
        errors["approved"] = "请选择同意或不同意。"
    opinion = normalise(opinion)
    if approved is False and not opinion:
        errors["opinion"] = "不同意时须写明理由。"
    elif problem := text_refusal(opinion, label="意见", max_length=500, required=False, multiline=True):
        errors["opinion"] = problem
    arrival_class = None
    if parsed == Step.ARRIVAL and approved is True:
        if to_class_id is None:
            errors["to_class_id"] = "请选择学生转入后就读的班级。"
        else:
            arrival_class = _named_class(session, to_class_id)
            if arrival_class.school_id != change.to_school_id:
                errors["to_class_id"] = "请选择本校（转入学校）的班级。"
    if errors:
        raise InvalidInput(errors)

    now = clock.now()
    decision = StatusStep(township_id=change.township_id, change_id=change.id, step=parsed.value,
                          approved=approved, opinion=opinion, user_id=actor.user_id, actor_name=actor_name(actor),
                          decided_at=now)
    try:
        # A savepoint: if someone took this step a moment ago, the unique key refuses the second.
        with session.begin_nested():
            session.add(decision)
            session.flush()
    except IntegrityError:
        raise Conflict(detail="这一步刚刚已由他人办理，请刷新页面后查看。") from None

    before = {"state": change.state, "next_step": change.next_step}
    effect: dict[str, Any] = {}
    if not approved:
        _finish(change, State.REFUSED, now)
        if before["state"] == State.IN_TRANSFER:
            # The receiving school refused the arrival: the child stays on the sending school's roll.
            effect = _apply(session, change, lambda s: setattr(s, "incoming_school_id", None))
    else:
        flow = steps_of(change.kind, inside_township=change.to_school_id is not None)
        following = flow[flow.index(parsed) + 1] if flow.index(parsed) + 1 < len(flow) else None
        if following == Step.ARRIVAL:
            change.state, change.next_step = State.IN_TRANSFER.value, following.value
            effect = _apply(session, change, lambda s: setattr(s, "incoming_school_id", change.to_school_id))
        elif following is not None:
            change.next_step = following.value
        else:
            if arrival_class is not None:
                change.to_class_id = arrival_class.id
            _finish(change, State.COMPLETED, now)
            change.effective_on = change.effective_on or china_day(now)
            effect = _apply(session, change, lambda s: _take_effect(change, s))
    session.flush()
    audit.record(session, Event.STEP_APPROVED if approved else Event.STEP_REFUSED, entity=change, changes={
        "step": parsed.value, "approved": approved, "opinion": opinion,
        **audit.diff(before, {"state": change.state, "next_step": change.next_step})})
    if change.state == State.COMPLETED:
        audit.record(session, Event.COMPLETED, entity=change, changes={
            "kind": change.kind, "student_id": change.student_id, **effect})
        notify("figures_moved", session, what="status_change", record_id=change.id)  # the roll changed
    reconcile_change(session, change)
    return change


def _finish(change: StatusChange, state: State, now: datetime) -> None:
    change.state, change.next_step, change.finished_at = state.value, "", now


def _take_effect(change: StatusChange, student: Student) -> None:
    """What a completed change does to the child's record."""
    kind = Kind(change.kind)
    if kind == Kind.TRANSFER_OUT and change.to_school_id is not None:
        # Arrived: on the receiving school's roll, still 在读.
        student.school_id, student.class_id, student.incoming_school_id = (change.to_school_id, change.to_class_id,
                                                                           None)
        return
    if kind in STATUS_AFTER:
        student.status = STATUS_AFTER[kind]
    if kind in (Kind.REPETITION, Kind.RESUMPTION) and change.to_class_id is not None:
        student.class_id = change.to_class_id


_TRACKED = ("status", "school_id", "class_id", "incoming_school_id")


def _apply(session: Session, change: StatusChange, edit: Any) -> dict[str, Any]:
    """Edit the child's record on behalf of the change; the fields changed, as [old, new]."""
    with consequences(session):
        student = access(session, Student, change.student_id, for_write=True)
        before = {f: getattr(student, f) for f in _TRACKED}
        edit(student)
        student.updated_at = clock.now()
    return audit.diff(before, {f: getattr(student, f) for f in _TRACKED})


# --- graduation -------------------------------------------------------------------------------

def last_grade(school: School) -> int:
    return SCHOOL_GRADES.get(school.kind, range(1, 10))[-1]


@dataclass(frozen=True)
class GraduationPlan:
    """What the graduation form shows a principal: their school's last grade and who is in it."""

    school: School
    grade: int
    enrolled: int
    held: list[str]  # names of children of the grade with an open change: not graduated with the grade

    @property
    def grade_name(self) -> str:
        return GRADE_NAMES[self.grade]


@dataclass(frozen=True)
class GraduationResult:
    school_id: int
    grade: int
    graduated: int
    held: list[str]


def _principal_school(session: Session, actor: Any, school_id: int) -> School:
    m = getattr(actor, "membership", None)
    if m is None or m.role != Role.PRINCIPAL:
        raise Forbidden(detail="年级毕业由校长办理。")
    school = access(session, School, school_id)  # another township's school: the one 404
    if m.unit_kind != UnitKind.SCHOOL or m.unit_id != school.id:
        raise not_found()  # another school of the township: not theirs
    return school


def _grade_children(session: Session, school: School, grade: int) -> tuple[list[tuple[int, str, int | None]],
                                                                            list[str]]:
    """(id, name, class) of the grade's enrolled children without an open change, and the held ones' names."""
    rows = session.execute(
        select(Student.id, Student.name, Student.class_id).join(SchoolClass, SchoolClass.id == Student.class_id)
        .where(Student.school_id == school.id, SchoolClass.grade == grade, Student.status == ENROLLED)
        .order_by(Student.id)).all()
    held_ids = set(session.scalars(select(_CHANGES.c.student_id).where(
        _CHANGES.c.township_id == township_id_of(session), _CHANGES.c.school_id == school.id,
        _CHANGES.c.state.in_([str(s) for s in OPEN_STATES])))) if rows else set()
    return ([(r.id, r.name, r.class_id) for r in rows if r.id not in held_ids],
            [r.name for r in rows if r.id in held_ids])


def graduation_plan(session: Session, actor: Any) -> GraduationPlan | None:
    """The principal's school and its last grade (three queries); None for anyone else."""
    m = getattr(actor, "membership", None)
    if m is None or m.role != Role.PRINCIPAL or m.unit_id is None:
        return None
    school = _principal_school(session, actor, m.unit_id)
    grade = last_grade(school)
    children, held = _grade_children(session, school, grade)
    return GraduationPlan(school, grade, len(children), held)


def do_graduate_grade(session: Session, actor: Any, school_id: int, grade: Any) -> GraduationResult:
    """Graduate every enrolled child of the school's last grade (6 or 9) in one action.

    Each child gets a completed graduation change (with its application step: the principal)
    and the status 07; a child with an open change (a transfer under way) keeps it and is
    listed instead. A fixed number of statements, however large the grade; no worklist item
    is ever needed by a change completed as it is made, so the worklist is not asked.
    """
    school = _principal_school(session, actor, school_id)
    last = last_grade(school)
    if grade != last:
        raise InvalidInput({"grade": f"{school.name}的毕业年级是{GRADE_NAMES[last]}，只能为{GRADE_NAMES[last]}办理毕业。"})
    children, held = _grade_children(session, school, last)
    if not children:
        raise InvalidInput({"grade": f"{GRADE_NAMES[last]}没有可以办理毕业的在读学生。"})
    township_id, now = township_id_of(session), clock.now()
    central, name = central_school_id(session), actor_name(actor)
    reason = f"{GRADE_NAMES[last]}学生完成学业，年级整批办理毕业。"
    changes = [StatusChange(
        township_id=township_id, kind=Kind.GRADUATION.value, student_id=student_id, student_name=student_name,
        school_id=school.id, class_id=class_id, central_school_id=central, reason=reason,
        state=State.COMPLETED.value, next_step="", effective_on=china_day(now), requested_by=actor.user_id,
        requested_at=now, finished_at=now) for student_id, student_name, class_id in children]
    session.add_all(changes)
    session.flush()
    session.add_all(StatusStep(township_id=township_id, change_id=c.id, step=Step.APPLICATION.value, approved=True,
                               opinion=reason, user_id=actor.user_id, actor_name=name, decided_at=now)
                    for c in changes)
    ids = [student_id for student_id, _, _ in children]
    session.execute(update(Student).where(Student.id.in_(ids)).values(status=GRADUATED, updated_at=now)
                    .execution_options(synchronize_session=False))
    session.flush()
    audit.record(session, Event.GRADUATED, entity=school, changes={
        "grade": last, "rows": len(children), "held": len(held)})
    notify("figures_moved", session, what="graduation", record_id=changes[0].id)
    return GraduationResult(school.id, last, len(children), held)


# --- documents --------------------------------------------------------------------------------

def do_download_document(session: Session, change: StatusChange,
                         settings: Settings | None = None) -> tuple[bytes, str, str]:
    """The change's certificate: (bytes, file name, media type), or the one 404. Audited."""
    if not change.document_key:
        raise not_found()
    data = storage(settings or get_settings()).read(change.township_id, change.document_key)
    audit.record(session, Event.DOCUMENT_DOWNLOADED, entity=change,
                 changes={"student_id": change.student_id, "document_name": change.document_name})
    return data, change.document_name, document_media_type(change.document_name)

