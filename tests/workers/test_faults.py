"""Faults with real services: a Redis stopped or hung while a job is asked for, a worker killed
mid-job. Each uses a redis-server of its own (never the shared one on 6379)."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baoxue.platform.db import tenant_session
from baoxue.platform.jobs import record_job, township_context
from baoxue.platform.settings import PROJECT_ROOT
from baoxue.workers.broker import redis_broker
from baoxue.workers.dispatcher import dispatch_once, send_job
from tests.workers.conftest import ThrowawayRedis, declare_test_actors, finished, job_row, near_now, snapshots, \
    unique_key, wait_for

pytestmark = pytest.mark.postgres_only


def _broker_on(redis: ThrowawayRedis) -> Any:
    broker = redis_broker(redis.url, 300)  # a short timeout: a stopped Redis fails a send at once
    declare_test_actors(broker)
    return broker


def _ask_twice(persona: Any) -> str:
    office = persona("bd_office")
    first = office.post("/api/figures/rebuild")
    assert first.status_code == 202, first.text
    again = office.post("/api/figures/rebuild")
    assert again.status_code == 202 and again.json()["key"] == first.json()["key"]
    return str(first.json()["key"])


def _runs_once_when_sent(demo: Any, broker: Any, start_worker: Any, township: int, key: str) -> Any:
    start_worker(broker)
    assert wait_for(lambda: dispatch_once(broker, settings=demo) or finished(demo, township, key))
    run = wait_for(lambda: finished(demo, township, key))
    assert run.status == "done", run.error
    assert snapshots(demo, township, key) == 1
    return run


def test_a_job_asked_for_while_redis_is_stopped_runs_when_it_is_back(
        demo: Any, persona: Any, townships: dict[str, int], held_clock: Any, app_broker: Any,
        throwaway_redis: ThrowawayRedis) -> None:
    held_clock.freeze(near_now(5, 10))
    broker = _broker_on(throwaway_redis)
    app_broker(broker)
    throwaway_redis.stop()
    key = _ask_twice(persona)  # 202 twice: the job is recorded, though it could not be sent
    township = townships["DEMO-BD"]
    run = job_row(demo, township, key)
    assert (run.status, run.sent_at) == ("queued", None)
    assert dispatch_once(broker, settings=demo) == 0  # still down: nothing sent, nothing raised
    throwaway_redis.start()  # the same port, empty: the message was never there
    # `baoxue worker` on it: its dispatcher sends the recorded job, and it runs it.
    env = {**os.environ, "BAOXUE_REDIS_URL": throwaway_redis.url, "BAOXUE_DISPATCH_INTERVAL_SECONDS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "baoxue.platform.cli", "worker", "--threads", "1"],
                            cwd=PROJECT_ROOT, env=env)
    try:
        run = wait_for(lambda: finished(demo, township, key))
    finally:
        proc.terminate()
        assert proc.wait(15) == 0  # it stops cleanly on SIGTERM
    assert (run.status, run.attempts) == ("done", 1), run.error
    assert run.sent_at is not None
    assert snapshots(demo, township, key) == 1


def test_a_hung_redis_does_not_fail_the_request(demo: Any, persona: Any, townships: dict[str, int],
                                                held_clock: Any, app_broker: Any,
                                                throwaway_redis: ThrowawayRedis, start_worker: Any) -> None:
    held_clock.freeze(near_now(5, 20))
    broker = _broker_on(throwaway_redis)
    app_broker(broker)
    throwaway_redis.pause()  # SIGSTOP: connections open, nothing answers
    try:
        key = _ask_twice(persona)  # answered while Redis is still stopped: the send timed out
    finally:
        throwaway_redis.resume()
    # Redis may now run the send that timed out, and the dispatcher sends the job again: one run.
    _runs_once_when_sent(demo, broker, start_worker, townships["DEMO-BD"], key)


_WORKER = """
import sys, time
from baoxue.platform.settings import get_settings
from baoxue.workers.actors import bind
from baoxue.workers.broker import new_worker, redis_broker
import tests.workers.jobs_for_tests

broker = redis_broker(sys.argv[1], 1000)
bind(broker)
new_worker(broker, get_settings(), threads=1).start()
time.sleep(600)
"""


def test_a_worker_killed_mid_job_is_taken_over_after_its_lease(
        demo: Any, townships: dict[str, int], held_clock: Any, throwaway_redis: ThrowawayRedis,
        start_worker: Any) -> None:
    township, key = townships["DEMO-LG"], unique_key()
    broker = _broker_on(throwaway_redis)
    with tenant_session(township_context(township), demo) as session:
        record_job(session, township, "held_rebuild", key)
    env = {**os.environ, "BAOXUE_TEST_JOB_SLEEP": "600"}  # it works until it is killed
    proc = subprocess.Popen([sys.executable, "-c", _WORKER, throwaway_redis.url], cwd=PROJECT_ROOT, env=env)
    try:
        send_job(broker, "held_rebuild", township, key)
        wait_for(lambda: (r := job_row(demo, township, key)) and r.status == "running" and f":{proc.pid}:" in r.claimed_by,
                 what="the subprocess to claim the job")
    finally:
        proc.kill()  # SIGKILL: no clean-up, the claim stays behind
        proc.wait(10)
    dead = job_row(demo, township, key)
    assert dead.status == "running" and dead.lease_until is not None
    # Before the lease ends nobody may take it; after it, the dispatcher sends it again.
    held_clock.freeze(datetime.now(UTC))
    dispatch_once(broker, settings=demo)
    assert job_row(demo, township, key).claimed_by == dead.claimed_by
    held_clock.freeze(dead.lease_until + timedelta(seconds=1))
    start_worker(broker)
    assert dispatch_once(broker, settings=demo) >= 1
    run = wait_for(lambda: finished(demo, township, key))
    assert run.status == "done", run.error
    assert run.attempts == 2 and run.claimed_by != dead.claimed_by
    assert snapshots(demo, township, key) == 1
