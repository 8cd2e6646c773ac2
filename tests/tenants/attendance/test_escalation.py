"""Escalation on a real database, day by day on a held clock across the real autumn of 2026.

A child is away without leave from Thursday 17 September: across the make-up Sunday (20th), the
Mid-Autumn holiday (25th–27th), the National Day week and the make-up Saturday (10 October).
Each step must appear on exactly the school day its rule says, with its owner, and never on a
day without school; a child back on day 4 stops the clock; the other township's thresholds give
its own days.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from baoxue.platform.audit import AuditEvent
from baoxue.platform.clock import china_day, clock
from baoxue.tenants.attendance import escalation, service, spells
from baoxue.tenants.attendance.models import AbsenceSpell, Absence
from baoxue.tenants.cases.models import Case, CaseEntry, HomeVisit
from baoxue.tenants.school_calendar.service import Calendar
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import Township
from baoxue.tenants.worklist.models import WorkItem
from tests.tenants.attendance.helpers import AttendanceWorld, at, school_days

D = date  # brevity in the expectations below
FIRST = D(2026, 9, 17)  # a Thursday


@pytest.fixture(autouse=True)
def held() -> Iterator[None]:
    yield
    clock.unfreeze()


def world_of(db_session: Any, demo: Any, townships: dict[str, int], code: str) -> AttendanceWorld:
    township_id = townships[code]
    world = AttendanceWorld(db_session(township_id), demo, township_id, code.split("-")[1].lower())
    world.autumn_2026()
    return world


# The second township sets its own numbers (DOMAIN.md §13: a report after 5 days, a suspected
# dropout after a week, the dropout confirmed after 4 weeks).
LONGER = {"step_report": 5, "step_village": 7, "step_final_visit": 12, "step_confirm": 20}

EXPECTED = {
    "DEMO-BD": {"attendance:contact": D(2026, 9, 17), "attendance:visit": D(2026, 9, 18),
                "attendance:report": D(2026, 9, 20),  # day 3 is the make-up Sunday
                "cases:village": D(2026, 9, 22), "cases:final_visit": D(2026, 9, 30),
                "cases:confirm": D(2026, 10, 13)},  # day 15, after two holidays and a make-up Saturday
    "DEMO-LG": {"attendance:contact": D(2026, 9, 17), "attendance:visit": D(2026, 9, 18),
                "attendance:report": D(2026, 9, 22), "cases:village": D(2026, 9, 24),
                "cases:final_visit": D(2026, 10, 9), "cases:confirm": D(2026, 10, 20)},
}


@pytest.mark.parametrize("code", ["DEMO-BD", "DEMO-LG"])
def test_each_step_appears_on_its_school_day_for_its_owner(db_session: Any, demo: Any,
                                                           townships: dict[str, int], code: str) -> None:
    world = world_of(db_session, demo, townships, code)
    if code == "DEMO-LG":
        world.session.execute(update(Township).where(Township.id == world.township_id).values(**LONGER))
    away, back = world.child(), world.child()
    calendar = Calendar.load(world.session)
    last = max(EXPECTED[code].values())
    appeared: dict[str, date] = {}
    owners: dict[str, tuple[Any, ...]] = {}

    def look(day: date) -> None:
        for kind, item in world.shown(away).items():
            if kind not in appeared:
                appeared[kind] = day
                owners[kind] = (item.owner_unit_kind, item.owner_role, item.owner_membership_id)

    for day in school_days(FIRST, last):
        world.morning_job(day)
        look(day)
        if calendar.is_school_day(None, day):
            marks = {away: "unexcused"}
            if day < D(2026, 9, 21):  # the second child is away three days and back on day 4
                marks[back] = "unexcused"
            world.report(day, marks)
            look(day)
            world.do_what_the_list_says(away, day)
        if day == D(2026, 9, 21):
            assert world.spell(back) is None and world.shown(back) == {}

    assert appeared == EXPECTED[code]
    # Never on a day without school: every item this child ever had fell due on a school day.
    assert all(calendar.is_school_day(None, i.due_on) for i in world.all_items(away))

    # The owners: the class teacher's steps, then the case's lines (the village, the principal).
    teacher = world.teacher.membership_id
    assert owners["attendance:contact"] == ("school", "class_teacher", teacher)
    assert owners["attendance:report"] == ("school", "class_teacher", teacher)
    assert owners["cases:village"][:2] == ("village", "village_cadre")
    assert owners["cases:final_visit"][:2] == ("school", "principal")
    assert owners["cases:confirm"][:2] == ("school", "principal")

    # One case, opened on the village day from the run, carrying what the run already had: the
    # call and two visits are its three attempts, the report filed moved it to "reported".
    case = world.case(away)
    assert case is not None and case.opened_via == "attendance" and case.first_absent_on == FIRST
    assert china_day(case.opened_at) == EXPECTED[code]["cases:village"]
    assert case.stage == "reported"
    world.as_township()
    attempts = world.session.scalars(select(HomeVisit.attempt).where(HomeVisit.case_id == case.id)
                                     .order_by(HomeVisit.attempt)).all()
    assert attempts == [1, 2, 3]
    kinds = world.session.scalars(select(CaseEntry.kind).where(CaseEntry.case_id == case.id)
                                  .order_by(CaseEntry.number)).all()
    assert kinds[:1] == ["opened"] and kinds.count("home_visit") == 3 and "absence_report" in kinds
    spell = world.spell(away)
    assert spell is not None and spell.case_id == case.id
    assert world.session.scalar(select(func.count(WorkItem.id)).where(
        WorkItem.subject_type == escalation.SUBJECT, WorkItem.subject_id == spell.id,
        WorkItem.closed_at.is_(None))) == 0  # the case carries the steps: nothing on two lists

    # The child back on day 4: the spell ended that day, as "present"; no case for them.
    ended = world.spell(back, open_only=False)
    assert ended is not None and (ended.ended_on, ended.ended_reason, ended.days) == (D(2026, 9, 21), "present", 3)
    assert world.case(back) is None


def test_a_second_run_on_the_same_day_changes_nothing(db_session: Any, demo: Any,
                                                      townships: dict[str, int]) -> None:
    world = world_of(db_session, demo, townships, "DEMO-BD")
    child = world.child()
    for day in (D(2026, 9, 17), D(2026, 9, 18), D(2026, 9, 20), D(2026, 9, 21), D(2026, 9, 22)):
        world.report(day, {child: "unexcused"})

    def state() -> tuple[int, ...]:
        world.as_township()
        return tuple(world.session.scalar(select(func.count()).select_from(model)) or 0
                     for model in (AbsenceSpell, WorkItem, Case, CaseEntry, AuditEvent))

    world.morning_job(D(2026, 9, 23))
    before = state()
    again = world.morning_job(D(2026, 9, 23))
    assert state() == before and (again.raised, again.ended, again.cases) == (0, 0, 0)
    assert world.case(child) is not None  # the fifth day's save opened it; the job opened no second


def test_a_correction_that_removes_the_absence_closes_its_steps_on_the_record(
        db_session: Any, demo: Any, townships: dict[str, int]) -> None:
    world = world_of(db_session, demo, townships, "DEMO-BD")
    child, other = world.child(), world.child()
    world.report(FIRST, {child: "unexcused", other: "sick"})
    assert set(world.shown(child)) == {"attendance:contact"}
    spell = world.spell(child)

    # Two hours later the teacher learns the child was at the clinic with a note: corrected.
    report = world.report(FIRST, {other: "sick"}, hour=10)
    assert report.revisions == 1
    assert world.shown(child) == {}
    world.as_township()
    assert (spell.ended_reason, spell.ended_on) == ("corrected", FIRST)
    assert world.session.scalar(select(WorkItem.closed_at).where(
        WorkItem.subject_type == escalation.SUBJECT, WorkItem.subject_id == spell.id)) is not None
    corrected = world.session.scalars(select(AuditEvent).where(
        AuditEvent.event == "attendance:report:corrected", AuditEvent.entity_id == str(report.id))).one()
    assert corrected.changes["removed"] == [[child, "旷课"]]
    ended = world.session.scalars(select(AuditEvent.changes).where(
        AuditEvent.event == "attendance:spell:ended", AuditEvent.entity_id == str(spell.id))).one()
    assert ended["reason"] == "corrected"


def test_scattered_absence_raises_a_flag_for_the_class_teacher(db_session: Any, demo: Any,
                                                               townships: dict[str, int]) -> None:
    world = world_of(db_session, demo, townships, "DEMO-BD")
    child = world.child()
    calendar = Calendar.load(world.session)
    days = calendar.between(None, D(2026, 9, 1), D(2026, 9, 30))
    away = days[::2]  # every other school day: never two in a row
    for day in days:
        world.report(day, {child: "unexcused"} if day in away else {})
        spell = world.spell(child, "scattered")
        if day < away[4]:
            assert spell is None  # four within the window: not yet
        elif day == away[4]:
            assert spell is not None and spell.days == 5
            item = world.shown(child)["attendance:scattered"]
            assert (item.owner_role, item.due_on) == ("class_teacher", day)
            # The consecutive rule never reached its second day.
            assert world.spell(child).days == 1
            break
    # A call closes the step; the flag stays while the window holds five.
    clock.freeze(clock.now() + timedelta(hours=6))
    service_spell = world.spell(child, "scattered")
    spells.do_record_contact(world.session, world.act(world.teacher), service_spell.id, mode="phone", met="母亲",
                             found="孩子隔天去镇上帮工。", settings=world.settings)
    assert "attendance:scattered" not in world.shown(child)
    assert world.spell(child, "scattered") is not None


def test_leave_in_advance_covers_its_days_and_never_escalates(db_session: Any, demo: Any,
                                                              townships: dict[str, int]) -> None:
    world = world_of(db_session, demo, townships, "DEMO-BD")
    child = world.child()
    clock.freeze(at(D(2026, 9, 16), 17))  # the evening before, the parent brings the note
    service.do_grant_leave(world.session, world.act(world.teacher), child, kind="sick", starts_on="2026-09-17",
                           ends_on="2026-09-21", reason="发烧，医院假条")
    world.report(D(2026, 9, 17), {})  # not marked: the leave says where the child is
    world.report(D(2026, 9, 18), {child: "unexcused"})  # a card reader's "absent": the leave explains it
    world.report(D(2026, 9, 20), {child: "late"})  # came in late on the make-up Sunday: present
    world.as_township()
    kinds = dict(world.session.execute(select(Absence.day, Absence.kind).where(
        Absence.student_id == child, Absence.day < D(2026, 10, 1))).all())
    assert kinds == {D(2026, 9, 17): "sick", D(2026, 9, 18): "sick", D(2026, 9, 20): "late"}
    world.morning_job(D(2026, 9, 21))
    assert world.spell(child) is None and world.shown(child) == {}


def test_a_long_sick_leave_asks_the_class_teacher_to_check(db_session: Any, demo: Any,
                                                           townships: dict[str, int]) -> None:
    world = world_of(db_session, demo, townships, "DEMO-BD")
    world.session.execute(update(Township).where(Township.id == world.township_id).values(sick_check_days=3))
    child = world.child()
    for n, day in enumerate((D(2026, 9, 17), D(2026, 9, 18), D(2026, 9, 20)), 1):
        world.report(day, {child: "sick"})
        assert (world.spell(child, "sick") is not None) == (n == 3)
    assert world.shown(child)["attendance:sick"].owner_role == "class_teacher"
    assert world.spell(child) is None  # sick days never start the unexcused procedure
    spells.do_check_sick(world.session, world.act(world.teacher), world.spell(child, "sick").id,
                         note="已见县医院诊断证明（肺炎住院）。")
    assert world.shown(child) == {}


def test_a_returner_escalates_on_the_first_day_away(db_session: Any, demo: Any, townships: dict[str, int]) -> None:
    world = world_of(db_session, demo, townships, "DEMO-BD")
    world.as_township()
    watched = world.session.scalar(select(Case).where(Case.closing == "returned", Case.watch_until.is_not(None))
                                   .order_by(Case.id))
    assert watched is not None, "the demo has a returned child under watch"
    child = world.session.get(Student, watched.student_id)
    # A school day of the watch: the school's office reports the child's class with the child away.
    world.class_id = child.class_id
    world.teacher = world.actor("bd_mid_academic" if child.school_id == world.schools["mid"] else "bd_cps_academic")
    day = watched.return_date + timedelta(days=7)
    while not Calendar.load(world.session).is_school_day(child.school_id, day):
        day += timedelta(days=1)
    world.session.execute(update(Case).where(Case.id == watched.id).values(watch_until=day + timedelta(days=30)))
    world.report(day, {child.id: "unexcused"})
    relapse = world.case(child.id)
    assert relapse is not None and relapse.previous_case_id == watched.id and relapse.opened_via == "attendance"
    assert world.spell(child.id).returner is True


def test_an_overdue_step_is_seen_by_the_owners_superior(db_session: Any, demo: Any, townships: dict[str, int]) -> None:
    from baoxue.tenants.worklist.service import items_for, overdue_below

    world = world_of(db_session, demo, townships, "DEMO-BD")
    child = world.child()
    world.report(D(2026, 9, 17), {child: "unexcused"})  # the call home is due today
    principal = world.actor("bd_mid_principal")
    assert not [o for o in overdue_below(world.session, world.act(principal)) if o.item.href.endswith(
        f"/{world.spell(child).id}")]
    world.report(D(2026, 9, 18), {child: "unexcused"})  # no call logged: overdue the next school day
    spell_href = f"/attendance/spells/{world.spell(child).id}"
    below = [o for o in overdue_below(world.session, world.act(principal)) if o.item.href == spell_href]
    assert [o.item.kind for o in below] == ["attendance:contact"]
    assert below[0].owner.endswith("（班主任）")
    assert spell_href in {i.href for i in items_for(world.session, world.act(world.teacher)).overdue}
    assert overdue_below(world.session, world.act(world.teacher)) == []  # a class teacher supervises no one


def test_a_call_recorded_anywhere_closes_the_call_home_at_once(db_session: Any, demo: Any,
                                                               townships: dict[str, int]) -> None:
    from baoxue.tenants.cases.service import do_record_visit

    world = world_of(db_session, demo, townships, "DEMO-BD")
    child = world.child()
    world.report(FIRST, {child: "unexcused"})
    assert set(world.shown(child)) == {"attendance:contact"}
    clock.freeze(at(FIRST, 12))
    # Recorded on the student's page (a routine visit of the case file), not on the spell's.
    do_record_visit(world.session, world.act(world.teacher), child, mode="phone", met="父亲",
                    found="父亲说孩子发烧在家，下午送医院。", settings=world.settings)
    assert world.shown(child) == {}


def test_the_first_screen_asks_for_todays_report_until_it_is_sent(db_session: Any, demo: Any,
                                                                  townships: dict[str, int]) -> None:
    from baoxue.tenants.attendance.home import todos

    world = world_of(db_session, demo, townships, "DEMO-BD")
    clock.freeze(at(FIRST, 7, 40))
    mine = [t.text for t in todos(world.session, world.act(world.teacher))]
    assert len(mine) == 1 and mine[0].startswith("提交今天的到校日报告")
    office = world.actor("bd_office")
    assert todos(world.session, world.act(office))[0].text.startswith("今天已有 0 / ")
    world.report(FIRST, {world.child(): "unexcused"})
    assert todos(world.session, world.act(world.teacher)) == []
    assert "旷课 1 人" in todos(world.session, world.act(office))[0].text
    clock.freeze(at(D(2026, 9, 26), 9))  # the Mid-Autumn holiday: nothing to report
    assert todos(world.session, world.act(world.teacher)) == []
