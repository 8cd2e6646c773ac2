"""The broker: Redis when BAOXUE_REDIS_URL is set, otherwise an in-process queue and worker.

`configure_broker()` installs it once per process (the app factory, the CLI and the tests call
it) and binds every actor to it. Redis is spoken to with short timeouts and no retries
(BAOXUE_REDIS_TIMEOUT_MS): a stopped or hung Redis makes a send fail fast, and the job, which
is recorded in `job_runs`, is sent later by the dispatcher.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from baoxue.platform.settings import Settings, get_settings

log = logging.getLogger("baoxue.workers")
_configured_for: str | None = None


def redis_broker(url: str, timeout_ms: int, **options: Any) -> RedisBroker:
    """A Redis broker whose every command gives up after `timeout_ms`, without retrying."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    seconds = timeout_ms / 1000
    client = redis.Redis.from_url(url, socket_timeout=seconds, socket_connect_timeout=seconds,
                                  retry=Retry(NoBackoff(), 0))
    return RedisBroker(client=client, **options)


def configure_broker(settings: Settings | None = None) -> dramatiq.Broker:
    """Install the broker the settings ask for; idempotent for the same settings."""
    global _configured_for
    settings = settings or get_settings()
    wanted = settings.redis_url or "in-process"
    if _configured_for == wanted:
        return dramatiq.get_broker()
    broker: dramatiq.Broker
    if settings.redis_url:
        broker = redis_broker(settings.redis_url, settings.redis_timeout_ms)
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    _configured_for = wanted
    from baoxue.workers import actors

    actors.bind(broker)
    return broker


def broker_state(settings: Settings) -> tuple[bool, str]:
    """Is the job queue reachable? Checked with a fresh client, never the shared one."""
    if not settings.redis_url:
        return (_in_process_worker is not None and _in_process_worker_alive()), "in-process"
    import redis

    try:
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=1).ping()
        return True, "redis"
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        return False, f"redis: {type(exc).__name__}"


def new_worker(broker: dramatiq.Broker, settings: Settings, threads: int = 2) -> dramatiq.Worker:
    # An idle worker polls up to worker_timeout apart; 100 ms makes a job start at once.
    return dramatiq.Worker(broker, worker_threads=threads, worker_timeout=settings.worker_timeout_ms)


_in_process_worker: dramatiq.Worker | None = None
_in_process_dispatcher: Any = None


def _in_process_worker_alive() -> bool:
    worker = _in_process_worker
    return bool(worker and any(t.is_alive() for t in getattr(worker, "workers", [])))


def start_in_process_worker(settings: Settings | None = None) -> bool:
    """The embedded default: with no Redis, the web process runs its own jobs and dispatcher.

    Returns whether this call started the worker; only the starter stops it, so a second app
    in the same process (tests) cannot stop the first one's worker.
    """
    global _in_process_worker, _in_process_dispatcher
    settings = settings or get_settings()
    if settings.redis_url:
        return False
    broker = configure_broker(settings)
    if _in_process_worker is not None:
        return False
    from baoxue.workers.dispatcher import Dispatcher

    _in_process_worker = new_worker(broker, settings)
    _in_process_worker.start()
    _in_process_dispatcher = Dispatcher(broker, settings).start()
    return True


def in_process_worker() -> dramatiq.Worker | None:
    return _in_process_worker


def stop_in_process_worker() -> None:
    global _in_process_worker, _in_process_dispatcher
    if _in_process_dispatcher is not None:
        _in_process_dispatcher.stop()
        _in_process_dispatcher = None
    if _in_process_worker is not None:
        _in_process_worker.stop(timeout=5000)
        _in_process_worker = None


def run_worker_forever(threads: int = 4, settings: Settings | None = None) -> None:
    """`baoxue worker`: the dramatiq worker and, beside it, the dispatcher of recorded jobs."""
    from baoxue.workers.dispatcher import Dispatcher

    settings = settings or get_settings()
    broker = configure_broker(settings)
    worker = new_worker(broker, settings, threads=threads)
    worker.start()
    dispatcher = Dispatcher(broker, settings).start()
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("worker started on %s", settings.redis_url)
    stop.wait()
    dispatcher.stop()
    worker.stop()
