"""An actor for the job tests: the real `run_once` around the real figures rebuild, which a test
can hold (a gate) or slow down. Imported by the tests and by the worker subprocesses they start.

`BAOXUE_TEST_JOB_SLEEP` (seconds, default 0.3) is how long each run works after computing; a
subprocess worker that is to be killed mid-job gets a long one.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy.orm import Session

from baoxue.platform.jobs import run_once
from baoxue.tenants.figures.service import rebuild_enrolment_figures
from baoxue.workers.actors import actor

SLEEP_SECONDS = float(os.environ.get("BAOXUE_TEST_JOB_SLEEP", "0.3"))
CALLS: Counter[str] = Counter()  # how many times the work began, per key (this process)
DELIVERIES: defaultdict[str, list[str]] = defaultdict(list)  # what run_once answered, per key
GATES: dict[str, threading.Event] = {}  # the first run of such a key waits for its gate
FAIL_FIRST: set[str] = set()  # the first run of such a key raises
_lock = threading.Lock()


def _work(key: str) -> Any:
    def work(session: Session) -> dict[str, Any]:
        with _lock:
            CALLS[key] += 1
            first = CALLS[key] == 1
        gate = GATES.get(key)
        if gate is not None and first:
            gate.wait(30)  # before any write: a held run holds no lock another run would wait on
        if first and key in FAIL_FIRST:
            raise RuntimeError("the first run fails")
        time.sleep(SLEEP_SECONDS)
        return rebuild_enrolment_figures(session, key)  # committed with "done", or not at all

    return work


@actor
def held_rebuild(township_id: int, key: str) -> None:
    status = run_once(township_id, key, "held_rebuild", _work(key))
    with _lock:
        DELIVERIES[key].append(status)
