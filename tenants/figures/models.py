"""Figures computed by jobs: a snapshot per job, and the counts behind it, kept per unit.

The counts are stored at the grain of the rows behind them (school, class, grade, village of
residence, gender), so the same scope that narrows students narrows the figures: a school
sees its own counts, a village its residents', the township all of them (DOMAIN.md §5).

`PeriodCount` holds the flows of one period (a month, a term, a school year) at the grain
(school, class, grade, village of residence): who was enrolled at its start and end, who came
and left and why, the new suspected dropouts, dropouts and returns (`measures.py` says how
each is counted). `FigureTarget` is the township's ceilings and floors; `MonthlyReport` a
school's month (月报), frozen when the school submits it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, TownshipOwned, township_fk


class FigureSnapshot(TownshipOwned, Base):
    """One computed set of figures: what was counted, by which job, when."""

    __tablename__ = "figure_snapshots"
    __table_args__ = (UniqueConstraint("township_id", "kind", "job_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # "enrolment": a rebuild job's (its period counts too)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    job_key: Mapped[str] = mapped_column(String(120), default="")


class EnrolmentCount(TownshipOwned, Base):
    """Enrolled students of one school, class, village of residence and gender, at a snapshot."""

    __tablename__ = "enrolment_counts"
    __table_args__ = (
        township_fk("snapshot_id", "figure_snapshots"),
        township_fk("school_id", "schools"),
        township_fk("class_id", "school_classes"),
        township_fk("residence_village_id", "villages"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(index=True)
    school_id: Mapped[int] = mapped_column()
    class_id: Mapped[int | None] = mapped_column()
    grade: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0: not in a class
    residence_village_id: Mapped[int | None] = mapped_column()
    gender: Mapped[str] = mapped_column(String(2))
    count: Mapped[int] = mapped_column()


# The measures of a period, in the order the tables show them (measures.py defines each).
MEASURES = ("start_enrolled", "start_suspended", "transfers_in", "transfers_out", "suspensions", "resumptions",
            "elsewhere", "deaths", "suspended_deaths", "graduations", "suspected", "dropouts", "returns",
            "end_enrolled", "end_suspended")


class PeriodCount(TownshipOwned, Base):
    """The flows of one period at one grain (school, class, grade, village of residence)."""

    __tablename__ = "period_counts"
    __table_args__ = (
        township_fk("snapshot_id", "figure_snapshots"),
        township_fk("school_id", "schools"),
        township_fk("class_id", "school_classes"),
        township_fk("residence_village_id", "villages"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(index=True)
    period: Mapped[str] = mapped_column(String(24), index=True)  # "2026-10", "2026-2027", "term:3", "ytd:2026-10"
    school_id: Mapped[int] = mapped_column()
    class_id: Mapped[int | None] = mapped_column()
    grade: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0: not in a class
    residence_village_id: Mapped[int | None] = mapped_column()
    start_enrolled: Mapped[int] = mapped_column(Integer, default=0)
    start_suspended: Mapped[int] = mapped_column(Integer, default=0)
    transfers_in: Mapped[int] = mapped_column(Integer, default=0)
    transfers_out: Mapped[int] = mapped_column(Integer, default=0)
    suspensions: Mapped[int] = mapped_column(Integer, default=0)
    resumptions: Mapped[int] = mapped_column(Integer, default=0)
    elsewhere: Mapped[int] = mapped_column(Integer, default=0)
    deaths: Mapped[int] = mapped_column(Integer, default=0)
    suspended_deaths: Mapped[int] = mapped_column(Integer, default=0)
    graduations: Mapped[int] = mapped_column(Integer, default=0)
    suspected: Mapped[int] = mapped_column(Integer, default=0)
    dropouts: Mapped[int] = mapped_column(Integer, default=0)
    returns: Mapped[int] = mapped_column(Integer, default=0)
    end_enrolled: Mapped[int] = mapped_column(Integer, default=0)
    end_suspended: Mapped[int] = mapped_column(Integer, default=0)


class FigureTarget(TownshipOwned, Base):
    """One of the township's targets: a dropout ceiling or a retention floor for a level
    ("primary", "junior", "school", "all", "grade7"...), in hundredths of a percent (200 = 2.00 %)."""

    __tablename__ = "figure_targets"
    __table_args__ = (UniqueConstraint("township_id", "level", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(12))
    metric: Mapped[str] = mapped_column(String(16))  # "dropout_max" | "retention_min"
    hundredths: Mapped[int] = mapped_column(Integer)


class MonthlyReport(TownshipOwned, Base):
    """A school's month (月报): made when the month is first checked, frozen when submitted."""

    __tablename__ = "monthly_reports"
    __table_args__ = (
        UniqueConstraint("township_id", "school_id", "month"),
        township_fk("school_id", "schools"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(index=True)
    month: Mapped[str] = mapped_column(String(7))  # "2026-10"
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    submitted_by: Mapped[int | None] = mapped_column(default=None)  # users.id
    submitter_name: Mapped[str] = mapped_column(String(64), default="")  # 王校长（校长）
    rows: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the frozen table (reports.py)
