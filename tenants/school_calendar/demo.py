"""The school calendar of the demo townships: the school year under way, as a county enters it.

Built from `clock.school_year()`, so the demo never goes stale: for 2026 it is the real 2026–27
year of a county (terms and the State Council's holidays), for any other year an approximation
(`approximate`). The township's office enters the terms and the township's days before the year
begins; 板当中学's principal records one day the school closed for a storm in the autumn term,
so every screen shows a school's own day winning over the township's. The service's own actions
make everything (audit rows included), each as its login on the day it is done; the seeding's
clock and scope are restored afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from baoxue.platform.clock import CHINA, clock, school_year
from baoxue.platform.demo import DemoContext, acting
from baoxue.platform.permissions import Role
from baoxue.tenants.school_calendar import service
from baoxue.tenants.tenancy.demo import demo_actors

CLOSED_TOWNSHIP = "DEMO-BD"  # whose middle school closed for a day
CLOSED_SCHOOL = "mid"
CLOSED_NAME = "暴雨停课"
LOGINS = {"office": Role.OFFICE_STAFF, f"{CLOSED_SCHOOL}_principal": Role.PRINCIPAL}


@dataclass(frozen=True)
class YearPlan:
    terms: tuple[tuple[str, date, date], ...]  # (name, first day, last day)
    days: tuple[tuple[date, bool, str], ...]  # the township's: (day, school day?, name)
    closed: date  # a school's own closed day in the autumn term


def _off(first: date, last: date, name: str) -> tuple[tuple[date, bool, str], ...]:
    return tuple((first + timedelta(days=i), False, name) for i in range((last - first).days + 1))


def _terms(year: int, autumn: tuple[date, date], spring: tuple[date, date]) -> tuple[tuple[str, date, date], ...]:
    return ((f"{year}—{year + 1}学年第一学期", *autumn), (f"{year}—{year + 1}学年第二学期", *spring))


# The 2026–27 school year of a county in Guizhou. Autumn 2026: the State Council's notice on the
# 2026 holidays (中秋节 25–27 September; 国庆节 1–7 October, worked on Sunday 20 September and
# Saturday 10 October). Spring 2027: OUR ASSUMPTION until the notice for 2027 is published (late
# 2026): 元旦 1–3 January, 清明节 3–5 April, 劳动节 1–5 May worked on Sunday 25 April, 端午节
# 9–11 June. 春节 (6 February 2027) falls in the winter holiday between the terms.
REAL_2026 = YearPlan(
    terms=_terms(2026, (date(2026, 9, 1), date(2027, 1, 22)), (date(2027, 2, 22), date(2027, 7, 9))),
    days=(
        (date(2026, 9, 20), True, "国庆调休"),
        *_off(date(2026, 9, 25), date(2026, 9, 27), "中秋节"),
        *_off(date(2026, 10, 1), date(2026, 10, 7), "国庆节"),
        (date(2026, 10, 10), True, "国庆调休"),
        *_off(date(2027, 1, 1), date(2027, 1, 3), "元旦"),  # 2027: assumed
        *_off(date(2027, 4, 3), date(2027, 4, 5), "清明节"),  # assumed
        (date(2027, 4, 25), True, "劳动节调休"),  # assumed
        *_off(date(2027, 5, 1), date(2027, 5, 5), "劳动节"),  # assumed
        *_off(date(2027, 6, 9), date(2027, 6, 11), "端午节"),  # assumed
    ),
    closed=date(2026, 9, 16),
)


def approximate(year: int) -> YearPlan:
    """Any other school year, roughly: the autumn term from 1 September (or the Monday after) to
    the Friday before 23 January, the spring term from the Monday after 19 February to the Friday
    before 10 July; 国庆节 1–7 October, 元旦, 清明节 (5 April), 劳动节 1–5 May. Make-up days and the
    lunar festivals (中秋节, 端午节) are left out: they need that year's notice."""
    def monday_from(day: date) -> date:
        return day + timedelta(days=-day.weekday() % 7)

    def friday_until(day: date) -> date:
        return day - timedelta(days=(day.weekday() - 4) % 7)

    first = date(year, 9, 1)
    autumn = (first if first.weekday() < 5 else monday_from(first), friday_until(date(year + 1, 1, 22)))
    spring = (monday_from(date(year + 1, 2, 20)), friday_until(date(year + 1, 7, 9)))
    days = (*_off(date(year, 10, 1), date(year, 10, 7), "国庆节"), (date(year + 1, 1, 1), False, "元旦"),
            (date(year + 1, 4, 5), False, "清明节"), *_off(date(year + 1, 5, 1), date(year + 1, 5, 5), "劳动节"))
    return YearPlan(terms=_terms(year, autumn, spring), days=days,
                    closed=monday_from(date(year, 9, 14)) + timedelta(days=2))  # a Wednesday in mid-September


def year_plan(year: int) -> YearPlan:
    return REAL_2026 if year == 2026 else approximate(year)


def seed(demo: DemoContext) -> None:
    plan = year_plan(school_year())
    with clock.kept() as start:
        for seeded in demo.state["tenancy"].values():
            _seed_township(demo.session, seeded, plan, start)


def _at(day: date, hour: int, start: datetime) -> datetime:
    return min(datetime.combine(day, time(hour), tzinfo=CHINA), start)  # never after the seeding


def _seed_township(session: Session, seeded: Any, plan: YearPlan, start: datetime) -> None:
    actors = demo_actors(session, seeded, LOGINS)
    # The office enters the year before it begins.
    with acting(session, actors["office"], _at(plan.terms[0][1] - timedelta(days=10), 10, start)) as actor:
        for name, first, last in plan.terms:
            service.do_add_term(session, actor, name=name, starts_on=first, ends_on=last)
        for day, school_day, name in plan.days:
            service.do_add_day(session, actor, day=day, school_day=school_day, name=name)
    if seeded.plan.code == CLOSED_TOWNSHIP:
        # At dawn, on the county's rainstorm warning (the children cross swollen streams to school).
        with acting(session, actors[f"{CLOSED_SCHOOL}_principal"], _at(plan.closed, 6, start)) as actor:
            service.do_add_day(session, actor, day=plan.closed, school_day=False, name=CLOSED_NAME,
                               school_id=seeded.schools[CLOSED_SCHOOL].id)

