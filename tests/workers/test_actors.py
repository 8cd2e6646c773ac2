"""The job path end to end: a request records a job, a real worker runs it once; keys by China's clock."""

import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.db import new_session, tenant_session
from baoxue.platform.jobs import Schedule, request_job, township_context
from baoxue.tenants.figures.tasks import rebuild_figures_key, schedules
from tests.workers import jobs_for_tests as t
from tests.workers.conftest import finished, job_row, near_now, snapshots, unique_key, wait_for


def test_rebuild_through_the_api_runs_on_a_real_worker(persona: Any, demo: Any, held_clock: Any,
                                                       townships: dict[str, int], private_broker: Any,
                                                       app_broker: Any, start_worker: Any) -> None:
    app_broker(private_broker)  # the request's send, after its commit, goes to this test's worker
    start_worker(private_broker)
    # 16:31 UTC is 00:31 the next day in China: the job is named by China's date and minute.
    at = near_now(16, 31)
    held_clock.freeze(at)
    office = persona("bd_office")
    r = office.post("/api/figures/rebuild")
    assert r.status_code == 202, r.text
    key = r.json()["key"]
    china = datetime.fromtimestamp(at.timestamp() + 8 * 3600, UTC)
    assert key == f"figures:manual:{china:%Y%m%dT0031}" == rebuild_figures_key("manual", at)
    township = townships["DEMO-BD"]
    run = wait_for(lambda: finished(demo, township, key))
    assert run.status == "done", run.error
    figures = office.get("/api/figures/enrolment").json()
    assert figures["data"]["total"] == run.result["total"] > 1500
    assert sum(figures["data"]["by_school"].values()) == figures["data"]["total"]
    assert "龙岗" not in str(figures["data"])  # the other township's schools never appear
    # A second click in the same minute is the same job: nothing new is recorded or run.
    again = office.post("/api/figures/rebuild")
    assert again.status_code == 202 and again.json() == {"key": key, "status": "done"}
    assert snapshots(demo, township, key) == 1
    with tenant_session(township_context(township), demo) as session:
        audited = session.scalars(select(AuditEvent.entity_id).where(AuditEvent.entity_id == key)).all()
    assert audited == [key]


def test_keys_by_period_use_chinas_calendar() -> None:
    nightly: Schedule = schedules[0]
    assert nightly.hour == 2
    # 17:59 UTC on the 25th is 01:59 on the 26th in China: the 26th's night has not come yet.
    assert nightly.key_at(datetime(2026, 11, 25, 17, 59, tzinfo=UTC)) == "figures:nightly:2026-11-25"
    assert nightly.key_at(datetime(2026, 11, 25, 18, 0, tzinfo=UTC)) == "figures:nightly:2026-11-26"
    assert nightly.key(date(2026, 11, 26)) == rebuild_figures_key("nightly", datetime(2026, 11, 26, 1, tzinfo=UTC))
    assert rebuild_figures_key("manual", datetime(2026, 11, 25, 23, 5, tzinfo=UTC)) == "figures:manual:20261126T0705"


def test_a_job_asked_for_in_a_rolled_back_transaction_is_neither_recorded_nor_sent(
        demo: Any, townships: dict[str, int], private_broker: Any, app_broker: Any, start_worker: Any) -> None:
    app_broker(private_broker)
    start_worker(private_broker)
    township, dropped, kept = townships["DEMO-LG"], unique_key(), unique_key()
    for key, commit in ((dropped, False), (kept, True)):
        session = new_session(township_context(township), demo)
        run, created = request_job(session, township, "held_rebuild", key)
        assert created and run.status == "queued"
        session.commit() if commit else session.rollback()
        session.close()
    run = wait_for(lambda: finished(demo, township, kept))
    assert run.status == "done" and run.sent_at is not None
    assert job_row(demo, township, dropped) is None
    assert t.DELIVERIES[dropped] == [] and t.DELIVERIES[kept] == ["done"]


def test_a_savepoint_released_inside_the_request_sends_nothing_before_the_commit(
        demo: Any, townships: dict[str, int], private_broker: Any, app_broker: Any, start_worker: Any) -> None:
    """A send at a savepoint's release would update the job's row from another connection while
    this transaction still holds it uncommitted: it waits, and the request with it."""
    from baoxue.platform.jobs import _OUTGOING

    app_broker(private_broker)
    start_worker(private_broker)
    township, key = townships["DEMO-LG"], unique_key()
    session = new_session(township_context(township), demo)
    try:
        request_job(session, township, "held_rebuild", key)
        with session.begin_nested():  # a later action's savepoint, released
            pass
        assert [sent[-1] for sent in session.info.get(_OUTGOING, [])] == [key]  # still to send
        assert t.DELIVERIES[key] == []
        session.commit()
    finally:
        session.close()
    run = wait_for(lambda: finished(demo, township, key))
    assert run.status == "done" and run.sent_at is not None and t.DELIVERIES[key] == ["done"]


@pytest.mark.postgres_only
def test_two_requests_of_one_key_at_once_both_succeed(demo: Any, townships: dict[str, int], private_broker: Any,
                                                       app_broker: Any, start_worker: Any) -> None:
    """The second insert waits for the first transaction, then finds its row: one job, no error."""
    app_broker(private_broker)
    township, key = townships["DEMO-LG"], unique_key()
    first = new_session(township_context(township), demo)
    request_job(first, township, "held_rebuild", key)  # inserted, not yet committed
    answers: list[Any] = []

    def second() -> None:
        session = new_session(township_context(township), demo)
        try:
            answers.append(request_job(session, township, "held_rebuild", key)[1])
            session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            answers.append(exc)
        finally:
            session.close()

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # waiting for the first transaction's row lock
    first.commit()
    first.close()
    thread.join(10)
    assert answers == [False]  # not created again, and no error
    start_worker(private_broker)
    assert wait_for(lambda: finished(demo, township, key)).status == "done"
    assert t.CALLS[key] == 1 and snapshots(demo, township, key) == 1
