"""The scheduler: ticks on a controlled clock, two schedulers at once, a database that is down."""

import logging
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from baoxue.platform.db import cross_township_session, engine_for
from baoxue.platform.jobs import JobRun, Schedule
from baoxue.tenants.figures.tasks import schedules as figures_schedules
from baoxue.workers.scheduler import run_scheduler, safe_tick, tick
from tests.workers import jobs_for_tests as t
from tests.platform.tcp_proxy import TcpProxy
from tests.workers.conftest import finished, free_port, snapshots, unique_key, wait_for


def _rows(settings: Any, key: str) -> dict[int, int]:
    """{township id: number of job_runs rows} for a key, across townships."""
    with cross_township_session("tests: count job rows", settings) as session:
        return dict(session.execute(select(JobRun.township_id, func.count()).where(JobRun.key == key)
                                    .group_by(JobRun.township_id)).all())


def _townships(settings: Any) -> list[int]:
    from baoxue.tenants.tenancy.models import Township

    with cross_township_session("tests: townships", settings) as session:
        return list(session.scalars(select(Township.id)))


def _slow_schedule() -> Schedule:
    prefix = unique_key("test:nightly")
    return Schedule(name="test:slow", actor="held_rebuild", key=lambda day: f"{prefix}:{day.isoformat()}", hour=2)


def test_two_schedulers_at_once_make_one_job_per_township(demo: Any, private_broker: Any,
                                                          start_worker: Any) -> None:
    schedule = _slow_schedule()
    start_worker(private_broker, threads=4)
    now = datetime(2030, 3, 4, 19, 0, tzinfo=UTC)  # 03:00 on the 5th in China
    key = schedule.key_at(now)
    assert key.endswith(":2030-03-05")
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def scheduler() -> None:
        try:
            start.wait()
            for minutes in (0, 1, 2):  # rounds of the same period while the slow jobs run
                tick(now + timedelta(minutes=minutes), settings=demo, broker=private_broker, schedules=[schedule])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    townships = _townships(demo)
    for township in townships:
        run = wait_for(lambda: finished(demo, township, key))  # noqa: B023 - called at once
        assert run.status == "done", run.error
        assert snapshots(demo, township, key) == 1
    assert _rows(demo, key) == {township: 1 for township in townships}
    assert t.CALLS[key] == len(townships)  # the work ran once per township, not once per scheduler


def test_a_tick_with_the_database_down_is_logged_and_the_next_one_catches_up(
        demo: Any, private_broker: Any, start_worker: Any, caplog: pytest.LogCaptureFixture) -> None:
    nightly = figures_schedules[0]
    dead = replace(demo, database_url="postgresql+psycopg://nobody@127.0.0.1:%d/none" % free_port(),
                   database_admin_url="postgresql+psycopg://nobody@127.0.0.1:%d/none" % free_port())
    night = datetime(2030, 6, 1, 18, 5, tzinfo=UTC)  # 02:05 on 2 June in China: the night's job is due
    key = nightly.key_at(night)
    assert key == "figures:nightly:2030-06-02"
    with caplog.at_level(logging.ERROR, logger="baoxue.scheduler"):
        assert safe_tick(night, settings=dead, broker=private_broker, schedules=[nightly]) is False
    assert "scheduler tick failed" in caplog.text
    assert _rows(demo, key) == {}
    # The database is back at 09:00: the missed night is recorded and run, once per township.
    start_worker(private_broker)
    assert safe_tick(night + timedelta(hours=7), settings=demo, broker=private_broker, schedules=[nightly]) is True
    townships = _townships(demo)
    for township in townships:
        run = wait_for(lambda: finished(demo, township, key))  # noqa: B023 - called at once
        assert run.status == "done", run.error
    # Later rounds of the same period record nothing and send nothing.
    assert tick(night + timedelta(hours=8), settings=demo, broker=private_broker, schedules=[nightly]) == (0, 0)
    assert _rows(demo, key) == {township: 1 for township in townships}


@pytest.mark.postgres_only
def test_the_scheduler_loop_outlives_a_database_outage(demo: Any, held_clock: Any,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """`run_scheduler` itself, with PostgreSQL unreachable behind a proxy, then reachable again."""
    proxy = TcpProxy("127.0.0.1", make_url(demo.migration_database_url).port or 5432)
    through = replace(demo, **{name: make_url(getattr(demo, name)).set(port=proxy.port)
                               .render_as_string(hide_password=False)
                               for name in ("database_url", "database_admin_url")})
    night = datetime(2030, 9, 9, 20, 0, tzinfo=UTC)  # 04:00 on 10 September in China
    held_clock.freeze(night)
    key = figures_schedules[0].key_at(night)
    stop = threading.Event()
    loop = threading.Thread(target=run_scheduler, kwargs={"interval": 0.05, "settings": through, "stop": stop})
    with caplog.at_level(logging.ERROR, logger="baoxue.scheduler"):
        loop.start()
        try:
            wait_for(lambda: caplog.text.count("scheduler tick failed") >= 2, what="failed ticks")
            assert loop.is_alive()
            proxy.start()
            townships = _townships(demo)
            wait_for(lambda: _rows(demo, key) == {township: 1 for township in townships}, what="the caught-up jobs")
        finally:
            stop.set()
            loop.join(10)
            proxy.stop()
            for url in (through.effective_database_url, through.migration_database_url):
                engine_for(url).dispose()
    assert not loop.is_alive()
