"""Four weeks of daily arrival reports in each demo township, ending today, and their escalation.

Every class reported every school day of the last four weeks (on the demo's calendar), with the
absences a township sees: a few children ill or away on family business, a few late, rarely one
away without leave. The children whose cases are open (tenants/cases/demo.py) are away every day
since their first day, so the morning's job links their runs to their cases. The class teachers
with demo logins report their classes themselves, day by day, and live the escalation:

* a child away six days: called on day 1, visited on days 2 and 4, the 旷课报告单 filed on day 3;
  on day 5 the teacher's own report opened the case (疑似辍学) for the village to join;
* a child away three days (the report is due today), and one away since this morning (the
  call home is on the teacher's list: 辍学上报不过夜);
* a child who comes every other day (the scattered flag), one on sick leave for eleven days (the
  teacher is asked to check), one away three days last week and back since (the spell ended);
* a sick note granted for the next two days.

Today one class of each school has not reported yet: once the township's hour has passed, its
academic office sees it. Background rows are written in bulk; the stories go through the service.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from baoxue.platform.clock import CHINA, china_day, clock
from baoxue.platform.demo import DemoContext, acting, as_township
from baoxue.platform.permissions import Role
from baoxue.tenants.attendance import escalation, service, spells
from baoxue.tenants.attendance.flows import AWAY, ON_THE_LIST, AbsenceKind
from baoxue.tenants.attendance.models import Absence, AttendanceReport
from baoxue.tenants.cases.models import Case
from baoxue.tenants.school_calendar.rules import rules_of
from baoxue.tenants.school_calendar.service import Calendar
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.demo import demo_actors
from baoxue.tenants.tenancy.models import Membership, MembershipClass

LOGINS = {"mid_teacher": Role.CLASS_TEACHER, "cps_teacher": Role.CLASS_TEACHER,
          "mid_academic": Role.ACADEMIC_OFFICE, "cps_academic": Role.ACADEMIC_OFFICE}
SCHOOL_DAYS = 20
# A day's chances for one child: ill, family business, late, away without leave.
CHANCES = ((AbsenceKind.SICK, 0.012), (AbsenceKind.PERSONAL, 0.006), (AbsenceKind.LATE, 0.006),
           (AbsenceKind.UNEXCUSED, 0.0008))
NOTES = {AbsenceKind.SICK: ("发烧", "感冒咳嗽", "肚子疼，家长电话请假"), AbsenceKind.PERSONAL: ("家中有事", "随家长走亲戚"),
         AbsenceKind.LATE: ("路远，雨天", ""), AbsenceKind.UNEXCUSED: ("",)}


def seed(demo: DemoContext) -> None:
    with clock.kept() as start:
        for seeded in demo.state["tenancy"].values():
            _seed_township(demo, seeded, start)


def _at(day: date, hour: int, minute: int, start: datetime) -> datetime:
    return min(datetime.combine(day, time(hour, minute), tzinfo=CHINA), start)


def _seed_township(demo: DemoContext, seeded: Any, start: datetime) -> None:
    session, rng, township_id = demo.session, demo.rng, seeded.township.id
    actors = demo_actors(session, seeded, LOGINS)
    classes = [k for key in seeded.schools for k in seeded.classes[key]]
    with as_township(session, township_id):
        calendar = Calendar.load(session)
        open_cases = dict(session.execute(select(Case.student_id, Case.first_absent_on)
                                          .where(Case.stage != "closed")).all())
        with_cases = set(session.scalars(select(Case.student_id)))  # the stories' children have no case yet
        reporters = _reporters(session, classes)
        roll = {k.id: list(session.scalars(select(Student.id).where(
            Student.class_id == k.id, Student.status.in_(ON_THE_LIST)).order_by(Student.id)))
            for k in classes}
    today = china_day(start)
    days = calendar.between(None, today - timedelta(days=60), today)[-SCHOOL_DAYS:]
    if not days:
        return
    teacher_classes = {actors[t].membership.class_ids[0]: t for t in ("mid_teacher", "cps_teacher") if t in actors}
    unreported_today = {seeded.classes[key][-1].id for key in seeded.schools} - set(teacher_classes)

    def background(class_id: int, day: date) -> dict[int, tuple[str, str]]:
        marks: dict[int, tuple[str, str]] = {}
        for student_id in roll[class_id]:
            if student_id in open_cases and (open_cases[student_id] or days[0]) <= day:
                marks[student_id] = (AbsenceKind.UNEXCUSED.value, "")  # the child of an open case is away
                continue
            draw = rng.random()
            for kind, chance in CHANCES:
                if draw < chance:
                    marks[student_id] = (kind.value, rng.choice(NOTES[kind]))
                    break
                draw -= chance
        return marks

    stories = {class_id: _Stories(rng, [s for s in roll[class_id] if s not in with_cases], days)
               for class_id in teacher_classes}
    for day in days:
        # The classes of the demo's class teachers, through the service: their escalation is lived.
        for class_id, login in teacher_classes.items():
            story = stories[class_id]
            marks = {**{sid: m for sid, m in background(class_id, day).items() if sid not in story.cast},
                     **story.marks(day)}
            with acting(session, actors[login], _at(day, 8, 20 + rng.randint(0, 25), start)) as actor:
                service.do_save_class_day(session, actor, class_id, day, marks)
            story.follow_up(session, actors[login], day, start)
        # Every other class in bulk (the rows the service would write).
        with as_township(session, township_id):
            for klass in classes:
                if klass.id in teacher_classes or (day == today and klass.id in unreported_today):
                    continue
                _bulk_day(session, township_id, klass, day, background(klass.id, day), len(roll[klass.id]),
                          reporters[klass.id], _at(day, 8, rng.randint(5, 55), start))
    for class_id, login in teacher_classes.items():
        stories[class_id].ahead(session, actors[login], start)

    # This morning's job, and the office's "not reported" flags if the township's hour has passed.
    with clock.kept(), as_township(session, township_id):
        clock.freeze(start)
        escalation.check(session)
        rules = rules_of(session)
        if start.astimezone(CHINA).hour >= rules.report_by_hour:
            service.flag_unreported(session, rules.report_by_hour)


def _reporters(session: Any, classes: list[Any]) -> dict[int, int]:
    """Who reports each class: its class teacher, else someone of its school (a user id)."""
    by_class = dict(session.execute(
        select(MembershipClass.class_id, Membership.user_id)
        .join(Membership, Membership.id == MembershipClass.membership_id)
        .where(Membership.role == Role.CLASS_TEACHER.value)).all())
    by_school: dict[int, int] = {}
    for school_id, user_id in session.execute(select(Membership.school_id, Membership.user_id).where(
            Membership.school_id.is_not(None)).order_by(Membership.id)):
        by_school.setdefault(school_id, user_id)
    fallback = session.scalar(select(Membership.user_id).order_by(Membership.id).limit(1))
    return {k.id: by_class.get(k.id) or by_school.get(k.school_id) or fallback for k in classes}


def _bulk_day(session: Any, township_id: int, klass: Any, day: date, marks: dict[int, tuple[str, str]],
              enrolled: int, reporter: int, moment: datetime) -> None:
    kinds = [kind for kind, _note in marks.values()]
    session.add(AttendanceReport(township_id=township_id, school_id=klass.school_id, class_id=klass.id, day=day,
                                 enrolled=enrolled, absent=sum(1 for k in kinds if k in AWAY),
                                 unexcused=kinds.count(AbsenceKind.UNEXCUSED), late=kinds.count(AbsenceKind.LATE),
                                 reported_by=reporter, reported_at=moment))
    session.add_all(Absence(township_id=township_id, student_id=sid, school_id=klass.school_id, class_id=klass.id,
                            day=day, kind=kind, note=note, recorded_by=reporter, recorded_at=moment)
                    for sid, (kind, note) in marks.items())


class _Stories:
    """The lived escalation of one class teacher's class (see the module's docstring)."""

    def __init__(self, rng: Any, children: list[int], days: list[date]) -> None:
        picked = rng.sample(children, 7)
        self.run6, self.run3, self.today1, self.scattered, self.sick, self.back, self.ahead_child = picked
        self.cast = set(picked)
        self.days = days
        last = len(days) - 1
        self.away: dict[int, dict[date, str]] = {
            self.run6: {d: AbsenceKind.UNEXCUSED for d in days[last - 5:]},
            self.run3: {d: AbsenceKind.UNEXCUSED for d in days[last - 2:]},
            self.today1: {days[last]: AbsenceKind.UNEXCUSED},
            self.scattered: {d: AbsenceKind.UNEXCUSED for d in days[last - 9::2]},
            self.sick: {d: AbsenceKind.SICK for d in days[last - 10:]},
            self.back: {d: AbsenceKind.UNEXCUSED for d in days[last - 7:last - 4]},
        }

    def marks(self, day: date) -> dict[int, tuple[str, str]]:
        notes = {self.sick: "肺炎住院"}
        return {sid: (kind.value, notes.get(sid, "")) for sid, away in self.away.items()
                if (kind := away.get(day)) is not None}

    def _day_of_run(self, child: int, day: date) -> int:
        run = sorted(self.away[child])
        return run.index(day) + 1 if day in run else 0

    def follow_up(self, session: Any, teacher: Any, day: date, start: datetime) -> None:
        """What the class teacher does after the morning's report, as the steps ask."""
        for child, steps in ((self.run6, {1: "call", 2: "visit", 3: "report", 4: "visit"}),
                             (self.run3, {1: "call"}), (self.back, {1: "call", 2: "visit"})):
            step = steps.get(self._day_of_run(child, day))
            if step is None:
                continue
            with acting(session, teacher, _at(day, 16, 40, start)) as actor:
                spell = spells.spells_of_student(session, child)[0]
                if step == "report":
                    spells.do_file_absence_report(session, actor, spell.id, reason_code="weary",
                                                  text="已电话联系家长并家访一次。孩子说学习跟不上，不想来上学，家长管不住。")
                else:
                    spells.do_record_contact(session, actor, spell.id, mode="phone" if step == "call" else "home",
                                             met="母亲" if step == "call" else "父亲、奶奶",
                                             found=("电话打通，母亲说孩子早上出门了，不知道没到校。" if step == "call"
                                                    else "孩子在家，说不想上学；已讲清义务教育法的规定，家长答应劝孩子返校。"),
                                             agreed="" if step == "call" else "明天由家长送到校门口。")

    def ahead(self, session: Any, teacher: Any, start: datetime) -> None:
        """A sick note for the next two days, brought in this morning."""
        day = china_day(start)
        with acting(session, teacher, _at(day, 7, 50, start)) as actor:
            service.do_grant_leave(session, actor, self.ahead_child, kind="sick", starts_on=day + timedelta(days=1),
                                   ends_on=day + timedelta(days=2), reason="水痘，县医院假条，居家隔离两天")
