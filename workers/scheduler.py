"""The scheduler: records the periodic jobs that are due, then sends what is unsent.

`tick(now)` is one round; tests call it with a controlled clock. It records, for every
schedule and township, the job of the latest period that has started (keys by China-local
period, one row per township and key), so a tick repeated, a second scheduler or a restart
records nothing twice, and a scheduler that was down catches up on its next tick. Then it
dispatches (`baoxue.workers.dispatcher`). `run_scheduler` repeats ticks and survives a database
or Redis that is down: it logs, waits and tries again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime

import dramatiq
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from baoxue.platform.clock import utcnow
from baoxue.platform.db import cross_township_session
from baoxue.platform.jobs import Schedule, record_job
from baoxue.platform.settings import Settings, get_settings

log = logging.getLogger("baoxue.scheduler")
RETRY_AFTER_FAILURE_SECONDS = 10


def all_schedules() -> list[Schedule]:
    """Every concept's schedules, from the concept registry."""
    from baoxue.platform.concepts import all_schedules as from_concepts

    return list(from_concepts())


def due_jobs(now: datetime, settings: Settings | None = None,
             schedules: Sequence[Schedule] | None = None) -> list[tuple[str, int, str]]:
    """(actor name, township id, key) of what is due at `now`: every schedule, every township."""
    from baoxue.tenants.tenancy.models import Township

    plan = all_schedules() if schedules is None else schedules
    with cross_township_session("scheduler: list townships", settings) as session:
        townships = list(session.scalars(select(Township.id).order_by(Township.id)))
    return [(s.actor, t, s.key_at(now)) for s in plan for t in townships]


def record_due(now: datetime, settings: Settings | None = None,
               schedules: Sequence[Schedule] | None = None) -> int:
    """Record the due jobs that have no row yet; returns how many rows this call made."""
    due = due_jobs(now, settings, schedules)
    for attempt in range(3):
        try:
            with cross_township_session("scheduler: record due jobs", settings) as session:
                return sum(record_job(session, township_id, actor, key, requeue_failed=False)[1]
                           for actor, township_id, key in due)
        except IntegrityError:
            # SQLite: another scheduler recorded one of these keys since we looked; look again.
            if attempt == 2:
                raise
    return 0


def tick(now: datetime | None = None, *, settings: Settings | None = None, broker: dramatiq.Broker | None = None,
         schedules: Sequence[Schedule] | None = None) -> tuple[int, int]:
    """One round: (jobs recorded, jobs sent). `now` says which periods are due; leases are
    the clock's (`baoxue.platform.clock`), as the workers see them. Raises if the database is
    unreachable; a queue that is unreachable leaves the recorded jobs for the next round."""
    from baoxue.workers.dispatcher import dispatch_once

    now = now or utcnow()
    recorded = record_due(now, settings, schedules)
    if broker is None and not (settings or get_settings()).redis_url:
        return recorded, 0  # no Redis: the web process's embedded dispatcher sends them
    sent = dispatch_once(broker, settings=settings)
    return recorded, sent


def safe_tick(now: datetime | None = None, **kwargs: object) -> bool:
    """A tick that logs instead of raising: the scheduler outlives an outage."""
    try:
        recorded, sent = tick(now, **kwargs)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - the database is down or refused: log, wait, retry
        outage = isinstance(exc, (OperationalError, InterfaceError, ConnectionError, TimeoutError))
        log.error("scheduler tick failed (%s: %s); retrying in the next round", type(exc).__name__,
                  str(exc).splitlines()[0] if str(exc) else "", exc_info=not outage)
        return False
    log.info("scheduler tick: %d job(s) recorded, %d sent", recorded, sent)
    return True


def run_scheduler(once: bool = False, interval: float | None = None, settings: Settings | None = None,
                  stop: threading.Event | None = None) -> bool:
    """Tick every `interval` seconds (BAOXUE_SCHEDULER_INTERVAL_SECONDS) until `stop` is set;
    after a failed tick, sooner. `once`: one tick; returns whether it succeeded."""
    settings = settings or get_settings()
    interval = settings.scheduler_interval_seconds if interval is None else interval
    stop = stop or threading.Event()
    while True:
        ok = safe_tick(settings=settings)
        if once:
            return ok
        if stop.wait(interval if ok else min(interval, RETRY_AFTER_FAILURE_SECONDS)):
            return True


def run_due_now(settings: Settings | None = None) -> None:
    """Record what is due and run it in this process, without a worker (`baoxue demo seed`)."""
    from baoxue.workers.actors import actor_named

    now = utcnow()
    record_due(now, settings)
    for actor, township_id, key in due_jobs(now, settings):
        actor_named(actor).fn(township_id, key)
