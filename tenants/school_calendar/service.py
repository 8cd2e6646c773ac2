"""School days: the one place that counts them, and the township's calendar actions.

`Calendar` answers "is D a school day at this school", "the Nth school day of a run that began
on D", "the Nth school day after D" and "the school days between D1 and D2". Every deadline of
the absence procedure (attendance, escalation, the case file) is counted here and nowhere else.
Load it once (`Calendar.load`: three queries) and ask it as often as needed.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import clock
from baoxue.platform.db import township_id_of
from baoxue.platform.errors import Conflict, Forbidden, InvalidInput
from baoxue.platform.scoping import scope_of
from baoxue.platform.text import field_date, field_text, normalise
from baoxue.tenants.school_calendar.events import Event
from baoxue.tenants.school_calendar.models import CalendarDay, SchoolTerm
from baoxue.tenants.school_calendar.policy import access_calendar_day, access_term, may_keep_day

MAX_RUN_DAYS = 31  # days one entry may cover at once (国庆节: 7)
SEARCH_LIMIT = 800  # days: further than any deadline of the procedure (a year and a winter)
NAME_LENGTH = 40
# What a day is, as the calendar page marks it (`Calendar.kind_of`).
KIND_LABELS = {"school": "上课", "weekend": "周末", "holiday": "放假", "makeup": "调休上课", "closed": "停课",
               "break": "寒暑假"}


@dataclass
class Calendar:
    terms: list[tuple[date, date]] = field(default_factory=list)  # sorted by start
    township: dict[date, bool] = field(default_factory=dict)
    schools: dict[int, dict[date, bool]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, school_ids: Iterable[int] | None = None) -> Calendar:
        """The township's calendar, with the exceptions of `school_ids` (all schools if None)."""
        # Plain tuples: bisect compares them with (day, date.max).
        terms = sorted((start, end) for start, end in session.execute(select(SchoolTerm.starts_on,
                                                                             SchoolTerm.ends_on)))
        days = select(CalendarDay.school_id, CalendarDay.day, CalendarDay.school_day)
        if school_ids is not None:
            wanted = sorted(set(school_ids))
            days = days.where((CalendarDay.school_id.is_(None)) | CalendarDay.school_id.in_(wanted))
        calendar = cls(terms=list(terms))
        for school_id, day, school_day in session.execute(days):
            if school_id is None:
                calendar.township[day] = school_day
            else:
                calendar.schools.setdefault(school_id, {})[day] = school_day
        return calendar

    def _in_term(self, day: date) -> bool:
        if not self.terms:
            return True  # no calendar entered: weekdays count
        first, last = self.terms[0][0], max(end for _start, end in self.terms)
        if day < first:
            # Not entered yet, except the summer holiday before an entered autumn term.
            return not (first.month in (8, 9) and day >= date(first.year, 7, 1))
        if day > last:
            # Not entered yet, except the summer holiday after an entered spring term.
            return not (last.month in (6, 7, 8) and day < date(last.year, 9, 1))
        index = bisect.bisect_right(self.terms, (day, date.max)) - 1
        return index >= 0 and self.terms[index][0] <= day <= self.terms[index][1]

    def is_school_day(self, school_id: int | None, day: date) -> bool:
        own = self.schools.get(school_id, {}) if school_id is not None else {}
        if day in own:
            return own[day] and self._in_term(day)
        if day in self.township:
            return self.township[day] and self._in_term(day)
        return day.weekday() < 5 and self._in_term(day)

    def after(self, school_id: int | None, day: date, n: int) -> date:
        """The Nth school day after `day` (n ≥ 1); before it for n ≤ -1; `day` itself for 0."""
        step = timedelta(days=1 if n > 0 else -1)
        left, current = abs(n), day
        for _ in range(SEARCH_LIMIT):
            if left == 0:
                return current
            current += step
            if self.is_school_day(school_id, current):
                left -= 1
        return current  # a calendar with no school days for two years: the search's end

    def day_n(self, school_id: int | None, first: date, n: int) -> date:
        """Day N of a run that began on `first` (day 1 is `first` itself, or the next school day)."""
        start = first if self.is_school_day(school_id, first) else self.after(school_id, first, 1)
        return self.after(school_id, start, max(n, 1) - 1)

    def between(self, school_id: int | None, start: date, end: date) -> list[date]:
        """The school days from `start` to `end`, both included, in order."""
        # Counted, not stepped past `end`: a range ending on date.max must not overflow.
        days = (start + timedelta(days=i) for i in range(max((end - start).days + 1, 0)))
        return [day for day in days if self.is_school_day(school_id, day)]

    def count(self, school_id: int | None, start: date, end: date) -> int:
        return len(self.between(school_id, start, end))

    def kind_of(self, school_id: int | None, day: date) -> str:
        """What the day is at this school (a key of `KIND_LABELS`); a school day is "school" or "makeup"."""
        if not self._in_term(day):
            return "break"
        own = self.schools.get(school_id, {}) if school_id is not None else {}
        if day in own:
            return "makeup" if own[day] else "closed"
        if day in self.township:
            return "makeup" if self.township[day] else "holiday"
        return "school" if day.weekday() < 5 else "weekend"


# --- the township's calendar ------------------------------------------------------------------

def terms(session: Session) -> list[SchoolTerm]:
    return list(session.scalars(select(SchoolTerm).order_by(SchoolTerm.starts_on)))


def exceptions(session: Session, start: date, end: date) -> list[CalendarDay]:
    return list(session.scalars(select(CalendarDay).where(CalendarDay.day >= start, CalendarDay.day <= end)
                                .order_by(CalendarDay.day, CalendarDay.school_id.is_not(None), CalendarDay.id)))


def _day(value: Any, label: str, key: str, errors: dict[str, str]) -> date | None:
    return field_date(value, errors, key, label=label, required=True)


def _name(value: Any, label: str, errors: dict[str, str], key: str = "name") -> str:
    if not normalise(value):
        errors[key] = f"请填写{label}。"
        return ""
    return field_text(value, errors, key, label=label, max_length=NAME_LENGTH)


def do_add_term(session: Session, actor: Any, *, name: str, starts_on: Any, ends_on: Any) -> SchoolTerm:
    scope = scope_of(session)
    if scope is None or not scope.whole_township:
        raise Forbidden(detail="学期由乡（镇）统一设置；学校只能添加本校的停课或补课安排。")
    errors: dict[str, str] = {}
    title = _name(name, "学期名称", errors)
    start = _day(starts_on, "开学日期", "starts_on", errors)
    end = _day(ends_on, "学期结束日期", "ends_on", errors)
    if start and end and end < start:
        errors["ends_on"] = "学期结束日期不能早于开学日期。"
    if start and end and not errors:
        for other in terms(session):
            if other.starts_on <= end and start <= other.ends_on:
                errors["starts_on"] = f"与“{other.name}”（{other.starts_on}至{other.ends_on}）重叠。"
                break
    if errors:
        raise InvalidInput(errors)
    term = SchoolTerm(township_id=township_id_of(session), name=title, starts_on=start, ends_on=end)
    try:
        with session.begin_nested():
            session.add(term)
            session.flush()
    except IntegrityError:  # the same start, added at the same moment by someone else
        raise Conflict(detail=f"已有从 {start} 开始的学期。") from None
    audit.record(session, Event.TERM_ADDED, entity=term, changes={"name": title, "starts_on": start, "ends_on": end})
    return term


def do_remove_term(session: Session, actor: Any, term_id: int) -> None:
    term = access_term(session, term_id, for_write=True)
    audit.record(session, Event.TERM_REMOVED, entity=term, changes={"name": term.name, "starts_on": term.starts_on,
                                                                    "ends_on": term.ends_on})
    session.delete(term)
    session.flush()


def do_add_day(session: Session, actor: Any, *, day: Any, school_day: Any, name: str,
               school_id: int | None = None) -> CalendarDay:
    """A holiday, a make-up working day (调休) or a closed day, for the township or one school."""
    from baoxue.tenants.tenancy.policy import access_school

    errors: dict[str, str] = {}
    when = _day(day, "日期", "day", errors)
    title = _name(name, "名称（如：国庆节、国庆调休、暴雨停课）", errors)
    flag = normalise(str(school_day)).lower()
    if flag not in ("true", "false", "1", "0", "on", "off"):
        errors["school_day"] = "请选择：放假停课，或调休上课。"
    if errors:
        raise InvalidInput(errors)
    if school_id is not None:
        access_school(session, school_id)
    if not may_keep_day(scope_of(session), school_id):
        raise Forbidden(detail="全乡（镇）的放假和调休由乡（镇）统一安排；学校只能添加本校的停课或补课安排。"
                        if school_id is None else "只能添加本校的校历安排。")
    row = CalendarDay(township_id=township_id_of(session), school_id=school_id, day=when,
                      school_day=flag in ("true", "1", "on"), name=title, created_by=actor.user_id,
                      created_at=clock.now())
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(detail=f"{when} 已有校历安排，请先删除原安排。") from None
    audit.record(session, Event.DAY_ADDED, entity=row, changes={
        "day": when, "school_id": school_id, "school_day": row.school_day, "name": title})
    return row


def do_add_days(session: Session, actor: Any, *, day: Any, until: Any, school_day: Any, name: str,
                school_id: int | None = None) -> list[CalendarDay]:
    """`do_add_day` for each day from `day` to `until` (a holiday of several days: 国庆节 1—7日),
    all or none: a day already taken undoes the days before it too. Blank `until`: one day."""
    errors: dict[str, str] = {}
    first = field_date(day, errors, "day", label="日期")
    last = field_date(until, errors, "until", label="截止日期")
    days: list[Any] = [day]
    if first is not None and last is not None:
        if not 0 <= (last - first).days < MAX_RUN_DAYS:
            errors["until"] = f"截止日期应在开始日期当天或之后，且连续不超过 {MAX_RUN_DAYS} 天。"
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    if "until" in errors:
        raise InvalidInput({"until": errors["until"]})  # a bad first day: do_add_day names it
    try:
        with session.begin_nested():
            return [do_add_day(session, actor, day=d, school_day=school_day, name=name, school_id=school_id)
                    for d in days]
    except Conflict as taken:
        raise InvalidInput({"day": str(taken.detail)}) from None


def do_remove_day(session: Session, actor: Any, day_id: int) -> None:
    row = access_calendar_day(session, day_id, for_write=True)
    audit.record(session, Event.DAY_REMOVED, entity=row, changes={
        "day": row.day, "school_id": row.school_id, "school_day": row.school_day, "name": row.name})
    session.delete(row)
    session.flush()
