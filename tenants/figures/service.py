"""Figures: enrolment by school, grade and village of residence (DOMAIN.md §5), and rebuilding them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import clock, utcnow
from baoxue.platform.db import tenant_of
from baoxue.platform.jobs import JobRun, job_run, record_queued, send_after_commit
from baoxue.tenants.figures.models import FigureSnapshot
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import School, SchoolClass, Village

ENROLMENT = "enrolment"
ENROLLED_STATUSES = ("01", "05")  # 在读, 复学


def rebuild_enrolment_figures(session: Session, key: str) -> dict[str, Any]:
    """Count enrolled students in one grouped query and store the snapshot."""
    rows = session.execute(
        select(Student.school_id, SchoolClass.grade, Student.residence_village_id, Student.gender,
               func.count(Student.id))
        .join(SchoolClass, SchoolClass.id == Student.class_id, isouter=True)
        .where(Student.status.in_(ENROLLED_STATUSES))
        .group_by(Student.school_id, SchoolClass.grade, Student.residence_village_id, Student.gender)
    ).all()
    schools = dict(session.execute(select(School.id, School.name)).all())
    villages = dict(session.execute(select(Village.id, Village.name)).all())
    by_school: dict[str, int] = {}
    by_grade: dict[str, int] = {}
    by_village: dict[str, int] = {}
    girls = 0
    total = 0
    for school_id, grade, village_id, gender, count in rows:
        total += count
        girls += count if gender == "女" else 0
        by_school[schools.get(school_id, "?")] = by_school.get(schools.get(school_id, "?"), 0) + count
        grade_key = str(grade or 0)
        by_grade[grade_key] = by_grade.get(grade_key, 0) + count
        village = villages.get(village_id, "未登记")
        by_village[village] = by_village.get(village, 0) + count
    data = {"total": total, "girls": girls, "by_school": by_school, "by_grade": by_grade,
            "by_village": by_village, "as_of": clock.today().isoformat()}
    session.add(FigureSnapshot(township_id=tenant_of(session).township_id, kind=ENROLMENT, job_key=key,
                               data=data, computed_at=utcnow()))
    return {"total": total}


def latest_enrolment(session: Session) -> FigureSnapshot | None:
    return session.scalars(
        select(FigureSnapshot).where(FigureSnapshot.kind == ENROLMENT).order_by(FigureSnapshot.id.desc()).limit(1)
    ).first()


def do_request_rebuild(session: Session) -> JobRun:
    """Queue a rebuild, sent after commit. The key is per minute: a double click is one job."""
    from baoxue.workers import actors

    township_id = tenant_of(session).township_id
    assert township_id is not None
    key = f"figures:manual:{utcnow().strftime('%Y%m%dT%H%M')}"
    existing = job_run(session, key)
    run = record_queued(session, township_id, key, "rebuild_figures")
    if existing is None or existing.status == "failed":
        send_after_commit(session, actors.rebuild_figures, township_id, key)
        audit.record(session, "figures:rebuild:requested", entity_type="job_runs", entity_id=key)
    return run


def recent_jobs(session: Session, limit: int = 5) -> list[JobRun]:
    return list(session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(limit)))
