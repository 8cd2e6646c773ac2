"""Children no other test uses, and the attendance audit recipes (tests/platform/test_audit_actions.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from baoxue.platform.clock import clock
from baoxue.platform.db import cross_township_session, set_tenant


def quiet_children(settings: Any, class_id: int, day: date, n: int = 1, *, taken: set[int] | None = None) -> list[int]:
    """Enrolled children of the class with nothing going on: no case, no status change, no spell,
    no leave, no absence in the six weeks before `day`. Lowest ids first (the other tests' helpers
    take the highest), and never one in `taken` (which they join)."""
    from baoxue.tenants.attendance.models import Absence, AbsenceSpell, Leave
    from baoxue.tenants.cases.models import Case
    from baoxue.tenants.status_changes.models import StatusChange
    from baoxue.tenants.students.models import Student

    busy = (select(Case.student_id), select(StatusChange.student_id), select(AbsenceSpell.student_id),
            select(Leave.student_id), select(Absence.student_id).where(Absence.day >= day - timedelta(days=42)))
    query = select(Student.id).where(Student.class_id == class_id, Student.status == "01",
                                     Student.incoming_school_id.is_(None))
    for ids in busy:
        query = query.where(Student.id.not_in(ids))
    with cross_township_session("tests: quiet children", settings) as s:
        found = [i for i in s.scalars(query.order_by(Student.id)) if i not in (taken or set())][:n]
    assert len(found) == n, f"class {class_id} has fewer than {n} quiet children"
    if taken is not None:
        taken.update(found)
    return found


def last_school_day(calendar: Any, school_id: int, today: date) -> date:
    """`today` when it is a school day of the school, else the school day before it."""
    return today if calendar.is_school_day(school_id, today) else calendar.after(school_id, today, -1)


def audit_recipes() -> dict[str, tuple[Any, Any]]:
    """Attendance's `do_*` actions: {action: (recipe, event)}. Each recipe takes that test's
    `World` (a rolled-back, township-wide session of 板当镇) and acts as the middle school's
    academic office on the demo class teacher's class, or as the township office for the rules."""
    from baoxue.tenants.attendance import service, spells
    from baoxue.tenants.attendance.events import Event
    from baoxue.tenants.attendance.models import AbsenceSpell
    from baoxue.tenants.cases.events import Event as Cases
    from baoxue.tenants.school_calendar.rules import rules_of
    from baoxue.tenants.school_calendar.service import Calendar
    from baoxue.tenants.tenancy.models import Township
    from tests.tenants.status_changes.helpers import login_actor

    def acting(w: Any, username: str) -> Any:
        found = login_actor(w.settings, username)
        set_tenant(w.session, found.context())
        return found

    def the_class(w: Any) -> tuple[int, int]:
        teacher = login_actor(w.settings, "bd_mid_teacher")
        return teacher.membership.class_ids[0], teacher.membership.unit_id

    def mark(w: Any, kind: str, days: int = 1) -> tuple[Any, int]:
        """A quiet child marked `kind` on the last `days` school days (each day's other marks kept)."""
        class_id, school_id = the_class(w)
        actor = acting(w, "bd_mid_academic")
        calendar = Calendar.load(w.session, [school_id])
        last = last_school_day(calendar, school_id, clock.today())
        (child,) = quiet_children(w.settings, class_id, last)
        for n in range(days - 1, -1, -1):
            day = calendar.after(school_id, last, -n)
            marks = {m.student_id: (m.kind, m.note) for m in service.class_day(w.session, class_id, day).marks
                     if m.kind}
            marks[child] = (kind, "审计。")
            service.do_save_class_day(w.session, actor, class_id, day, marks)
        return actor, child

    def open_spell(w: Any, child: int, kind: str) -> AbsenceSpell:
        return w.session.scalars(select(AbsenceSpell).where(AbsenceSpell.student_id == child, AbsenceSpell.kind == kind,
                                                            AbsenceSpell.ended_at.is_(None))).one()

    def run(w: Any) -> tuple[Any, AbsenceSpell]:
        actor, child = mark(w, "unexcused")
        return actor, open_spell(w, child, "run")

    def grant(w: Any) -> Any:
        class_id, _school = the_class(w)
        actor = acting(w, "bd_mid_academic")
        (child,) = quiet_children(w.settings, class_id, clock.today())
        return actor, service.do_grant_leave(w.session, actor, child, kind="sick", starts_on=clock.today(),
                                             ends_on=clock.today() + timedelta(days=1), reason="审计。")

    def cancel(w: Any) -> Any:
        actor, leave = grant(w)
        return service.do_cancel_leave(w.session, actor, leave.id)

    def rules(w: Any) -> Any:
        actor = acting(w, "bd_office")
        before = rules_of(w.session).scattered_window
        return service.do_change_rules(w.session, actor, {"scattered_window": 21 if before != 21 else 22})

    def contact(w: Any) -> Any:
        actor, spell = run(w)
        return spells.do_record_contact(w.session, actor, spell.id, mode="phone", met="母亲", found="审计。",
                                        settings=w.settings)

    def report(w: Any) -> Any:
        actor, spell = run(w)
        return spells.do_file_absence_report(w.session, actor, spell.id, reason_code="weary", text="审计。")

    def quit_(w: Any) -> Any:
        actor, spell = run(w)
        return spells.do_say_quit(w.session, actor, spell.id, note="审计。")

    def check(w: Any) -> Any:
        # Three school days of sick leave reach the check when the township says three (in this
        # rolled-back transaction), and a correction may reach back that far.
        w.session.execute(update(Township).where(Township.id == w.township_id)
                          .values(sick_check_days=3, correction_days=10))
        actor, child = mark(w, "sick", days=3)
        return spells.do_check_sick(w.session, actor, open_spell(w, child, "sick").id, note="审计：已见诊断证明。")

    return {
        "service.do_save_class_day": (lambda w: mark(w, "unexcused"), Event.CORRECTED),
        "service.do_grant_leave": (grant, Event.LEAVE_GRANTED),
        "service.do_cancel_leave": (cancel, Event.LEAVE_CANCELLED),
        "service.do_change_rules": (rules, Event.RULES_CHANGED),
        "spells.do_record_contact": (contact, Cases.VISIT_RECORDED),
        "spells.do_file_absence_report": (report, Event.ABSENCE_REPORT_FILED),
        "spells.do_say_quit": (quit_, Event.QUIT_SAID),
        "spells.do_check_sick": (check, Event.SICK_CHECKED),
    }
