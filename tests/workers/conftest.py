"""Fixtures of the job tests: a held clock, private brokers and workers, a Redis of our own.

Each test's jobs go through a broker of its own (on PostgreSQL runs a namespace of the shared
Redis, on SQLite runs a StubBroker) to real dramatiq workers, so no test's messages reach
another's worker. The shared Redis on 6379 and the shared PostgreSQL are never stopped: the
fault tests stop a `redis-server` they started, or a proxy in front of PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, select

from tests.conftest import BACKEND, REDIS_URL
from tests.workers import jobs_for_tests  # noqa: F401 - declares the test actor

# Not db 13: every test run flushes that one when it starts, and runs may overlap.
PRIVATE_REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + "/14"


def wait_for(predicate: Callable[[], Any], seconds: float = 20, what: str = "the job") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def job_row(settings: Any, township_id: int, key: str) -> Any:
    from baoxue.platform.db import tenant_session
    from baoxue.platform.jobs import job_run, township_context

    with tenant_session(township_context(township_id), settings) as session:
        run = job_run(session, key, township_id)
        if run is not None:
            session.expunge(run)
        return run


def finished(settings: Any, township_id: int, key: str) -> Any:
    """The job's row once it is done or failed (for `wait_for`)."""
    run = job_row(settings, township_id, key)
    return run if run is not None and run.status in ("done", "failed") else None


def snapshots(settings: Any, township_id: int, key: str) -> int:
    """How many results (figure snapshots) the job key left."""
    from baoxue.platform.db import tenant_session
    from baoxue.platform.jobs import township_context
    from baoxue.tenants.figures.models import FigureSnapshot

    with tenant_session(township_context(township_id), settings) as session:
        return int(session.scalar(select(func.count(FigureSnapshot.id)).where(FigureSnapshot.job_key == key)) or 0)


def unique_key(prefix: str = "test") -> str:
    return f"{prefix}:{uuid.uuid4().hex[:12]}"


@pytest.fixture
def held_clock() -> Iterator[Any]:
    """The app's clock, held still by the test (`held_clock.freeze(at)`), released afterwards."""
    from baoxue.platform.clock import clock

    yield clock
    clock.unfreeze()


def near_now(hour_utc: int, minute: int) -> datetime:
    """Today (UTC) at a fixed time of day: within a day of now, so the personas' API tokens stay
    valid, and at a time of day the test chooses, never the one it happens to run at."""
    return datetime.now(UTC).replace(hour=hour_utc, minute=minute, second=0, microsecond=0)


def declare_test_actors(broker: dramatiq.Broker) -> None:
    from baoxue.workers.actors import bind

    bind(broker, default=False)


@pytest.fixture
def private_broker(demo: Any) -> Iterator[dramatiq.Broker]:
    """A broker only this test's workers consume from (on the shared Redis, a namespace of its
    own, removed afterwards: another test run's workers never see its messages)."""
    from dramatiq.brokers.stub import StubBroker

    from baoxue.workers.broker import configure_broker, redis_broker

    # The app's own broker knows the test actor too: on SQLite runs the embedded dispatcher
    # may send a test's recorded job there, and the embedded worker then runs it, once.
    declare_test_actors(configure_broker(demo))
    broker: dramatiq.Broker
    if BACKEND == "postgresql":
        broker = redis_broker(PRIVATE_REDIS_URL, 1000, namespace=f"baoxue-test-{uuid.uuid4().hex[:8]}")
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    declare_test_actors(broker)
    yield broker
    if isinstance(broker, RedisBroker):
        keys = list(broker.client.scan_iter(f"{broker.namespace}:*"))
        if keys:
            broker.client.delete(*keys)
    broker.close()


@pytest.fixture
def start_worker(demo: Any) -> Iterator[Callable[..., dramatiq.Worker]]:
    """`start_worker(broker, threads=2)`: a real dramatiq worker, stopped after the test. A
    worker that is to leave a second message to another worker takes one at a time (`single`:
    one thread, no prefetch)."""
    from baoxue.workers.broker import new_worker

    started: list[dramatiq.Worker] = []

    def start(broker: dramatiq.Broker, threads: int = 2, single: bool = False) -> dramatiq.Worker:
        worker = new_worker(broker, demo, threads=1 if single else threads)
        if single:
            worker.queue_prefetch = 1
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(timeout=10000)


@pytest.fixture
def app_broker() -> Iterator[Callable[[dramatiq.Broker], None]]:
    """`app_broker(b)`: the web app's sends go to `b` for this test (restored afterwards)."""
    saved = dramatiq.get_broker()
    yield dramatiq.set_broker
    dramatiq.set_broker(saved)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, up: bool = True) -> None:
    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    wait_for(lambda: listening() == up, 10, f"port {port} {'open' if up else 'closed'}")


class ThrowawayRedis:
    """A redis-server of the test's own on a free port, to stop, restart, pause and resume."""

    def __init__(self) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server is needed (Debian: apt-get install redis-server)"
        self.exe = exe
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_listening(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.resume()
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
        _wait_listening(self.port, up=False)

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGCONT)


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    redis = ThrowawayRedis()
    redis.start()
    yield redis
    redis.stop()
