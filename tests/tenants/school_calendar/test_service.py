"""The school calendar: `Calendar` counting school days (on plain values, then loaded from the
database), and the township's actions on a real database, each test in one `db_session` rolled
back at teardown, acting as the demo logins as a request would."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from litestar.exceptions import HTTPException
from sqlalchemy import delete, select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.errors import Conflict, Forbidden
from baoxue.tenants.school_calendar import service
from baoxue.tenants.school_calendar.demo import REAL_2026, approximate, year_plan
from baoxue.tenants.school_calendar.models import CalendarDay, SchoolTerm
from baoxue.tenants.school_calendar.service import KIND_LABELS, Calendar
from tests.tenants.world import TownshipWorld, refused

AUTUMN = (date(2026, 9, 1), date(2027, 1, 22))
SPRING = (date(2027, 2, 22), date(2027, 7, 9))
NEXT_AUTUMN = (date(2027, 9, 1), date(2028, 1, 21))
SCHOOL, OTHER_SCHOOL = 11, 12


def calendar_2026() -> Calendar:
    """The real autumn of 2026 and the school year after it, and one school's storm day."""
    township = {day: on for day, on, _name in REAL_2026.days}
    return Calendar(terms=[AUTUMN, SPRING, NEXT_AUTUMN], township=township,
                    schools={SCHOOL: {date(2026, 9, 16): False, date(2026, 10, 1): True}})


# --- counting, on plain values ------------------------------------------------------------------

def test_a_weekday_in_a_term_is_a_school_day_and_a_weekend_is_not() -> None:
    c = calendar_2026()
    assert c.is_school_day(None, date(2026, 9, 1))  # Tuesday, the first day
    assert c.is_school_day(SCHOOL, date(2026, 11, 27))  # a Friday
    assert not c.is_school_day(None, date(2026, 11, 28))  # Saturday
    assert not c.is_school_day(SCHOOL, date(2026, 11, 29))  # Sunday
    assert c.kind_of(None, date(2026, 11, 28)) == "weekend" and KIND_LABELS[c.kind_of(None, date(2026, 11, 27))] == "上课"


def test_holidays_are_not_school_days_and_a_make_up_sunday_is() -> None:
    c = calendar_2026()
    for day in (date(2026, 9, 25), date(2026, 10, 1), date(2026, 10, 7)):  # 中秋节 Friday; 国庆节 weekdays
        assert not c.is_school_day(None, day) and c.kind_of(None, day) == "holiday"
    assert date(2026, 9, 20).weekday() == 6 and c.is_school_day(None, date(2026, 9, 20))  # 国庆调休, a Sunday
    assert date(2026, 10, 10).weekday() == 5 and c.is_school_day(OTHER_SCHOOL, date(2026, 10, 10))
    assert c.kind_of(None, date(2026, 9, 20)) == "makeup" and KIND_LABELS[c.kind_of(None, date(2026, 9, 20))] == "调休上课"
    # The National Day week: Thursday 1 to Wednesday 7 October off, the Saturday after worked.
    assert c.between(None, date(2026, 9, 28), date(2026, 10, 11)) == [
        date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 9),
        date(2026, 10, 10)]


def test_a_schools_own_day_wins_over_the_townships_at_that_school_only() -> None:
    c = calendar_2026()
    storm = date(2026, 9, 16)  # a Wednesday: 暴雨停课 at SCHOOL
    assert not c.is_school_day(SCHOOL, storm) and c.kind_of(SCHOOL, storm) == "closed"
    assert c.is_school_day(OTHER_SCHOOL, storm) and c.is_school_day(None, storm)
    national_day = date(2026, 10, 1)  # the township's holiday; SCHOOL makes it up
    assert c.is_school_day(SCHOOL, national_day) and not c.is_school_day(OTHER_SCHOOL, national_day)
    assert c.count(SCHOOL, date(2026, 9, 14), date(2026, 9, 18)) == 4
    assert c.count(OTHER_SCHOOL, date(2026, 9, 14), date(2026, 9, 18)) == 5


def test_outside_the_terms_no_day_is_a_school_day() -> None:
    c = calendar_2026()
    winter = (date(2027, 1, 25), date(2027, 2, 19))  # weekdays between the autumn and spring terms
    summer = (date(2027, 7, 12), date(2027, 8, 31))  # between this year and the next one entered
    for first, last in (winter, summer):
        assert c.between(SCHOOL, first, last) == []
        assert c.kind_of(None, first) == "break"
    assert c.between(None, date(2027, 7, 5), date(2027, 7, 16)) == [date(2027, 7, d) for d in (5, 6, 7, 8, 9)]
    # A make-up day recorded outside every term is no school day either.
    c.township[date(2027, 8, 1)] = True
    assert not c.is_school_day(None, date(2027, 8, 1))


def test_before_and_after_the_known_terms_weekdays_count() -> None:
    c = Calendar(terms=[AUTUMN], township={date(2026, 6, 19): False})  # only this autumn is entered
    before = c.between(None, date(2026, 6, 15), date(2026, 6, 21))  # June 2026: not entered yet
    assert before == [date(2026, 6, 15), date(2026, 6, 16), date(2026, 6, 17), date(2026, 6, 18)]  # 端午 off
    after = c.between(None, date(2027, 3, 1), date(2027, 3, 7))  # the spring is not entered yet
    assert after == [date(2027, 3, d) for d in range(1, 6)]
    assert Calendar().count(None, date(2026, 11, 23), date(2026, 11, 29)) == 5  # nothing entered at all


def test_after_counts_forwards_and_backwards_in_school_days() -> None:
    c = calendar_2026()
    assert c.after(None, date(2026, 9, 30), 1) == date(2026, 10, 8)  # over the National Day week
    assert c.after(None, date(2026, 9, 30), 3) == date(2026, 10, 10)  # the make-up Saturday counts
    assert c.after(None, date(2026, 10, 8), -1) == date(2026, 9, 30)
    assert c.after(None, date(2026, 9, 21), -1) == date(2026, 9, 20)  # back onto the make-up Sunday
    assert c.after(None, date(2026, 11, 27), 0) == date(2026, 11, 27)
    assert c.after(None, date(2027, 1, 22), 1) == date(2027, 2, 22)  # over the winter holiday
    assert c.after(SCHOOL, date(2026, 9, 15), 1) == date(2026, 9, 17)  # over the school's storm day


def test_day_n_starts_on_the_next_school_day_when_the_first_is_not_one() -> None:
    c = calendar_2026()
    assert c.day_n(None, date(2026, 11, 23), 1) == date(2026, 11, 23)  # a Monday: day 1 is itself
    assert c.day_n(None, date(2026, 11, 23), 3) == date(2026, 11, 25)
    assert c.day_n(None, date(2026, 11, 28), 1) == date(2026, 11, 30)  # a Saturday: day 1 is Monday
    assert c.day_n(None, date(2026, 10, 1), 1) == date(2026, 10, 8)  # a holiday
    assert c.day_n(None, date(2026, 10, 1), 5) == date(2026, 10, 13)  # 8, 9, 10 (Saturday), 12, 13
    assert c.day_n(SCHOOL, date(2026, 9, 16), 1) == date(2026, 9, 17)


def test_between_includes_both_ends_and_never_runs_past_the_last_date() -> None:
    c = calendar_2026()
    assert c.between(None, date(2026, 11, 23), date(2026, 11, 23)) == [date(2026, 11, 23)]
    assert c.between(None, date(2026, 11, 24), date(2026, 11, 23)) == []
    week = c.between(None, date(2026, 11, 23), date(2026, 11, 29))
    assert week == [date(2026, 11, 23) + timedelta(days=i) for i in range(5)]
    assert c.between(None, date.max - timedelta(days=3), date.max) != []  # no overflow on the last date


# --- the demo's year --------------------------------------------------------------------------

def test_the_demo_year_is_real_for_2026_and_approximated_for_other_years() -> None:
    assert year_plan(2026) is REAL_2026
    assert [t[1:] for t in REAL_2026.terms] == [AUTUMN, SPRING]
    for year in (2025, 2027, 2031):
        plan = approximate(year)
        (_n1, autumn_start, autumn_end), (_n2, spring_start, spring_end) = plan.terms
        assert date(year, 9, 1) <= autumn_start < autumn_end < spring_start < spring_end < date(year + 1, 7, 15)
        assert autumn_start.weekday() < 5 and spring_start.weekday() == 0 and spring_end.weekday() == 4
        assert (date(year, 10, 1), False, "国庆节") in plan.days and autumn_start < plan.closed < autumn_end
        assert plan.closed.weekday() < 5


# --- the actions, on a real database ----------------------------------------------------------

class World(TownshipWorld):
    def events(self) -> list[str]:
        self.as_township()
        return list(self.session.scalars(select(AuditEvent.event).where(
            AuditEvent.event.like("school_calendar:%")).order_by(AuditEvent.id.desc()).limit(1)))

    def add_term(self, **values: Any) -> SchoolTerm:
        return service.do_add_term(self.session, self.act(self.actor("bd_office")), **values)

    def add_day(self, who: str, **values: Any) -> CalendarDay:
        return service.do_add_day(self.session, self.act(self.actor(who)), **values)


@pytest.fixture
def world(db_session: Any, demo: Any, townships: dict[str, int]) -> World:
    bd = townships["DEMO-BD"]
    return World(db_session(bd), demo, bd)


def test_the_demo_township_has_its_year_and_a_schools_storm_day(world: World) -> None:
    world.as_township()
    calendar = Calendar.load(world.session)
    assert calendar.terms and all(start.month in (8, 9, 2, 3) for start, _end in calendar.terms)
    storm = world.session.scalars(select(CalendarDay).where(CalendarDay.name == "暴雨停课")).one()
    assert storm.school_id == world.schools["mid"] and not storm.school_day
    assert not calendar.is_school_day(world.schools["mid"], storm.day)
    assert calendar.is_school_day(world.schools["cps"], storm.day)


def test_an_overlapping_term_is_refused_naming_the_field(world: World) -> None:
    world.as_township()
    world.session.execute(delete(SchoolTerm))
    world.add_term(name="2030—2031学年第一学期", starts_on="2030-09-02", ends_on="2031-01-17")
    errors = refused(lambda: world.add_term(name="重叠的学期", starts_on="2031-01-10", ends_on="2031-06-30"))
    assert set(errors) == {"starts_on"} and "2030—2031学年第一学期" in errors["starts_on"]
    errors = refused(lambda: world.add_term(name="", starts_on="2031-9-1", ends_on="2031-08-01"))
    assert set(errors) == {"name", "starts_on"} and "开学日期的格式" in errors["starts_on"]
    errors = refused(lambda: world.add_term(name="倒过来的学期", starts_on="2032-09-01", ends_on="2032-08-01"))
    assert set(errors) == {"ends_on"}
    errors = refused(lambda: world.add_term(name="名" * 41, starts_on="2032-09-01", ends_on="2033-01-15"))
    assert "40" in errors["name"]
    errors = refused(lambda: world.add_term(name="学期\u202e", starts_on="2032-09-01", ends_on="2033-01-15"))
    assert "控制字符" in errors["name"]


def test_adding_and_removing_write_their_audit_rows(world: World) -> None:
    term = world.add_term(name="2040—2041学年第一学期", starts_on="2040-09-03", ends_on="2041-01-18")
    assert world.events() == ["school_calendar:term:added"]
    day = world.add_day("bd_office", day="2040-10-01", school_day="false", name="国庆节")
    assert world.events() == ["school_calendar:day:added"] and day.school_id is None
    assert Calendar.load(world.session).kind_of(None, date(2040, 10, 1)) == "holiday"
    service.do_remove_day(world.session, world.act(world.actor("bd_office")), day.id)
    assert world.events() == ["school_calendar:day:removed"]
    service.do_remove_term(world.session, world.act(world.actor("bd_office")), term.id)
    assert world.events() == ["school_calendar:term:removed"]
    world.as_township()
    changes = world.session.scalars(select(AuditEvent.changes).where(
        AuditEvent.event == "school_calendar:term:removed").order_by(AuditEvent.id.desc()).limit(1)).one()
    assert changes["name"] == "2040—2041学年第一学期" and changes["starts_on"] == "2040-09-03"


def test_the_same_day_twice_is_a_409_but_a_school_may_add_its_own_on_a_township_day(world: World) -> None:
    world.add_day("bd_office", day="2040-10-02", school_day=False, name="国庆节")
    with pytest.raises(Conflict) as taken:
        world.add_day("bd_office", day="2040-10-02", school_day=True, name="国庆调休")
    assert taken.value.status_code == 409 and "2040-10-02" in str(taken.value.detail)
    own = world.add_day("bd_mid_principal", day="2040-10-02", school_day=True, name="补课",
                        school_id=world.schools["mid"])
    assert own.school_id == world.schools["mid"]
    world.as_township()
    calendar = Calendar.load(world.session, [world.schools["mid"]])
    assert calendar.is_school_day(world.schools["mid"], date(2040, 10, 2))
    assert not calendar.is_school_day(world.schools["cps"], date(2040, 10, 2))
    with pytest.raises(Conflict):  # the school's own day, twice
        world.add_day("bd_mid_academic", day="2040-10-02", school_day=False, name="停课",
                      school_id=world.schools["mid"])


def test_a_school_keeps_only_its_own_days(world: World) -> None:
    mid, cps = world.schools["mid"], world.schools["cps"]
    with pytest.raises(Forbidden):  # the township's day
        world.add_day("bd_mid_principal", day="2040-11-11", school_day=False, name="停课")
    with pytest.raises(Forbidden):  # another school's day
        world.add_day("bd_mid_principal", day="2040-11-11", school_day=False, name="停课", school_id=cps)
    with pytest.raises(Forbidden):  # a term is the township's
        service.do_add_term(world.session, world.act(world.actor("bd_mid_principal")), name="本校学期",
                            starts_on="2040-09-03", ends_on="2041-01-18")
    with pytest.raises(HTTPException) as missing:  # a school of another township: the one 404
        world.add_day("bd_mid_principal", day="2040-11-11", school_day=False, name="停课", school_id=10**12)
    assert missing.value.status_code == 404
    own = world.add_day("bd_mid_principal", day="2040-11-12", school_day=False, name="暴雨停课", school_id=mid)
    # A school cannot remove the township's days, another school's, nor a term: the one 404.
    world.as_township()
    township_day = world.session.scalars(select(CalendarDay).where(CalendarDay.school_id.is_(None))).first()
    other = service.do_add_day(world.session, world.act(world.actor("bd_office")), day="2040-11-12",
                               school_day=False, name="停电停课", school_id=cps)
    term = world.session.scalars(select(SchoolTerm)).first()
    principal = world.act(world.actor("bd_mid_principal"))
    for remove, row_id in ((service.do_remove_day, township_day.id), (service.do_remove_day, other.id),
                           (service.do_remove_term, term.id)):
        with pytest.raises(HTTPException) as missing:
            remove(world.session, principal, row_id)
        assert missing.value.status_code == 404
    service.do_remove_day(world.session, principal, own.id)  # its own, it may
    # A teacher of the school keeps nothing (the permission refuses first on the routes).
    with pytest.raises(Forbidden):
        world.add_day("bd_mid_teacher", day="2040-11-13", school_day=False, name="停课", school_id=mid)


def test_a_day_names_each_bad_field(world: World) -> None:
    errors = refused(lambda: world.add_day("bd_office", day="十月一日", school_day="maybe", name=" "))
    assert set(errors) == {"day", "school_day", "name"}
    assert "日期" in errors["day"] and "名称" in errors["name"]



def test_the_summer_next_to_entered_terms_is_a_holiday_and_the_year_after_is_not_entered() -> None:
    autumn, spring = (date(2026, 9, 1), date(2027, 1, 22)), (date(2027, 2, 22), date(2027, 7, 9))
    c = Calendar(terms=[autumn, spring])
    assert not c.is_school_day(None, date(2027, 7, 12))  # a Monday of the summer holiday
    assert not c.is_school_day(None, date(2026, 8, 31))  # the summer before the entered autumn
    assert not c.is_school_day(None, date(2027, 2, 1))  # the winter holiday between the terms
    assert c.is_school_day(None, date(2027, 9, 6))  # next school year, not entered: weekdays count
    assert c.is_school_day(None, date(2026, 6, 15))  # the school year before, not entered
    # A deadline reaching past the entered year lands on a weekday of it, never lost.
    assert c.after(None, date(2027, 7, 8), 3) == date(2027, 9, 2)
