"""Attendance's jobs on a real dramatiq worker: each asked for in a committed transaction, run
once per key; the hourly check puts a class not reported by the township's hour on its school's
academic office's list, and only at that hour."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import select

from baoxue.platform.clock import CHINA, clock
from baoxue.platform.db import new_session, tenant_session
from baoxue.platform.jobs import request_job, township_context
from baoxue.platform.permissions import Role
from baoxue.tenants.attendance import service
from baoxue.tenants.school_calendar.rules import rules_of
from baoxue.tenants.school_calendar.service import Calendar
from baoxue.tenants.worklist.models import WorkItem
from baoxue.tenants.worklist.service import items_for
from baoxue.workers.actors import actor_named
from baoxue.workers.dispatcher import send_job
from tests.tenants.status_changes.helpers import login_actor
from tests.workers.conftest import (  # noqa: F401 - the job tests' fixtures
    app_broker,
    finished,
    held_clock,
    job_row,
    private_broker,
    start_worker,
    unique_key,
    wait_for,
)


def _ask(settings: Any, township_id: int, actor: str, key: str) -> bool:
    """Ask for the job as a request would (sent after the commit); True when this made it."""
    session = new_session(township_context(township_id), settings)
    try:
        _run, created = request_job(session, township_id, actor, key)
        session.commit()
    finally:
        session.close()
    return created


def _run(settings: Any, township_id: int, actor: str, key: str) -> Any:
    assert _ask(settings, township_id, actor, key)
    run = wait_for(lambda: finished(settings, township_id, key))
    assert run.status == "done", run.error
    return run


def test_the_morning_escalation_runs_once_per_key(demo: Any, townships: dict[str, int], private_broker: Any,
                                                  app_broker: Any, start_worker: Any) -> None:  # noqa: F811
    app_broker(private_broker)
    worker = start_worker(private_broker)
    township = townships["DEMO-BD"]
    key = unique_key("attendance:escalate")
    run = _run(demo, township, "escalate_absences", key)
    assert set(run.result) == {"raised", "ended", "cases", "open_spells"}
    assert run.result["open_spells"] >= 1  # the demo's class teachers live their spells
    assert run.attempts == 1
    # Asked for again under its key: the same job, done; nothing is recorded or run again.
    assert _ask(demo, township, "escalate_absences", key) is False
    # Its message delivered again (a worker lost before its acknowledgement): found done, left be.
    send_job(private_broker, "escalate_absences", township, key)
    private_broker.join(actor_named("escalate_absences").queue_name, timeout=20000)
    worker.join()
    again = job_row(demo, township, key)
    assert (again.status, again.attempts, again.result, again.finished_at) == (
        "done", 1, run.result, run.finished_at)


def test_a_class_not_reported_by_the_townships_hour_is_on_the_academic_offices_list(
        demo: Any, townships: dict[str, int], held_clock: Any, private_broker: Any, app_broker: Any,
        start_worker: Any) -> None:  # noqa: F811
    app_broker(private_broker)
    start_worker(private_broker)
    township = townships["DEMO-BD"]
    academic, teacher = login_actor(demo, "bd_mid_academic"), login_actor(demo, "bd_mid_teacher")
    school_id, class_id = academic.membership.unit_id, teacher.membership.class_ids[0]
    with tenant_session(township_context(township), demo) as s:
        calendar, hour = Calendar.load(s), rules_of(s).report_by_hour
        # The "not reported" items there are now (the demo's, if its day had passed the hour).
        before = {i.id: (i.subject_id, i.title, i.href, i.due_on, i.shows_from) for i in s.scalars(
            select(WorkItem).where(WorkItem.subject_type == service.UNREPORTED, WorkItem.closed_at.is_(None)))}
    day = calendar.after(school_id, clock.today(), 1)  # the next school day: no class has reported it yet
    href = f"/attendance/classes/{class_id}/{day.isoformat()}"

    def flag(at: time, key_hour: int) -> Any:
        held_clock.freeze(datetime.combine(day, at, CHINA))
        return _run(demo, township, "flag_unreported_classes", f"{unique_key('attendance:unreported')}:{key_hour:02d}")

    def on_the_list(office: Any = academic) -> dict[str, WorkItem]:
        with tenant_session(township_context(township), demo) as s:
            found = {i.href: i for i in items_for(s, office).today if i.kind == "attendance:unreported"}
            s.expunge_all()
            return found

    try:
        # Before the hour, and another hour's run: nothing is flagged.
        early = flag(time(hour - 1, 30), hour)
        assert early.result == {"flagged": 0, "skipped": "not this township's hour"}
        other = flag(time(hour + 1, 30), hour + 1)
        assert other.result["flagged"] == 0 and "skipped" in other.result
        assert href not in on_the_list()

        # The township's hour has passed and the class has not reported: its school's office sees it.
        run = flag(time(hour, 30), hour)
        assert run.result["day"] == day.isoformat() and run.result["flagged"] >= 1
        listed = on_the_list()
        item = listed[href]
        assert (item.due_on, item.owner_unit_id, item.owner_role) == (day, school_id, Role.ACADEMIC_OFFICE.value)
        assert "到校日报告未提交" in item.title and f"{day:%m月%d日}" in item.title
        # Another school's class is on that school's office's list, not this one's.
        cps = login_actor(demo, "bd_cps_teacher").membership.class_ids[0]
        cps_href = f"/attendance/classes/{cps}/{day.isoformat()}"
        assert cps_href not in listed and cps_href in on_the_list(login_actor(demo, "bd_cps_academic"))
        assert run.attempts == 1 and job_row(demo, township, run.key).result == run.result

        # The class reports: its item closes in the same transaction (rolled back here).
        session = new_session(teacher.context(), demo)
        try:
            service.do_save_class_day(session, teacher, class_id, day, {})
            closed = session.scalars(select(WorkItem.closed_at).where(WorkItem.id == item.id)).one()
            assert closed is not None
        finally:
            session.rollback()
            session.close()
    finally:
        held_clock.unfreeze()
        _put_back(demo, township, before)


def _put_back(settings: Any, township_id: int, before: dict[int, tuple[Any, ...]]) -> None:
    """The "not reported" items as they were: the test's closed, the moved ones moved back."""
    with tenant_session(township_context(township_id), settings) as s:
        for item in s.scalars(select(WorkItem).where(WorkItem.subject_type == service.UNREPORTED,
                                                     WorkItem.closed_at.is_(None))):
            if item.id in before:
                _subject, item.title, item.href, item.due_on, item.shows_from = before[item.id]
            else:
                item.closed_at = clock.now()
