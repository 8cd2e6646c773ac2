"""Figures computed by jobs: a snapshot per job, and the counts behind it, kept per unit.

The counts are stored at the grain of the rows behind them (school, class, grade, village of
residence, gender), so the same scope that narrows students narrows the figures: a school
sees its own counts, a village its residents', the township all of them (DOMAIN.md §5).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, TownshipOwned, township_fk


class FigureSnapshot(TownshipOwned, Base):
    """One computed set of figures: what was counted, by which job, when."""

    __tablename__ = "figure_snapshots"
    __table_args__ = (UniqueConstraint("township_id", "kind", "job_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
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
