"""The scheduler: sends periodic jobs. One loop, keys by period, so a restart sends nothing twice."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select

from baoxue.platform.clock import clock
from baoxue.platform.db import cross_township_session

log = logging.getLogger("baoxue.scheduler")


def due_jobs() -> list[tuple[str, int, str]]:
    """(actor name, township id, idempotency key) of what is due now: the nightly figures."""
    from baoxue.tenants.tenancy.models import Township

    day = clock.today().isoformat()
    with cross_township_session("scheduler: list townships") as session:
        townships = list(session.scalars(select(Township.id)))
    return [("rebuild_figures", t, f"figures:nightly:{day}") for t in townships]


def send_due() -> int:
    from baoxue.workers import actors
    from baoxue.workers.broker import configure_broker

    configure_broker()
    sent = 0
    for name, township_id, key in due_jobs():
        getattr(actors, name).send(township_id, key)
        sent += 1
    return sent


def run_due_now() -> None:
    """Run what is due in this process, without a worker (the demo seed uses it)."""
    from baoxue.workers import actors
    from baoxue.workers.broker import configure_broker

    configure_broker()
    for name, township_id, key in due_jobs():
        getattr(actors, name).fn(township_id, key)


def run_scheduler(once: bool = False, period_seconds: int = 3600) -> None:
    while True:
        log.info("scheduler sent %d jobs", send_due())
        if once:
            return
        time.sleep(period_seconds)
