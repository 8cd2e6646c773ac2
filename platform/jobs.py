"""The job layer: a job is a row first (the outbox), a message second, and it runs once per key.

* Asking for a job (`request_job`) writes its `job_runs` row in the asker's transaction and
  nothing else: a request never waits on the queue and never fails because of it. After the
  commit one best-effort send is tried (bounded by BAOXUE_REDIS_TIMEOUT_MS, never raising).
* The dispatcher (`baoxue.workers.dispatcher`, running in the worker, the scheduler and the
  embedded worker) sends what is recorded and not yet sent, sends again what was sent but never
  started (after BAOXUE_JOB_RESEND_SECONDS), and what a worker started and stopped renewing.
* An actor body calls `run_once(township_id, key, actor, work)`. It claims the key with one
  conditional UPDATE (status queued or failed, or running with its lease past), so of two
  deliveries one works and the other returns. The claim is a lease renewed by a heartbeat
  thread while the work runs, and the work's result commits only while the claim is still
  held (the final UPDATE names the claim), in the work's own transaction: a run that lost its
  claim leaves no result behind.

The row's states: queued (`sent_at` NULL: never sent; else `lease_until` is when to send it
again), running (`claimed_by` holds it until `lease_until`), done, failed. Times come from
`baoxue.platform.clock`, so tests move leases by moving the clock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint, and_, event, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import ColumnElement

from baoxue.platform.clock import CHINA, utcnow
from baoxue.platform.db import Base, TenantContext, TownshipOwned, tenant_session
from baoxue.platform.scoping import Scope
from baoxue.platform.settings import Settings, get_settings

log = logging.getLogger("baoxue.jobs")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
_PENDING = "status IN ('queued', 'running')"  # the dispatcher's partial index (revision 0002)


class JobRun(TownshipOwned, Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("township_id", "key"),
        Index("ix_job_runs_pending", "status", "lease_until", postgresql_where=text(_PENDING), sqlite_where=text(_PENDING)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    actor: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default=QUEUED)  # queued|running|done|failed
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The outbox and the lease (revision 0002).
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_by: Mapped[str] = mapped_column(String(120), default="", server_default="")


@dataclass(frozen=True)
class Schedule:
    """A periodic job: every township gets one job per period, named by `key(period)`.

    The period is a China-local day that starts at `hour` o'clock (Asia/Shanghai): a tick at
    any time records the latest period that has started, so a scheduler that was down catches
    up on its next tick, and two ticks of one period make one job (the key is the same).
    """

    name: str  # for logs, e.g. "figures:nightly"
    actor: str  # the actor's name
    key: Callable[[date], str]  # the job key of one period; the row is per township
    hour: int = 2
    label: str = ""  # what the job is called on the pages (its keys begin with `name`)

    def period(self, now: datetime) -> date:
        local = now.astimezone(CHINA)
        return local.date() if local.hour >= self.hour else local.date() - timedelta(days=1)

    def key_at(self, now: datetime) -> str:
        return self.key(self.period(now))


def township_context(township_id: int) -> TenantContext:
    """The context a job works in: the whole township, as the system."""
    return TenantContext(scope=Scope.township(township_id))


def job_run(session: Session, key: str, township_id: int | None = None) -> JobRun | None:
    query = select(JobRun).where(JobRun.key == key)
    if township_id is not None:  # a cross-township session sees every township's keys
        query = query.where(JobRun.township_id == township_id)
    return session.scalars(query).first()


def _actor_name(actor: Any) -> str:
    return actor if isinstance(actor, str) else actor.actor_name


# --- recording (the outbox) --------------------------------------------------------------------

def record_job(session: Session, township_id: int, actor: Any, key: str,
               requeue_failed: bool = True) -> tuple[JobRun, bool]:
    """Record a job in the caller's transaction. True when this call made it runnable.

    A new key makes a queued row; a failed one asked for again is queued again (unless
    `requeue_failed` is off: the scheduler does not retry a failed period every round); a
    queued, running or done one is left as it is (the same key is the same job).
    """
    run = job_run(session, key, township_id)
    if run is None:
        run = JobRun(township_id=township_id, key=key, actor=_actor_name(actor), status=QUEUED)
        # On PostgreSQL a concurrent insert of the same key waits for the other transaction and
        # then fails only the savepoint. (pysqlite's SAVEPOINT cannot open a transaction
        # safely; SQLite has one writer at a time, and the scheduler retries its round.)
        nested = session.begin_nested() if session.get_bind().dialect.name == "postgresql" else None
        try:
            with nested or contextlib.nullcontext():
                session.add(run)
                session.flush()
        except IntegrityError:
            if nested is None:
                raise
            found = job_run(session, key, township_id)
            assert found is not None
            return found, False
        return run, True
    if run.status == FAILED and requeue_failed:
        run.status, run.error, run.claimed_by, run.sent_at, run.lease_until = QUEUED, "", "", None, None
        session.flush()
        return run, True
    return run, False


def request_job(session: Session, township_id: int, actor: Any, key: str) -> tuple[JobRun, bool]:
    """Record a job and try one send right after the commit; the dispatcher does the rest."""
    run, created = record_job(session, township_id, actor, key)
    if run.status == QUEUED and run.sent_at is None:
        outgoing: list[tuple[int, int, str, str]] = session.info.setdefault(_OUTGOING, [])
        outgoing.append((run.id, township_id, run.actor, key))
    return run, created


_OUTGOING = "jobs_to_send_after_commit"


@event.listens_for(Session, "after_commit")
def _send_recorded_jobs(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the jobs go when the transaction itself commits
    outgoing = session.info.pop(_OUTGOING, None)
    if not outgoing:
        return
    try:  # never raise from here: the commit has happened and the request has succeeded
        from baoxue.workers.dispatcher import send_now

        send_now(outgoing)
    except Exception:  # noqa: BLE001 - the dispatcher sends it later
        log.warning("could not send %d recorded job(s) now; the dispatcher will", len(outgoing), exc_info=True)


@event.listens_for(Session, "after_transaction_end")
def _forget_recorded_jobs(session: Session, transaction: Any) -> None:
    """A transaction that ended without committing (rolled back, closed) sends nothing. Not
    on a savepoint's end: `after_rollback` would fire for a savepoint too."""
    if transaction.parent is None:
        session.info.pop(_OUTGOING, None)


def _due_for_sending(now: datetime) -> ColumnElement[bool]:
    """Never sent; sent and not started within its resend lease; started and its lease past."""
    return or_(
        and_(JobRun.status == QUEUED, or_(JobRun.sent_at.is_(None), JobRun.lease_until < now)),
        and_(JobRun.status == RUNNING, JobRun.lease_until < now),
    )


def claim_for_sending(session: Session, now: datetime, actors: Collection[str], limit: int = 100) -> list[Any]:
    """Rows of these actors to send, locked against other dispatchers (FOR UPDATE SKIP LOCKED on
    PostgreSQL; SQLite has no row locks: there a duplicate send finds the key taken). A
    dispatcher claims only the actors its process knows: a newer version's jobs wait for it."""
    query = (select(JobRun.id, JobRun.township_id, JobRun.actor, JobRun.key)
             .where(_due_for_sending(now), JobRun.actor.in_(sorted(actors))).order_by(JobRun.id).limit(limit)
             .with_for_update(skip_locked=True))
    return list(session.execute(query).all())


def mark_sent(session: Session, job_ids: list[int], now: datetime, settings: Settings | None = None) -> int:
    """After a send: queued, with its resend lease. Only rows still due: a run that has begun
    meanwhile keeps its claim."""
    if not job_ids:
        return 0
    resend = now + timedelta(seconds=(settings or get_settings()).job_resend_seconds)
    return _update(session, and_(JobRun.id.in_(job_ids), _due_for_sending(now)),
                   status=QUEUED, claimed_by="", sent_at=now, lease_until=resend)


def _update(session: Session, where: ColumnElement[bool], **values: Any) -> int:
    result = session.execute(update(JobRun).where(where).values(**values),
                             execution_options={"synchronize_session": False})
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- running once ------------------------------------------------------------------------------

class ClaimLost(RuntimeError):
    """Another worker took the key over (this run's lease had passed): its result is not kept."""


def _new_claim() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def _ours(township_id: int, key: str, claim: str) -> ColumnElement[bool]:
    return and_(JobRun.township_id == township_id, JobRun.key == key,
                JobRun.claimed_by == claim, JobRun.status == RUNNING)


def _claim(township_id: int, key: str, actor: str, claim: str, settings: Settings) -> str | None:
    """Claim the key; None when claimed, else the status that stopped us (done, running...)."""
    for _ in range(2):
        now = utcnow()
        lease = now + timedelta(seconds=settings.job_lease_seconds)
        claimable = or_(JobRun.status.in_((QUEUED, FAILED)), and_(JobRun.status == RUNNING, JobRun.lease_until < now))
        with tenant_session(township_context(township_id), settings) as session:
            if _update(session, and_(JobRun.township_id == township_id, JobRun.key == key, claimable),
                       status=RUNNING, attempts=JobRun.attempts + 1, claimed_by=claim, heartbeat_at=now,
                       lease_until=lease, error="", sent_at=func.coalesce(JobRun.sent_at, now)) == 1:
                return None
            status = session.scalar(select(JobRun.status).where(JobRun.township_id == township_id,
                                                                 JobRun.key == key))
        if status is not None:
            return status
        try:  # a message with no row (sent by hand, or before revision 0002): record it claimed
            with tenant_session(township_context(township_id), settings) as session:
                session.add(JobRun(township_id=township_id, key=key, actor=actor, status=RUNNING, attempts=1,
                                   claimed_by=claim, heartbeat_at=now, lease_until=lease, sent_at=now))
            return None
        except IntegrityError:
            continue  # another delivery recorded it this instant: try the claim again
    return RUNNING


class _Heartbeat:
    """Renews the claim's lease every third of it while the work runs.

    Why a heartbeat and not one lease as long as the actor's time limit (10 minutes in
    dramatiq): a worker killed mid-job would hold its key that long. With a renewed lease of
    BAOXUE_JOB_LEASE_SECONDS (60) another worker takes the job over a minute after its worker
    died, however long the job may take while alive. A missed beat cannot double a result:
    the result commits only under the claim (see `run_once`).
    """

    def __init__(self, township_id: int, key: str, claim: str, settings: Settings) -> None:
        self.township_id, self.key, self.claim, self.settings = township_id, key, claim, settings
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat {key}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    def _beat(self) -> None:
        lease = timedelta(seconds=self.settings.job_lease_seconds)
        while not self.stop.wait(max(lease.total_seconds() / 3, 0.05)):
            try:
                with tenant_session(township_context(self.township_id), self.settings) as session:
                    now = utcnow()
                    if not _update(session, _ours(self.township_id, self.key, self.claim),
                                   heartbeat_at=now, lease_until=now + lease):
                        if not self.stop.is_set():  # else the run itself has just ended it
                            log.warning("job %s: claim lost to another worker", self.key)
                        return
            except Exception:  # noqa: BLE001 - keep beating; the lease covers a short outage
                log.warning("job %s: heartbeat failed", self.key, exc_info=True)


def run_once(township_id: int, key: str, actor: str, work: Callable[[Session], dict[str, Any]],
             settings: Settings | None = None) -> str:
    """Do `work` once per (township, key). Returns the job's status as this delivery left it:
    "done", or "running" when another live worker holds the key (this delivery gives up and
    returns: a redelivery is not an error, so dramatiq must not retry it). A failing `work`
    marks the job failed and raises, so that dramatiq retries it."""
    settings = settings or get_settings()
    claim = _new_claim()
    stopped_by = _claim(township_id, key, actor, claim, settings)
    if stopped_by is not None:
        log.info("job %s is %s elsewhere; this delivery does nothing", key, stopped_by)
        return stopped_by
    with _Heartbeat(township_id, key, claim, settings):
        try:
            with tenant_session(township_context(township_id), settings) as session:
                result = work(session) or {}
                if not _update(session, _ours(township_id, key, claim), status=DONE, result=result, error="",
                               finished_at=utcnow(), lease_until=None):
                    raise ClaimLost(key)  # rolls the work back with it
            return DONE
        except ClaimLost:
            log.warning("job %s: taken over by another worker; this run's result is discarded", key)
            return RUNNING
        except Exception as exc:
            with tenant_session(township_context(township_id), settings) as session:
                ours = _update(session, _ours(township_id, key, claim), status=FAILED,
                               error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=utcnow(), lease_until=None)
            if ours:
                raise
            return RUNNING


# --- the dead-letter list ------------------------------------------------------------------------

def failed_jobs(session: Session, limit: int = 100) -> list[JobRun]:
    """The township's failed jobs, the latest first: those still being retried by the workers,
    and those they gave up on (`gave_up`), which wait for someone to press 重试."""
    return list(session.scalars(select(JobRun).where(JobRun.status == FAILED)
                                .order_by(JobRun.finished_at.desc(), JobRun.id.desc()).limit(limit)))


def gave_up(run: JobRun) -> bool:
    """Every delivery dramatiq makes (the first and its retries) has failed."""
    from baoxue.workers.actors import actor_named

    try:
        retries = int(actor_named(run.actor).options.get("max_retries", 0))
    except LookupError:
        return True  # an actor this code no longer has: nothing will retry it
    return run.status == FAILED and run.attempts > retries


def do_retry_job(session: Session, actor: Any, job_id: int) -> JobRun:
    """Queue a failed job again under its key (sent after the commit); its work is idempotent, so
    running it again finishes what it could not."""
    from baoxue.platform import audit
    from baoxue.platform.access import access
    from baoxue.platform.errors import Conflict
    from baoxue.platform.events import Event

    run = access(session, JobRun, job_id, for_write=True)
    if run.status != FAILED:
        raise Conflict(detail="只有失败的后台任务可以重新运行。")
    attempts = run.attempts
    request_job(session, run.township_id, run.actor, run.key)
    audit.record(session, Event.JOB_RETRIED, entity=run, changes={"key": run.key, "attempts": attempts,
                                                                  "error": run_error_line(run)})
    return run


def run_error_line(run: JobRun) -> str:
    return (run.error or "").splitlines()[0][:200] if run.error else ""


from baoxue.platform.scoping import TownshipWide  # noqa: E402 - the policy sits beside its model


class JobRunPolicy(TownshipWide, model=JobRun):
    """Job records name no unit and hold nothing personal: the whole township reads and writes them."""
