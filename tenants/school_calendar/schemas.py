"""What the school calendar API reads and answers, and the Chinese names of its fields.

A day that breaks the weekly rule is `school_day` true (调休上课: a Sunday worked before a
holiday, a school's make-up day) or false (放假, or a school's own 停课); a day with no
`school_id` is the whole township's. The school days themselves are never stored: they are
counted (`service.Calendar`), and `/api/calendar/school-days` answers them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from sqlalchemy import select

from baoxue.platform.labels import Entity, Field, names_from, numeric_ids
from baoxue.platform.request_checks import Id, text_up_to
from baoxue.tenants.school_calendar.models import CalendarDay, SchoolTerm
from baoxue.tenants.school_calendar.service import NAME_LENGTH

SCHOOL_DAY_VALUES = {True: "上课（调休上课、补课）", False: "不上课（放假、停课）"}

FIELDS: dict[str, Field | str] = {
    "term_id": Field("学期", entity="school_terms"),
    "day_id": Field("校历安排", entity="calendar_days"),
    "day_ids": Field("校历安排", entity="calendar_days"),
    # Generic codes other concepts use too (a leave's dates, a report's day): generic names.
    "starts_on": "开始日期",
    "ends_on": "结束日期",
    "day": "日期",
    "school_terms.name": "学期名称",
    "school_terms.starts_on": "开学日期",
    "school_terms.ends_on": "学期结束日期",
    "calendar_days.name": "名称",
    "calendar_days.school_id": Field("适用学校", entity="schools"),
    "school_day": Field("是否上课", values=SCHOOL_DAY_VALUES),
    "until": "截止日期（连续多天）",
    "start": "开始日期",
    "end": "结束日期",
    "year": "学年（开始的年份）",
}


def _day_names(session: Any, ids: Any) -> dict[str, str]:
    """A calendar day by its date and name: 2026-10-01 国庆节 (everyone reads the calendar)."""
    wanted = numeric_ids(ids)
    rows = session.execute(select(CalendarDay.id, CalendarDay.day, CalendarDay.name)
                           .where(CalendarDay.id.in_(wanted))) if wanted else []
    return {str(i): f"{day.isoformat()} {name}" for i, day, name in rows}


ENTITIES = {
    "school_terms": Entity("学期", names_from(SchoolTerm, SchoolTerm.name)),
    "calendar_days": Entity("校历安排", _day_names),
}

Name = text_up_to(NAME_LENGTH)


class DayIn(msgspec.Struct):
    """A day that is not what its weekday says. `school_day`: true 调休上课 (or a school's make-up
    day), false 放假 (or a school's 停课). Without `school_id` it is the whole township's (the
    township's office); a school's principal or academic office adds only their own school's
    days, and for them `school_id` defaults to their school."""

    day: date
    school_day: bool
    name: Name  # 国庆节, 国庆调休, 暴雨停课
    school_id: Id | None = None


class DayOut(msgspec.Struct):
    id: int
    day: date
    school_day: bool
    name: str
    school_id: int | None  # None: the whole township's
    label: str  # 放假, 调休上课, 停课, 上课（补课）

    @classmethod
    def of(cls, row: CalendarDay) -> DayOut:
        return cls(id=row.id, day=row.day, school_day=row.school_day, name=row.name, school_id=row.school_id,
                   label=day_label(row.school_day, row.school_id))


def day_label(school_day: bool, school_id: int | None) -> str:
    if school_id is None:
        return "调休上课" if school_day else "放假"
    return "上课（补课）" if school_day else "停课"


class TermOut(msgspec.Struct):
    id: int
    name: str
    starts_on: date
    ends_on: date
    school_days: int  # by the township's calendar (a school's own closed days not counted)

    @classmethod
    def of(cls, term: SchoolTerm, school_days: int) -> TermOut:
        return cls(id=term.id, name=term.name, starts_on=term.starts_on, ends_on=term.ends_on,
                   school_days=school_days)


class SchoolDaysOut(msgspec.Struct):
    school_id: int | None  # None: the township's calendar, without any school's own days
    start: date
    end: date
    count: int
    days: list[date]
