"""A township's school year on a held clock, day by day: the class teacher reports, the morning
job runs, and the test reads what is on whose list."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select

from baoxue.platform.clock import CHINA, clock
from baoxue.platform.identity import Actor
from baoxue.tenants.attendance import escalation, service, spells
from baoxue.tenants.attendance.models import AbsenceSpell
from baoxue.tenants.cases.models import Case
from baoxue.tenants.school_calendar.models import CalendarDay, SchoolTerm
from baoxue.tenants.worklist.models import WorkItem
from tests.tenants.cases.helpers import caseless_child
from tests.tenants.world import TownshipWorld

# The real autumn of 2026: the make-up Sunday before the Mid-Autumn holiday, the National Day
# week, and the make-up Saturday after it (State Council notice for 2026).
AUTUMN_2026 = {date(2026, 9, 20): (True, "国庆调休"),
               **{date(2026, 9, d): (False, "中秋节") for d in (25, 26, 27)},
               **{date(2026, 10, d): (False, "国庆节") for d in range(1, 8)},
               date(2026, 10, 10): (True, "国庆调休")}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), CHINA)


class AttendanceWorld(TownshipWorld):
    def __init__(self, session: Any, settings: Any, township_id: int, prefix: str) -> None:
        super().__init__(session, settings, township_id)
        self.teacher = self.actor(f"{prefix}_mid_teacher")
        self.class_id = self.teacher.membership.class_ids[0]
        self.taken: set[int] = set()

    def child(self) -> int:
        found = caseless_child(self.settings, self.class_id, taken=self.taken)
        self.taken.add(found)
        return found

    def autumn_2026(self) -> None:
        """This township's calendar, replaced (in the test's transaction) by the real autumn."""
        self.as_township()
        self.session.execute(delete(CalendarDay))
        self.session.execute(delete(SchoolTerm))
        self.session.add(SchoolTerm(township_id=self.township_id, name="2026—2027学年第一学期",
                                    starts_on=date(2026, 9, 1), ends_on=date(2027, 1, 22)))
        self.session.add_all(CalendarDay(township_id=self.township_id, day=d, school_day=on, name=name, created_by=0)
                             for d, (on, name) in AUTUMN_2026.items())
        self.session.flush()

    def report(self, day: date, marks: dict[int, str], hour: int = 8) -> Any:
        clock.freeze(at(day, hour, 30))
        return service.do_save_class_day(self.session, self.act(self.teacher), self.class_id, day,
                                         {sid: (kind, "") for sid, kind in marks.items()})

    def morning_job(self, day: date) -> escalation.Check:
        clock.freeze(at(day, 6))
        self.as_township()
        return escalation.check(self.session)

    def spell(self, student_id: int, kind: str = "run", *, open_only: bool = True) -> AbsenceSpell | None:
        self.as_township()
        query = select(AbsenceSpell).where(AbsenceSpell.student_id == student_id, AbsenceSpell.kind == kind)
        if open_only:
            query = query.where(AbsenceSpell.ended_at.is_(None))
        return self.session.scalars(query.order_by(AbsenceSpell.id.desc())).first()

    def case(self, student_id: int) -> Case | None:
        self.as_township()
        return self.session.scalar(select(Case).where(Case.student_id == student_id, Case.stage != "closed"))

    def shown(self, student_id: int) -> dict[str, WorkItem]:
        """The child's open items shown today (its spells' and its case's), by kind."""
        self.as_township()
        spell_ids = select(AbsenceSpell.id).where(AbsenceSpell.student_id == student_id)
        case_ids = select(Case.id).where(Case.student_id == student_id)
        items = self.session.scalars(select(WorkItem).where(
            WorkItem.closed_at.is_(None), WorkItem.shows_from <= clock.today(),
            ((WorkItem.subject_type == escalation.SUBJECT) & WorkItem.subject_id.in_(spell_ids))
            | ((WorkItem.subject_type == "cases") & WorkItem.subject_id.in_(case_ids))))
        return {i.kind: i for i in items}

    def all_items(self, student_id: int) -> list[WorkItem]:
        self.as_township()
        spell_ids = select(AbsenceSpell.id).where(AbsenceSpell.student_id == student_id)
        case_ids = select(Case.id).where(Case.student_id == student_id)
        return list(self.session.scalars(select(WorkItem).where(
            ((WorkItem.subject_type == escalation.SUBJECT) & WorkItem.subject_id.in_(spell_ids))
            | ((WorkItem.subject_type == "cases") & WorkItem.subject_id.in_(case_ids)))))

    def do_what_the_list_says(self, student_id: int, day: date) -> None:
        """The class teacher takes the spell's steps as they appear: calls, visits, the report."""
        shown = self.shown(student_id)
        spell = self.spell(student_id)
        if spell is None or spell.case_id is not None:
            return
        clock.freeze(at(day, 16))
        if "attendance:contact" in shown or "attendance:visit" in shown:
            mode = "phone" if "attendance:contact" in shown else "home"
            spells.do_record_contact(self.session, self.act(self.teacher), spell.id, mode=mode, met="父亲",
                                     found="孩子在家，说不想上学。", settings=self.settings)
        if "attendance:report" in shown:
            spells.do_file_absence_report(self.session, self.act(self.teacher), spell.id, reason_code="weary",
                                          text="已电话联系家长并两次家访，孩子厌学不愿到校。")


def school_days(start: date, end: date) -> list[date]:
    """Every calendar day from start to end (the walk looks at each, school day or not)."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def teacher_of(world: AttendanceWorld) -> Actor:
    return world.teacher
