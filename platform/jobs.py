"""The job layer: idempotent by key, sent only after the sender's transaction commits.

An actor body calls `run_once(township_id, key, work)`: the first run claims the key and does
the work; a repeat (a retry, a double click, a redelivered message) finds it done and returns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, TenantContext, TownshipOwned, tenant_session
from baoxue.platform.scoping import Scope


class JobRun(TownshipOwned, Base):
    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("township_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    actor: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued|running|done|failed
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


def township_context(township_id: int) -> TenantContext:
    """The context a job works in: the whole township, as the system."""
    return TenantContext(township_id=township_id, scope=Scope.township(township_id))


def job_run(session: Session, key: str) -> JobRun | None:
    return session.scalars(select(JobRun).where(JobRun.key == key)).first()


def record_queued(session: Session, township_id: int, key: str, actor: str) -> JobRun:
    run = job_run(session, key)
    if run is None:
        run = JobRun(township_id=township_id, key=key, actor=actor, status="queued")
        session.add(run)
    elif run.status == "failed":
        run.status = "queued"  # a retry of a failed job is a new attempt under the same key
    return run


def run_once(township_id: int, key: str, actor: str, work: Callable[[Session], dict[str, Any]]) -> str:
    """Do `work` once per (township, key). Returns the job's final status."""
    with tenant_session(township_context(township_id)) as session:
        run = session.scalars(select(JobRun).where(JobRun.key == key).with_for_update()).first()
        if run is None:
            run = JobRun(township_id=township_id, key=key, actor=actor)
            session.add(run)
            try:
                session.flush()
            except IntegrityError:
                session.rollback()
                return "done"  # another worker claimed it this instant
        if run.status == "done":
            return "done"
        run.status = "running"
        run.attempts += 1
    try:
        with tenant_session(township_context(township_id)) as session:
            result = work(session)
            run = session.scalars(select(JobRun).where(JobRun.key == key)).one()
            run.status, run.result, run.error, run.finished_at = "done", result or {}, "", utcnow()
        return "done"
    except Exception as exc:
        with tenant_session(township_context(township_id)) as session:
            run = session.scalars(select(JobRun).where(JobRun.key == key)).one()
            run.status, run.error, run.finished_at = "failed", f"{type(exc).__name__}: {exc}", utcnow()
        raise


def send_after_commit(session: Session, actor: Any, *args: Any, **kwargs: Any) -> None:
    """Queue a message that leaves only if the session's transaction commits."""
    pending: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = session.info.setdefault("after_commit_jobs", [])
    pending.append((actor, args, kwargs))


@event.listens_for(Session, "after_commit")
def _send_pending_jobs(session: Session) -> None:
    pending = session.info.pop("after_commit_jobs", [])
    for actor, args, kwargs in pending:
        actor.send(*args, **kwargs)


@event.listens_for(Session, "after_rollback")
def _drop_pending_jobs(session: Session) -> None:
    session.info.pop("after_commit_jobs", None)
