"""The dispatcher: sends the jobs recorded in `job_runs` that no worker has yet.

It runs as a thread beside every worker (`baoxue worker`, the embedded in-process worker) and
inside each scheduler tick. One round (`dispatch_once`) claims up to a batch of due rows with
`SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL; two dispatchers never send the same row in
one round), sends each, and marks what was sent with its resend lease, in one transaction. A
queue that cannot be reached ends the round: what was not sent stays due for the next one.
A duplicate send (a commit lost after a send, a lease that passed while the message waited)
is harmless: `run_once` lets one delivery of a key work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime
import dramatiq

from baoxue.platform import jobs
from baoxue.platform.clock import utcnow
from baoxue.platform.db import cross_township_session, tenant_session
from baoxue.platform.settings import Settings, get_settings
from baoxue.workers.actors import actor_named, registered

log = logging.getLogger("baoxue.dispatcher")


def send_job(broker: dramatiq.Broker, actor: str, township_id: int, key: str) -> None:
    """Enqueue one job's message on `broker` (raises if the queue cannot be reached)."""
    broker.enqueue(actor_named(actor).message(township_id, key))


def dispatch_once(broker: dramatiq.Broker | None = None, *, now: datetime | None = None,
                  settings: Settings | None = None, limit: int = 100) -> int:
    """One round: send what is due. Returns how many were sent; raises if the database is down."""
    from baoxue.workers.broker import configure_broker

    settings = settings or get_settings()
    broker = broker or configure_broker(settings)
    now = now or utcnow()
    sent: list[int] = []
    with cross_township_session("jobs: send the recorded jobs", settings) as session:
        for job_id, township_id, actor, key in jobs.claim_for_sending(session, now, registered(), limit):
            try:
                send_job(broker, actor, township_id, key)
            except Exception as exc:  # noqa: BLE001 - the queue is down: the rest wait for the next round
                log.warning("job queue unreachable (%s: %s); %s and the rest wait", type(exc).__name__, exc, key)
                break
            sent.append(job_id)
        jobs.mark_sent(session, sent, now, settings)
    if sent:
        log.info("sent %d recorded job(s)", len(sent))
    return len(sent)


def send_now(outgoing: Iterable[tuple[int, int, str, str]], settings: Settings | None = None) -> None:
    """Right after a request's commit: one try per job, never raising; unsent ones wait for the
    dispatcher. Bounded by the broker's timeout (BAOXUE_REDIS_TIMEOUT_MS)."""
    from baoxue.workers.broker import configure_broker

    settings = settings or get_settings()
    broker = configure_broker(settings)
    for job_id, township_id, actor, key in outgoing:
        try:
            send_job(broker, actor, township_id, key)
            with tenant_session(jobs.township_context(township_id), settings) as session:
                jobs.mark_sent(session, [job_id], utcnow(), settings)
        except Exception as exc:  # noqa: BLE001 - recorded; the dispatcher sends it
            log.warning("job %s recorded, not sent now (%s: %s)", key, type(exc).__name__, exc)
            return


class Dispatcher:
    """`dispatch_once` every BAOXUE_DISPATCH_INTERVAL_SECONDS in a thread; survives any error."""

    def __init__(self, broker: dramatiq.Broker, settings: Settings | None = None,
                 interval: float | None = None) -> None:
        self.broker = broker
        self.settings = settings or get_settings()
        self.interval = interval if interval is not None else self.settings.dispatch_interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="baoxue-dispatcher", daemon=True)

    def start(self) -> Dispatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                dispatch_once(self.broker, settings=self.settings)
            except Exception:  # noqa: BLE001 - the database is down: try again next round
                log.warning("dispatch round failed", exc_info=True)
            self._stop.wait(self.interval)
