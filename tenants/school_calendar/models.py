"""Terms and the days that break the weekly rule.

A school day is a day inside a term that is a weekday, unless a `CalendarDay` says otherwise:
the township's holidays (放假) and make-up working days (调休: a Sunday that is a school day),
and a school's own exceptions (closed for weather, the building used for exams elsewhere),
which win over the township's on that school. Between entered terms no day is a school day
(the winter holiday), nor in the summer next to an entered autumn or spring term; before and
after the entered terms the calendar is not entered yet and weekdays count, so a deadline is
never lost for want of next year's dates.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, TownshipOwned, township_fk


class SchoolTerm(TownshipOwned, Base):
    __tablename__ = "school_terms"
    __table_args__ = (UniqueConstraint("township_id", "starts_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))  # 2026—2027学年第一学期
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)


class CalendarDay(TownshipOwned, Base):
    """One day that is not what its weekday says, for the township (`school_id` None) or a school."""

    __tablename__ = "calendar_days"
    __table_args__ = (
        township_fk("school_id", "schools"),
        Index("uq_calendar_days_township", "township_id", "day", unique=True,
              postgresql_where=text("school_id IS NULL"), sqlite_where=text("school_id IS NULL")),
        Index("uq_calendar_days_school", "township_id", "school_id", "day", unique=True,
              postgresql_where=text("school_id IS NOT NULL"), sqlite_where=text("school_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(default=None)
    day: Mapped[date] = mapped_column(Date)
    school_day: Mapped[bool] = mapped_column(Boolean)  # True: 调休上课; False: 放假 / 停课
    name: Mapped[str] = mapped_column(String(40))  # 国庆节 / 国庆调休 / 暴雨停课
    created_by: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
