"""Figures: enrolment by school, grade and village of residence (DOMAIN.md §5), and rebuilding them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import CHINA, utcnow
from baoxue.platform.db import tenant_of
from baoxue.platform.jobs import JobRun, request_job
from baoxue.tenants.figures.events import Event
from baoxue.tenants.figures.models import EnrolmentCount, FigureSnapshot
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import School, SchoolClass, Village
from baoxue.tenants.tenancy.service import SCHOOL_GRADES

ENROLMENT = "enrolment"
ENROLLED_STATUSES = ("01", "05")  # 在读, 复学


def rebuild_enrolment_figures(session: Session, key: str) -> dict[str, Any]:
    """Count enrolled students in one grouped query and store the counts, once per job key:
    run again for the same key, it stores nothing and answers what the first run stored."""
    stored = session.scalar(select(FigureSnapshot.id).where(FigureSnapshot.kind == ENROLMENT,
                                                            FigureSnapshot.job_key == key))
    if stored is not None:
        return {"total": _total(session, stored)}
    township_id = tenant_of(session).township_id
    snapshot = FigureSnapshot(township_id=township_id, kind=ENROLMENT, job_key=key, computed_at=utcnow())
    session.add(snapshot)
    session.flush()
    rows = session.execute(
        select(Student.school_id, Student.class_id, SchoolClass.grade, Student.residence_village_id, Student.gender,
               func.count(Student.id))
        .join(SchoolClass, SchoolClass.id == Student.class_id, isouter=True)
        .where(Student.status.in_(ENROLLED_STATUSES))
        .group_by(Student.school_id, Student.class_id, SchoolClass.grade, Student.residence_village_id,
                  Student.gender)
    ).all()
    session.add_all(
        EnrolmentCount(township_id=township_id, snapshot_id=snapshot.id, school_id=school_id, class_id=class_id,
                       grade=grade or 0, residence_village_id=village_id, gender=gender, count=count)
        for school_id, class_id, grade, village_id, gender, count in rows)
    return {"total": sum(row[-1] for row in rows)}


def _total(session: Session, snapshot_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(EnrolmentCount.count), 0))
                              .where(EnrolmentCount.snapshot_id == snapshot_id)) or 0)


@dataclass(frozen=True)
class EnrolmentFigures:
    """The latest enrolment figures as far as the reader's scope reaches, by unit, zeros included."""

    computed_at: datetime
    total: int
    girls: int
    by_school: dict[str, int]
    by_grade: dict[str, int]
    by_village: dict[str, int]

    @property
    def data(self) -> dict[str, Any]:
        return {"total": self.total, "girls": self.girls, "by_school": self.by_school, "by_grade": self.by_grade,
                "by_village": self.by_village, "as_of": self.computed_at.astimezone(CHINA).date().isoformat()}


def latest_enrolment(session: Session) -> EnrolmentFigures | None:
    """Three small queries: the snapshot, its counts grouped in the scope, the units to show."""
    snapshot = session.scalars(select(FigureSnapshot).where(FigureSnapshot.kind == ENROLMENT)
                               .order_by(FigureSnapshot.id.desc()).limit(1)).first()
    if snapshot is None:
        return None
    rows = session.execute(
        select(EnrolmentCount.school_id, EnrolmentCount.grade, EnrolmentCount.residence_village_id,
               EnrolmentCount.gender, func.sum(EnrolmentCount.count))
        .where(EnrolmentCount.snapshot_id == snapshot.id)
        .group_by(EnrolmentCount.school_id, EnrolmentCount.grade, EnrolmentCount.residence_village_id,
                  EnrolmentCount.gender)).all()
    schools, villages, grades = _units_shown(session, rows)
    by_school = {schools[i]: 0 for i in schools}
    by_village = {name: 0 for name in villages.values()}
    by_grade = {str(g): 0 for g in grades}
    girls = total = 0
    for school_id, grade, village_id, gender, summed in rows:
        count = int(summed)  # PostgreSQL sums bigints as numeric
        total += count
        girls += count if gender == "女" else 0
        by_school[schools.get(school_id, "?")] = by_school.get(schools.get(school_id, "?"), 0) + count
        by_grade[str(grade)] = by_grade.get(str(grade), 0) + count
        village = villages.get(village_id, "未登记")
        by_village[village] = by_village.get(village, 0) + count
    return EnrolmentFigures(snapshot.computed_at, total, girls, by_school, dict(sorted(by_grade.items())), by_village)


def _units_shown(session: Session, rows: list[Any]) -> tuple[dict[int, str], dict[int | None, str], list[int]]:
    """Every unit the reader answers for, with or without students; others only where they count."""
    scope = tenant_of(session).scope
    whole = scope is None or scope.whole_township
    counted_schools = {row[0] for row in rows}
    school_rows = session.execute(select(School.id, School.name, School.kind).order_by(School.id)).all()
    own_school = scope.school_id if scope is not None else None
    schools = {i: name for i, name, _ in school_rows if whole or i == own_school or i in counted_schools}
    grades = sorted({g for i, _, kind in school_rows if whole or i == own_school
                     for g in SCHOOL_GRADES.get(kind, ())})
    counted_villages = {row[2] for row in rows}
    own_village = scope.village_id if scope is not None else None
    villages: dict[int | None, str] = {
        i: name for i, name in session.execute(select(Village.id, Village.name).order_by(Village.id))
        if whole or i == own_village or i in counted_villages}
    return schools, villages, grades


def do_request_rebuild(session: Session) -> JobRun:
    """Ask for a rebuild: the job is recorded in this transaction (sent after it commits, or by
    the dispatcher). The key is per China-local minute: a double click is one job."""
    from baoxue.tenants.figures.tasks import rebuild_figures, rebuild_figures_key

    township_id = tenant_of(session).township_id
    assert township_id is not None
    run, created = request_job(session, township_id, rebuild_figures, rebuild_figures_key("manual", utcnow()))
    if created:
        audit.record(session, Event.REBUILD_REQUESTED, entity_type="job_runs", entity_id=run.key)
    return run


def recent_jobs(session: Session, limit: int = 5) -> list[JobRun]:
    return list(session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(limit)))
