"""The job path end to end: a request queues a job after commit, a real worker runs it once."""

import time
from typing import Any

from sqlalchemy import func, select

from baoxue.platform.db import TenantContext, new_session
from baoxue.platform.jobs import JobRun, run_once, send_after_commit, township_context
from baoxue.tenants.figures.models import FigureSnapshot


def _wait_for(predicate: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the job")


def _job(settings: Any, township_id: int, key: str) -> JobRun | None:
    session = new_session(township_context(township_id), settings)
    try:
        return session.scalars(select(JobRun).where(JobRun.key == key)).first()
    finally:
        session.close()


def test_rebuild_through_the_api_runs_on_a_real_worker(persona: Any, worker: Any, demo: Any,
                                                       townships: dict[str, int]) -> None:
    office = persona("bd_office")
    r = office.post("/api/figures/rebuild")
    assert r.status_code == 202, r.text
    key = r.json()["key"]
    run = _wait_for(lambda: (j := _job(demo, townships["DEMO-BD"], key)) and j.status in ("done", "failed") and j)
    assert run.status == "done", run.error
    figures = office.get("/api/figures/enrolment").json()
    assert figures["data"]["total"] == run.result["total"] > 1500
    assert sum(figures["data"]["by_school"].values()) == figures["data"]["total"]
    assert "龙岗" not in str(figures["data"])  # the other township's schools never appear
    # A second click in the same minute is the same job: nothing new is queued.
    again = office.post("/api/figures/rebuild").json()
    assert again["key"] == key


def test_run_once_is_idempotent_by_key(demo: Any, townships: dict[str, int]) -> None:
    from baoxue.tenants.figures.service import rebuild_enrolment_figures

    township = townships["DEMO-LG"]
    key = f"figures:test:{time.time_ns()}"
    calls = []

    def work(session: Any) -> dict[str, Any]:
        calls.append(1)
        return rebuild_enrolment_figures(session, key)

    assert run_once(township, key, "rebuild_figures", work) == "done"
    assert run_once(township, key, "rebuild_figures", work) == "done"
    assert len(calls) == 1
    session = new_session(township_context(township), demo)
    try:
        count = session.scalar(select(func.count(FigureSnapshot.id)).where(FigureSnapshot.job_key == key))
    finally:
        session.close()
    assert count == 1


def test_a_job_is_sent_only_if_the_transaction_commits(demo: Any) -> None:
    sent: list[tuple[Any, ...]] = []

    class Recorder:
        def send(self, *args: Any) -> None:
            sent.append(args)

    session = new_session(TenantContext(), demo)
    send_after_commit(session, Recorder(), 1, "rolled-back")
    session.rollback()
    session.close()
    session = new_session(TenantContext(), demo)
    send_after_commit(session, Recorder(), 1, "committed")
    session.commit()
    session.close()
    assert sent == [(1, "committed")]


def test_scheduler_sends_one_nightly_job_per_township(demo: Any, worker: Any, townships: dict[str, int]) -> None:
    from baoxue.workers.scheduler import due_jobs, send_due

    due = due_jobs()
    assert {t for _, t, _ in due} >= set(townships.values())  # other tests may add townships
    assert send_due() == len(due)
    for _, township, key in due:
        run = _wait_for(lambda: (j := _job(demo, township, key)) and j.status == "done" and j)
        if township in townships.values():
            assert run.result["total"] > 1500  # the demo townships have their students counted
