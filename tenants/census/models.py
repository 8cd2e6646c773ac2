"""The township's lists of school-age children, and what comparing them with the rolls found.

A `CensusChild` is one row of a list the township keeps by ID number: the villages' census
(文化户口: the children living there, `source="census"`) or the police station's
household-register extract (户籍, `source="register"`). A `PovertyHousehold` is one guardian on
the finance or social affairs office's list (脱贫户/低保户), matched by the guardian's ID number.

`reconcile` (四查三比对) compares them with every roll of the deployment and keeps only the
exceptions as `CensusFinding`s: a child enrolled elsewhere, enrolled nowhere, on two rolls, a
roll's record no list knows (空挂), a child away from home. The children found where they
should be are counted on the run (`CensusRun`), not stored one by one: the 适龄儿童少年台账
joins the lists with the rolls when it is read.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, TownshipOwned, township_fk

SOURCES = {"census": "文化户口", "register": "户籍"}


class CensusChild(TownshipOwned, Base):
    __tablename__ = "census_children"
    __table_args__ = (
        UniqueConstraint("township_id", "source", "id_number"),
        township_fk("village_id", "villages"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(10))  # SOURCES
    village_id: Mapped[int | None] = mapped_column(index=True)  # a register row may name none
    village_group: Mapped[str] = mapped_column(String(40), default="")  # 组 / 屯 / 自然村
    name: Mapped[str] = mapped_column(String(40))
    id_number: Mapped[str] = mapped_column(String(18))
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(2))
    hukou_place: Mapped[str] = mapped_column(String(200), default="")  # 户籍所在地
    guardian_name: Mapped[str] = mapped_column(String(40), default="")
    guardian_id_number: Mapped[str] = mapped_column(String(18), default="")
    guardian_phone: Mapped[str] = mapped_column(String(20), default="")
    lives_here: Mapped[bool] = mapped_column(default=True)  # 人户一致; False: registered here, living away
    note: Mapped[str] = mapped_column(String(200), default="")
    entered_by: Mapped[int] = mapped_column()  # users.id
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)


class PovertyHousehold(TownshipOwned, Base):
    __tablename__ = "poverty_households"
    __table_args__ = (
        UniqueConstraint("township_id", "guardian_id_number"),
        township_fk("village_id", "villages"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id_number: Mapped[str] = mapped_column(String(18))
    householder: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))  # POVERTY_KINDS
    village_id: Mapped[int | None] = mapped_column()
    entered_by: Mapped[int] = mapped_column()
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)


POVERTY_KINDS = ("脱贫户", "低保户", "特困供养户", "监测户")


class CensusRun(TownshipOwned, Base):
    """One reconciliation: when, on which reference day, by whom (or the nightly job), what it counted."""

    __tablename__ = "census_runs"
    __table_args__ = (UniqueConstraint("township_id", "job_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_key: Mapped[str] = mapped_column(String(120))
    reference_day: Mapped[date] = mapped_column(Date)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ran_by: Mapped[int | None] = mapped_column(default=None)  # users.id; None: the nightly job
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)


class CensusFinding(TownshipOwned, Base):
    """One exception the latest reconciliation found (FINDINGS); replaced by the next run."""

    __tablename__ = "census_findings"
    __table_args__ = (
        township_fk("run_id", "census_runs"),
        township_fk("village_id", "villages"),
        township_fk("school_id", "schools"),
        township_fk("student_id", "students"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(12))  # FINDINGS
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(40))
    birth_date: Mapped[date] = mapped_column(Date)
    village_id: Mapped[int | None] = mapped_column(index=True)  # where the list says the child lives
    village_group: Mapped[str] = mapped_column(String(40), default="")
    guardian_name: Mapped[str] = mapped_column(String(40), default="")
    sources: Mapped[str] = mapped_column(String(20), default="")  # "census,register": which lists name the child
    school_id: Mapped[int | None] = mapped_column(index=True)  # the roll here (twice, ghost, nowhere's case)
    student_id: Mapped[int | None] = mapped_column()
    case_id: Mapped[int | None] = mapped_column()  # nowhere: the case it opened or found open
    poverty: Mapped[str] = mapped_column(String(20), default="")  # POVERTY_KINDS, when the family is listed


FINDINGS = {
    "elsewhere": "已在外乡镇就读",
    "nowhere": "未在任何学校就读",
    "twice": "重复学籍（本乡镇与外乡镇各有一份）",
    "ghost": "空挂学籍（文化户口、户籍均无此人）",
    "away": "户在人不在（需核实在外就读情况）",
}
