"""The daily arrival report, leave granted in advance, and the absence spells that escalate.

Only what is not "present" is stored: an `AttendanceReport` says a class was reported on a
day, and an `Absence` row names each child away (病假 / 事假 / 旷课) or late. A child of a reported
class with no row that day was there. (A county of 100,000 children reports 2 million
child-days a month; about one in thirty is an absence.) A `Leave` granted in advance (a sick
note for three days) becomes the absence rows of its school days when each day is reported.

An `AbsenceSpell` is the escalation's record of one child: a run of consecutive unexcused
school days (`run`), scattered unexcused days (`scattered`) or a long sick leave (`sick`). Its
steps are worklist items until the run reaches the township's case threshold; then the case
file (`case_id`) carries them. It ends when the child is back, or a correction removes the
absences, and says which.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, TownshipOwned, township_fk

OPEN_SPELL_SQL = "ended_at IS NULL"


class AttendanceReport(TownshipOwned, Base):
    __tablename__ = "attendance_reports"
    __table_args__ = (
        township_fk("school_id", "schools"),
        township_fk("class_id", "school_classes"),
        UniqueConstraint("township_id", "class_id", "day"),
        Index("ix_attendance_reports_day", "township_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(index=True)
    class_id: Mapped[int] = mapped_column()
    day: Mapped[date] = mapped_column(Date)
    enrolled: Mapped[int] = mapped_column(SmallInteger, default=0)  # on the class list that day
    absent: Mapped[int] = mapped_column(SmallInteger, default=0)  # away (any reason), the late not counted
    unexcused: Mapped[int] = mapped_column(SmallInteger, default=0)
    late: Mapped[int] = mapped_column(SmallInteger, default=0)
    source: Mapped[str] = mapped_column(String(20), default="page")  # page | api
    reported_by: Mapped[int] = mapped_column()  # users.id
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    revised_at: Mapped[datetime | None] = mapped_column(default=None)  # the last correction
    revisions: Mapped[int] = mapped_column(SmallInteger, default=0)


class Absence(TownshipOwned, Base):
    __tablename__ = "absences"
    __table_args__ = (
        township_fk("student_id", "students"),
        township_fk("school_id", "schools"),
        township_fk("class_id", "school_classes"),
        township_fk("leave_id", "leaves"),
        UniqueConstraint("township_id", "student_id", "day"),
        Index("ix_absences_day", "township_id", "day"),
        Index("ix_absences_class_id_day", "township_id", "class_id", "day"),  # a class's save and check
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column()
    school_id: Mapped[int] = mapped_column()
    class_id: Mapped[int] = mapped_column()
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(12))  # flows.AbsenceKind
    note: Mapped[str] = mapped_column(String(200), default="")
    leave_id: Mapped[int | None] = mapped_column(default=None)  # the leave that covers the day
    recorded_by: Mapped[int] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Leave(TownshipOwned, Base):
    """Leave granted before the days it covers (a sick note, a family matter)."""

    __tablename__ = "leaves"
    __table_args__ = (
        township_fk("student_id", "students"),
        township_fk("school_id", "schools"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(index=True)
    school_id: Mapped[int] = mapped_column()
    class_id: Mapped[int | None] = mapped_column(default=None)
    kind: Mapped[str] = mapped_column(String(12))  # sick | personal
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    granted_by: Mapped[int] = mapped_column()
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)


class AbsenceSpell(TownshipOwned, Base):
    __tablename__ = "absence_spells"
    __table_args__ = (
        township_fk("student_id", "students"),
        township_fk("school_id", "schools"),
        township_fk("case_id", "cases"),
        Index("uq_absence_spells_open", "township_id", "student_id", "kind", unique=True,
              postgresql_where=text(OPEN_SPELL_SQL), sqlite_where=text(OPEN_SPELL_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(index=True)
    student_name: Mapped[str] = mapped_column(String(40))
    school_id: Mapped[int] = mapped_column()
    class_id: Mapped[int | None] = mapped_column(default=None)
    kind: Mapped[str] = mapped_column(String(12))  # run | scattered | sick
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(SmallInteger)  # unexcused (or sick) school days counted
    returner: Mapped[bool] = mapped_column(Boolean, default=False)  # 辍返生: escalates from day one
    quit_said_on: Mapped[date | None] = mapped_column(Date, default=None)  # said they will quit: visits at once
    # The 旷课报告单, filed by the class teacher before the case opens.
    report_filed_at: Mapped[datetime | None] = mapped_column(default=None)
    report_by: Mapped[int | None] = mapped_column(default=None)
    report_reason_code: Mapped[str] = mapped_column(String(30), default="")
    report_text: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[datetime | None] = mapped_column(default=None)  # a long sick leave confirmed
    check_note: Mapped[str] = mapped_column(String(200), default="")
    case_id: Mapped[int | None] = mapped_column(default=None)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_on: Mapped[date | None] = mapped_column(Date, default=None)
    ended_reason: Mapped[str] = mapped_column(String(20), default="")  # flows.END_REASONS
