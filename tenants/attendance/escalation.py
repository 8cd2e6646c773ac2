"""Escalation: the township's absences, read once, become spells, steps and cases.

`check(session)` is the daily job's work for the whole township, and runs for one class when
its day is saved. It reads every absence of the look-back window in one grouped query (and the
reported class-days, the children concerned, their visits and open cases in one query each),
walks each child's school days backwards from today on the school's calendar, and keeps one
open spell per child and kind in step with what it finds:

* `run`: consecutive unexcused school days. A reported day on which the child was not away
  without leave stops it (present, late, or excused: the absence is explained); a day the class
  did not report is unknown and neither stops nor extends it.
* `scattered`: the township's `scattered_days` unexcused days within its last
  `scattered_window` school days, not all of one run (a child who comes every other day).
* `sick`: sick leave for `sick_check_days` school days in a row: the class teacher checks.

A run's steps fall due on its school days by the township's rules (school_calendar/rules.py):
call the guardian (day 1), visit (day 2, three times), file the 旷课报告单 (day 3). On the
village day (5), or day one for a returner (辍返生), the case opens (or the child's open case
is linked) and carries the steps from then on, so nothing is on two lists. A spell ends, and
its items close, when its condition no longer holds; the spell says why.

Running twice on one day, or again after a crash, changes nothing the first run did not: every
write is "make it match" (one open spell per child and kind: the partial unique index; the
worklist's items by kind; one open case per child).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select, union
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import china_day, clock, start_of
from baoxue.platform.db import township_id_of
from baoxue.platform.identity import JobActor
from baoxue.platform.permissions import Role, UnitKind
from baoxue.platform.scoping import consequences
from baoxue.tenants.attendance.events import Event
from baoxue.tenants.attendance.flows import ON_THE_LIST, AbsenceKind, SpellKind
from baoxue.tenants.attendance.models import AbsenceSpell, Absence, AttendanceReport
from baoxue.tenants.cases.models import Case, HomeVisit
from baoxue.tenants.cases.service import MIN_ATTEMPTS  # DOMAIN.md §6 step 3: three visits
from baoxue.tenants.school_calendar.rules import Rules, rules_of
from baoxue.tenants.school_calendar.service import Calendar
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.lookups import first_class_teachers
from baoxue.tenants.worklist import service as worklist
from baoxue.tenants.worklist.service import Due, Owner

SUBJECT = "absence_spells"
Key = tuple[int, str]  # (student id, spell kind): one open spell each
MARGIN = 5  # school days read beyond the longest rule (a school's own closed days)


SIGNED_AS = "系统（依到校日报告）"  # the daily job, on a case's timeline, for the teacher whose report it rests on


@dataclass
class Child:
    student_id: int
    name: str
    school_id: int
    class_id: int | None
    status: str
    days: dict[date, str]  # day -> absence kind
    recorded_by: dict[date, int]


@dataclass(frozen=True)
class Found:
    """What a walk found: `days` counted from `first` to `last`, and what stopped it."""

    days: int = 0
    first: date | None = None
    last: date | None = None
    stopped_on: date | None = None
    stopped_by: str = ""  # present | excused


def walk(days_desc: list[date], child: Child, reported: set[tuple[int, date]], counting: str) -> Found:
    """Count `counting` absences back from today until a known day that is not one."""
    count, first, last = 0, None, None
    for day in days_desc:
        kind = child.days.get(day)
        if kind == counting:
            count, first, last = count + 1, day, last or day
        elif kind is not None:
            return Found(count, first, last, day, "excused" if kind in (AbsenceKind.SICK, AbsenceKind.PERSONAL)
                         and counting == AbsenceKind.UNEXCUSED else "present")
        elif child.class_id is not None and (child.class_id, day) in reported:
            return Found(count, first, last, day, "present")
    return Found(count, first, last)


def scattered(days_desc: list[date], child: Child, window: int) -> Found:
    days = [d for d in days_desc[:window] if child.days.get(d) == AbsenceKind.UNEXCUSED]
    return Found(len(days), days[-1], days[0]) if days else Found()


@dataclass
class Check:
    """What one run of `check` did (the job's result, and what the tests read)."""

    raised: int = 0
    ended: int = 0
    cases: int = 0
    spells: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"raised": self.raised, "ended": self.ended, "cases": self.cases, "open_spells": self.spells}


def check(session: Session, *, class_ids: list[int] | None = None, today: date | None = None) -> Check:
    """Bring the spells, their steps and the cases they open in line with the absences."""
    today = today or clock.today()
    rules = rules_of(session)
    result = Check()
    # The caller has authorized the save (or is the township's job): the steps and the cases it
    # opens belong to both lines, so they are written as its consequences.
    with consequences(session):
        calendar = Calendar.load(session)
        open_spells = _open_spells(session, class_ids)
        since = calendar.after(None, today, -(rules.longest + MARGIN))
        since = min([since, *(s.first_day for s in open_spells.values())])
        children = _children(session, since, today, class_ids, {s.student_id for s in open_spells.values()}, rules)
        reported = _reported(session, since, today, class_ids)
        returners = _returners(session, list(children))
        school_days = _school_days(calendar, {c.school_id for c in children.values()}, since, today)
        live, stops = _findings(children, school_days, reported, rules)

        touched: dict[int, AbsenceSpell] = {}
        raised: list[tuple[AbsenceSpell, Found]] = []
        for key, spell in open_spells.items():
            if key not in live:
                _end(session, spell, stops.get(key), children.get(spell.student_id), today)
                result.ended += 1
                touched[spell.id] = spell
        for key, (found, child) in live.items():
            spell = open_spells.get(key)
            if spell is not None and key[1] == SpellKind.RUN and found.first and found.first > spell.last_day:
                _end(session, spell, Found(stopped_by="present", stopped_on=found.first), child, today)
                result.ended += 1
                touched[spell.id] = spell
                spell = None
            if spell is None:
                raised.append((_raise(session, key[1], found, child, student_id=key[0],
                                      returner=key[0] in returners), found))
                result.raised += 1
            else:
                _follow(session, spell, found)
                touched[spell.id] = spell
        session.flush()  # one INSERT for every spell raised (after the UPDATEs that ended spells)
        for spell, found in raised:
            _raised(session, spell, found)
            touched[spell.id] = spell
        session.flush()

        runs = [s for s in touched.values() if s.kind == SpellKind.RUN and s.ended_at is None]
        result.cases = _hand_over(session, runs, children, rules)
        dues = _steps(session, calendar, rules, list(touched.values()))
        worklist.reconcile_many(session, SUBJECT, dues)
        result.spells = sum(1 for s in touched.values() if s.ended_at is None)
    return result


def _findings(children: dict[int, Child], school_days: dict[int, list[date]], reported: set[tuple[int, date]],
              rules: Rules) -> tuple[dict[Key, tuple[Found, Child]], dict[Key, Found]]:
    """What each child's days say: the spells that should be open (with what they count), and
    where each child's unexcused run stopped (why a spell ends)."""
    live: dict[Key, tuple[Found, Child]] = {}
    stops: dict[Key, Found] = {}
    for child in children.values():
        if child.status not in ON_THE_LIST:
            continue
        days_desc = school_days[child.school_id]
        run = walk(days_desc, child, reported, AbsenceKind.UNEXCUSED)
        stops[(child.student_id, SpellKind.RUN)] = run
        if run.days:
            live[(child.student_id, SpellKind.RUN)] = (run, child)
        spread = scattered(days_desc, child, rules.scattered_window)
        if spread.days >= rules.scattered_days and run.days < spread.days:  # not all of one run
            live[(child.student_id, SpellKind.SCATTERED)] = (spread, child)
        sick = walk(days_desc, child, reported, AbsenceKind.SICK)
        if sick.days >= rules.sick_check_days:
            live[(child.student_id, SpellKind.SICK)] = (sick, child)
    return live, stops


# --- reads: one query each --------------------------------------------------------------------

def _open_spells(session: Session, class_ids: list[int] | None) -> dict[Key, AbsenceSpell]:
    query = select(AbsenceSpell).where(AbsenceSpell.ended_at.is_(None))
    if class_ids is not None:
        query = query.where(or_(AbsenceSpell.class_id.in_(class_ids), AbsenceSpell.student_id.in_(
            select(Student.id).where(Student.class_id.in_(class_ids)))))
    return {(s.student_id, s.kind): s for s in session.scalars(query)}


def _children(session: Session, since: date, today: date, class_ids: list[int] | None,
              with_spells: set[int], rules: Rules) -> dict[int, Child]:
    """The children who may have a spell (an unexcused day in the window, or as many sick days as
    the sick check needs, or an open spell), and all their absences in it: the one grouped read."""
    concerned = select(Absence.student_id).where(
        Absence.day >= since, Absence.day <= today,
        Absence.kind.in_((AbsenceKind.UNEXCUSED.value, AbsenceKind.SICK.value)))
    if class_ids is not None:
        concerned = concerned.where(Absence.class_id.in_(class_ids))
    concerned = concerned.group_by(Absence.student_id).having(or_(
        func.count().filter(Absence.kind == AbsenceKind.UNEXCUSED.value) > 0,
        func.count().filter(Absence.kind == AbsenceKind.SICK.value) >= rules.sick_check_days))
    ids = union(concerned, select(Student.id).where(Student.id.in_(sorted(with_spells)))) if with_spells else concerned
    students = session.execute(select(Student.id, Student.name, Student.school_id, Student.class_id, Student.status)
                               .where(Student.id.in_(ids.scalar_subquery() if with_spells else concerned)))
    children = {sid: Child(sid, name, school_id, class_id, status, {}, {})
                for sid, name, school_id, class_id, status in students}
    if not children:
        return children
    rows = session.execute(select(Absence.student_id, Absence.day, Absence.kind, Absence.recorded_by).where(
        Absence.day >= since, Absence.day <= today,
        Absence.student_id.in_(ids.scalar_subquery() if with_spells else concerned)))
    for student_id, day, kind, recorded_by in rows:
        child = children.get(student_id)
        if child is not None:
            child.days[day] = kind
            child.recorded_by[day] = recorded_by
    return children


def _reported(session: Session, since: date, today: date, class_ids: list[int] | None) -> set[tuple[int, date]]:
    query = select(AttendanceReport.class_id, AttendanceReport.day).where(
        AttendanceReport.day >= since, AttendanceReport.day <= today)
    if class_ids is not None:
        query = query.where(AttendanceReport.class_id.in_(class_ids))
    return {(class_id, day) for class_id, day in session.execute(query)}


def _returners(session: Session, student_ids: list[int]) -> set[int]:
    from baoxue.tenants.cases.service import returner_ids

    return returner_ids(session) & set(student_ids) if student_ids else set()


def _school_days(calendar: Calendar, school_ids: set[int], since: date, today: date) -> dict[int, list[date]]:
    return {school_id: calendar.between(school_id, since, today)[::-1] for school_id in school_ids}


# --- spells -----------------------------------------------------------------------------------

def _raise(session: Session, kind: str, found: Found, child: Child, *, student_id: int,
           returner: bool) -> AbsenceSpell:
    spell = AbsenceSpell(township_id=township_id_of(session), student_id=student_id, student_name=child.name,
                         school_id=child.school_id, class_id=child.class_id, kind=kind, first_day=found.first,
                         last_day=found.last, days=found.days, returner=returner, opened_at=clock.now())
    session.add(spell)
    return spell


def _raised(session: Session, spell: AbsenceSpell, found: Found) -> None:
    audit.record(session, Event.SPELL_RAISED, entity=spell, changes={
        "student_id": spell.student_id, "spell_kind": spell.kind, "first_day": found.first, "days": found.days,
        "returner": spell.returner})


def _follow(session: Session, spell: AbsenceSpell, found: Found) -> None:
    if spell.first_day != found.first:
        # A correction moved the run's start: on the record, with the old and new first day.
        audit.record(session, Event.SPELL_CHANGED, entity=spell, changes={
            "first_day": [spell.first_day, found.first], "days": [spell.days, found.days]})
    spell.first_day, spell.last_day, spell.days = found.first, found.last, found.days


def _end(session: Session, spell: AbsenceSpell, stop: Found | None, child: Child | None, today: date) -> None:
    if child is not None and child.status not in ON_THE_LIST:
        reason, on = "left", today
    elif spell.kind != SpellKind.RUN:
        reason, on = "below", today
    elif stop is not None and stop.stopped_on is not None and stop.stopped_on > spell.last_day:
        reason, on = stop.stopped_by, stop.stopped_on
    else:
        reason, on = "corrected", today  # the days it counted are no longer unexcused
    spell.ended_at, spell.ended_on, spell.ended_reason = clock.now(), on, reason
    audit.record(session, Event.SPELL_ENDED, entity=spell, changes={
        "student_id": spell.student_id, "spell_kind": spell.kind, "reason": reason, "ended_on": on, "days": spell.days})
    if spell.case_id is not None and reason in ("present", "excused"):
        _tell_case(session, spell, on, child)


def _tell_case(session: Session, spell: AbsenceSpell, on: date, child: Child | None) -> None:
    """A child back in class while their case is open: the case's timeline says so."""
    from baoxue.tenants.cases import timeline
    from baoxue.tenants.cases.flows import EntryKind, Stage

    case = session.scalar(select(Case).where(Case.id == spell.case_id))
    if case is None or case.stage == Stage.CLOSED:
        return
    recorder = (child.recorded_by.get(spell.last_day) if child else None) or case.opened_by
    timeline.add_entry(session, case, EntryKind.NOTE, JobActor(recorder, SIGNED_AS), summary=(
        f"到校日报告：学生{on:%m月%d日}已到校（连续旷课{spell.days}个教学日后）。"
        "请核实，确已返校的按“返校复学”结案。"), details={"spell_id": spell.id, "present_on": on})
    _notify_back(session, case, spell, on)


def _notify_back(session: Session, case: Case, spell: AbsenceSpell, on: date) -> None:
    """Tell the school's academic office (who closes the case as returned) and the village (the
    government line), once per spell that ended so (notifications)."""
    from baoxue.tenants.notifications.service import send

    to = [Owner(UnitKind.SCHOOL, case.school_id, Role.ACADEMIC_OFFICE.value)]
    if case.village_cadre_membership_id:
        to.append(Owner(UnitKind.VILLAGE, case.village_id, membership_id=case.village_cadre_membership_id))
    elif case.village_id:
        to.append(Owner(UnitKind.VILLAGE, case.village_id, Role.VILLAGE_CADRE.value))
    send(session, key=f"returned:{case.id}:{spell.id}", to=to, kind="returned_to_school",
         text=f"{case.student_name}{on:%m月%d日}已到校（个案仍在办理），请核实；确已返校的按“返校复学”结案。",
         href=f"/cases/{case.id}")


def _hand_over(session: Session, runs: list[AbsenceSpell], children: dict[int, Child], rules: Rules) -> int:
    """Runs that reached the case threshold, or whose child already has an open case: the case
    carries them from now on. Returns how many cases this opened."""
    from baoxue.tenants.cases import service as cases

    waiting = [s for s in runs if s.case_id is None]
    if not waiting:
        return 0
    open_cases = dict(session.execute(select(Case.student_id, Case.id).where(
        Case.stage != "closed", Case.student_id.in_([s.student_id for s in waiting]))).all())
    opened = 0
    for spell in waiting:
        threshold = 1 if spell.returner else rules.step_village
        case_id = open_cases.get(spell.student_id)
        if case_id is None and spell.days < threshold:
            continue
        child = children[spell.student_id]
        if case_id is None:
            actor = _acting(session, child, spell)
            case_id = cases.open_from_attendance(session, actor, spell.student_id, first_absent_on=spell.first_day,
                                                 days=spell.days, returner=spell.returner,
                                                 report=_filed_report(spell)).id
            opened += 1
        else:
            cases.note_attendance(session, _acting(session, child, spell), case_id, first_absent_on=spell.first_day,
                                  days=spell.days)
        spell.case_id = case_id
        audit.record(session, Event.SPELL_CASE, entity=spell, changes={
            "student_id": spell.student_id, "case_id": case_id, "days": spell.days})
    session.flush()
    return opened


def _acting(session: Session, child: Child, spell: AbsenceSpell) -> Any:
    """The person in the request, or (in the job) the teacher whose report the step rests on."""
    from baoxue.platform.db import tenant_of

    actor = tenant_of(session).extra.get("actor")
    if actor is not None and getattr(actor, "user_id", None):
        return actor
    return JobActor(child.recorded_by.get(spell.last_day) or next(iter(child.recorded_by.values())), SIGNED_AS)


def _filed_report(spell: AbsenceSpell) -> dict[str, Any] | None:
    if spell.report_filed_at is None:
        return None
    return {"filed_at": spell.report_filed_at, "by": spell.report_by, "reason_code": spell.report_reason_code,
            "text": spell.report_text}


# --- steps ------------------------------------------------------------------------------------

def _visits(session: Session, spells: list[AbsenceSpell]) -> dict[int, list[date]]:
    """Each spell's child's visits and calls since the spell began (one query)."""
    if not spells:
        return {}
    earliest = min(s.first_day for s in spells)
    rows = session.execute(select(HomeVisit.student_id, HomeVisit.visited_at).where(
        HomeVisit.student_id.in_(sorted({s.student_id for s in spells})),
        HomeVisit.visited_at >= start_of(earliest), HomeVisit.visited_at <= clock.now()))
    found: dict[int, list[date]] = defaultdict(list)
    for student_id, visited_at in rows:
        found[student_id].append(china_day(visited_at))
    return found


def _owners(session: Session, spells: list[AbsenceSpell]) -> dict[int, Owner]:
    """Each spell's owner: its class's class teacher, or the school's academic office (one query)."""
    teachers = first_class_teachers(session, (s.class_id for s in spells))
    return {s.id: Owner(UnitKind.SCHOOL, s.school_id, Role.CLASS_TEACHER.value, teachers[s.class_id])
            if s.class_id in teachers else Owner(UnitKind.SCHOOL, s.school_id, Role.ACADEMIC_OFFICE.value)
            for s in spells}


def _steps(session: Session, calendar: Calendar, rules: Rules, spells: list[AbsenceSpell]) -> dict[int, list[Due]]:
    live = [s for s in spells if s.ended_at is None and s.case_id is None]
    visits = _visits(session, live)
    owners = _owners(session, live)
    dues: dict[int, list[Due]] = {s.id: [] for s in spells}
    for spell in live:
        seen = sorted(d for d in visits.get(spell.student_id, []) if d >= spell.first_day)
        owner = owners[spell.id]
        dues[spell.id] = (run_steps(calendar, rules, spell, seen, owner) if spell.kind == SpellKind.RUN
                          else watch_steps(spell, seen, owner))
    return dues


def run_steps(calendar: Calendar, rules: Rules, spell: AbsenceSpell, seen: list[date], owner: Owner) -> list[Due]:
    """A run's steps before its case opens, each due on its school day."""
    href, name, school = f"/attendance/spells/{spell.id}", spell.student_name, spell.school_id

    def day(n: int) -> date:
        return calendar.day_n(school, spell.first_day, 1 if spell.returner else n)

    dues = []
    if not seen:
        due = day(rules.step_contact)
        dues.append(Due("attendance:contact", f"联系监护人：{name}（连续旷课{spell.days}天）", href, owner, due, due))
    visits_from = day(rules.step_visits)
    if spell.quit_said_on is not None:
        visits_from = min(visits_from, spell.quit_said_on)
    if (spell.days >= rules.step_visits or spell.quit_said_on is not None or spell.returner) and len(seen) < MIN_ATTEMPTS:
        due = visits_from if not seen else max(visits_from, calendar.after(school, seen[-1], 1))
        dues.append(Due("attendance:visit", f"第{len(seen) + 1}次家访劝返（至少{MIN_ATTEMPTS}次）：{name}", href, owner,
                        due, min(due, visits_from)))
    if spell.days >= rules.step_report and spell.report_filed_at is None:
        due = day(rules.step_report)
        dues.append(Due("attendance:report", f"填报旷课报告单：{name}（连续旷课{spell.days}天）", href, owner, due, due))
    return dues


def watch_steps(spell: AbsenceSpell, seen: list[date], owner: Owner) -> list[Due]:
    """A scattered spell or a long sick leave: one contact since it was raised, or the check."""
    raised = china_day(spell.opened_at)
    if spell.checked_at is not None or any(d >= raised for d in seen):
        return []
    href, name = f"/attendance/spells/{spell.id}", spell.student_name
    if spell.kind == SpellKind.SCATTERED:
        title = f"了解累计旷课原因并联系家长：{name}（近期旷课{spell.days}天）"
    else:
        title = f"核实病情：{name}已连续病假{spell.days}个教学日"
    return [Due(f"attendance:{spell.kind}", title, href, owner, raised, raised)]
