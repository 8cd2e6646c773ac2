"""The dead-letter list: a job the workers gave up on is listed for the system administrator with
its error, and 重试 queues it again under its key: a real worker then finishes it, once."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.clock import clock
from baoxue.platform.db import cross_township_session
from baoxue.platform.jobs import FAILED, JobRun
from tests.pages import csrf_token
from tests.workers.conftest import (  # noqa: F401 - the job tests' fixtures
    app_broker,
    finished,
    job_row,
    private_broker,
    start_worker,
    wait_for,
)


def _failed_job(demo: Any, township: int) -> tuple[int, str]:
    """A day's tasks job that failed on every delivery (the database was away, say)."""
    key = f"tasks:daily:test-{uuid.uuid4().hex[:8]}:{clock.today().isoformat()}"
    with cross_township_session("tests: a failed job", demo) as s:
        run = JobRun(township_id=township, key=key, actor="tasks_daily", status=FAILED, attempts=4,
                     error="OperationalError: connection refused\n(traceback)")
        s.add(run)
        s.flush()
        return run.id, key


def test_a_job_the_workers_gave_up_on_is_listed_and_retried_once(
        demo: Any, persona: Any, signed_in: Any, townships: dict[str, int], private_broker: Any, app_broker: Any,
        start_worker: Any) -> None:  # noqa: F811
    township = townships["DEMO-LG"]
    job_id, key = _failed_job(demo, township)
    admin = signed_in("lg_admin")
    listed = admin.get("/admin/jobs")
    assert listed.status_code == 200 and "已停止自动重试" in listed.text and "OperationalError" in listed.text
    assert "(traceback)" not in listed.text  # the first line says why; the trace is for the logs
    assert persona("lg_office").get("/api/admin/jobs").status_code == 403
    assert persona("bd_admin").post(f"/api/admin/jobs/{job_id}/retry").status_code == 404  # another township's

    app_broker(private_broker)
    start_worker(private_broker)
    retried = admin.post(f"/admin/jobs/{job_id}/retry", data={"_csrf_token": csrf_token(listed.text)},
                         follow_redirects=False)
    assert retried.status_code == 303
    run = wait_for(lambda: finished(demo, township, key), seconds=30)
    assert run.status == "done" and run.attempts == 5, run.error
    assert persona("lg_admin").post(f"/api/admin/jobs/{job_id}/retry").status_code == 409  # done: nothing to retry
    assert job_id not in [j["id"] for j in persona("lg_admin").get("/api/admin/jobs").json()]
    with cross_township_session("tests: the retry on the record", demo) as s:
        (changes,) = s.scalars(select(AuditEvent.changes).where(AuditEvent.event == "jobs:job:retried",
                                                                AuditEvent.entity_id == str(job_id))).all()
    assert changes["key"] == key and changes["attempts"] == 4
