"""`run_once` on real workers: one key, two deliveries, one piece of work and one result."""

import threading
from datetime import timedelta
from typing import Any

from baoxue.workers.dispatcher import send_job
from tests.workers import jobs_for_tests as t
from tests.workers.conftest import finished, job_row, near_now, snapshots, unique_key, wait_for


def _first_run_held(townships: dict[str, int], broker: Any, start_worker: Any) -> tuple[int, str, threading.Event]:
    """Two workers taking one message at a time; a job whose first run waits at its gate."""
    township, key = townships["DEMO-LG"], unique_key()
    gate = t.GATES[key] = threading.Event()
    start_worker(broker, single=True)
    start_worker(broker, single=True)
    send_job(broker, "held_rebuild", township, key)
    wait_for(lambda: t.CALLS[key] == 1, what="the first run")
    return township, key, gate


def _deliveries(key: str, n: int) -> list[str]:
    return wait_for(lambda: len(t.DELIVERIES[key]) >= n and list(t.DELIVERIES[key]), what=f"{n} deliveries")


def test_a_redelivery_while_the_first_run_works_does_nothing(demo: Any, townships: dict[str, int], held_clock: Any,
                                                            private_broker: Any, start_worker: Any) -> None:
    held_clock.freeze(near_now(4, 0))
    township, key, gate = _first_run_held(townships, private_broker, start_worker)
    # The first run holds the key (its lease is live) while a second delivery arrives.
    send_job(private_broker, "held_rebuild", township, key)
    assert _deliveries(key, 1) == ["running"]  # it gave up, without working and without raising
    assert t.CALLS[key] == 1
    gate.set()
    assert _deliveries(key, 2) == ["running", "done"]
    run = wait_for(lambda: finished(demo, township, key))
    assert (run.status, run.attempts, t.CALLS[key]) == ("done", 1, 1)
    assert snapshots(demo, township, key) == 1
    # A delivery after the end finds it done.
    send_job(private_broker, "held_rebuild", township, key)
    assert _deliveries(key, 3)[-1] == "done" and t.CALLS[key] == 1


def test_a_run_that_lost_its_lease_leaves_no_result(demo: Any, townships: dict[str, int], held_clock: Any,
                                                   private_broker: Any, start_worker: Any) -> None:
    """The first run stalls past its lease (the held clock jumps): a redelivery takes the key
    over and finishes; when the stalled run ends, its claim is gone and nothing it did is kept."""
    held_clock.freeze(near_now(4, 30))
    township, key, gate = _first_run_held(townships, private_broker, start_worker)
    first_claim = job_row(demo, township, key).claimed_by
    held_clock.advance(timedelta(seconds=demo.job_lease_seconds * 2))
    send_job(private_broker, "held_rebuild", township, key)
    assert _deliveries(key, 1) == ["done"]  # the takeover ran and finished
    taken = job_row(demo, township, key)
    assert taken.claimed_by != first_claim and taken.attempts == 2
    gate.set()
    assert _deliveries(key, 2) == ["done", "running"]  # the stalled run found the key taken
    run = job_row(demo, township, key)
    assert (run.status, run.claimed_by, t.CALLS[key]) == ("done", taken.claimed_by, 2)
    assert snapshots(demo, township, key) == 1  # the work ran twice; its result exists once


def test_a_failed_run_is_retried_by_dramatiq_and_the_retry_claims_the_key(
        demo: Any, townships: dict[str, int], private_broker: Any, start_worker: Any) -> None:
    township, key = townships["DEMO-LG"], unique_key()
    t.FAIL_FIRST.add(key)
    start_worker(private_broker)
    send_job(private_broker, "held_rebuild", township, key)
    wait_for(lambda: (r := job_row(demo, township, key)) and r.status == "failed", what="the failed run")
    assert "the first run fails" in job_row(demo, township, key).error
    run = wait_for(lambda: (r := job_row(demo, township, key)) and r.status == "done" and r, what="the retry")
    assert (run.attempts, run.error, t.CALLS[key]) == (2, "", 2)
    assert snapshots(demo, township, key) == 1
