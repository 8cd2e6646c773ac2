"""The comparison's job on a real dramatiq worker: asked for in a committed transaction, run once per key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from baoxue.platform.db import cross_township_session, new_session
from baoxue.platform.jobs import request_job, township_context
from baoxue.tenants.census.models import CensusRun
from tests.workers.conftest import app_broker, finished, private_broker, start_worker, unique_key, wait_for  # noqa: F401


def _runs(settings: Any, key: str) -> int:
    with cross_township_session("tests: census runs", settings) as s:
        return s.scalar(select(func.count(CensusRun.id)).where(CensusRun.job_key == key)) or 0


def test_the_comparison_runs_once_per_key_on_a_worker(demo: Any, townships: dict[str, int], private_broker: Any,
                                                      app_broker: Any, start_worker: Any) -> None:  # noqa: F811
    app_broker(private_broker)
    start_worker(private_broker)
    township = townships["DEMO-BD"]
    key = unique_key("census:asked")
    for _ in range(2):  # asked twice (a double click, a second scheduler): one job, one run
        session = new_session(township_context(township), demo)
        request_job(session, township, "reconcile_census", key)
        session.commit()
        session.close()
    run = wait_for(lambda: finished(demo, township, key))
    assert run.status == "done", run.error
    assert _runs(demo, key) == 1
    assert run.result["listed"] > 0 and run.result["nowhere"] >= 1
