"""The tasks' daily job on a real worker: a recurring template makes exactly one task for its
period however often the scheduler ticks, restarts or catches up; two workers at once make one."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from baoxue.platform.clock import CHINA, clock, utcnow
from baoxue.platform.db import cross_township_session, tenant_session
from baoxue.platform.jobs import Schedule, township_context
from baoxue.tenants.tasks import service
from baoxue.tenants.tasks.models import Task, TaskCopy, TaskTemplate
from baoxue.tenants.worklist.models import WorkItem
from baoxue.workers.scheduler import tick
from tests.tenants.status_changes.helpers import login_actor
from tests.tenants.tasks.helpers import village_key
from tests.workers.conftest import (  # noqa: F401 - the job tests' fixtures
    finished,
    private_broker,
    start_worker,
    wait_for,
)


def _template(demo: Any, township: int, day: int) -> int:
    office = login_actor(demo, "lg_office")
    with tenant_session(office.context(), demo) as s:
        return service.do_save_template(s, office, {
            "title": f"测试月报 {uuid.uuid4().hex[:6]}", "recurrence": "monthly", "day_of_month": str(day),
            "deadline_days": "5", "evidence": ["note"], "assignees": [village_key(demo, "lg_village1")],
            "active": "1"}).id


def _made(demo: Any, template_id: int) -> list[tuple[int, str]]:
    with cross_township_session("tests: a template's tasks", demo) as s:
        return [(i, p) for i, p in s.execute(select(Task.id, Task.period).where(Task.template_id == template_id))]


def _forget(demo: Any, template_id: int) -> None:
    """Leave the demo as it was: the template off, its tasks and their items gone."""
    with cross_township_session("tests: forget a template", demo) as s:
        copies = list(s.scalars(select(TaskCopy.id).where(TaskCopy.task_id.in_(
            select(Task.id).where(Task.template_id == template_id)))))
        s.execute(update(WorkItem).where(WorkItem.subject_type == service.SUBJECT, WorkItem.subject_id.in_(copies))
                  .values(closed_at=utcnow()))
        s.execute(delete(Task).where(Task.template_id == template_id))
        s.execute(update(TaskTemplate).where(TaskTemplate.id == template_id).values(active=False))


def test_a_template_makes_one_task_per_period_across_ticks_restarts_and_catching_up(
        demo: Any, townships: dict[str, int], private_broker: Any, start_worker: Any) -> None:  # noqa: F811
    township = townships["DEMO-LG"]
    now = utcnow()
    if now.astimezone(CHINA).hour < 6:
        now += timedelta(hours=7)  # the job's day begins at 06:00 China time
    today = now.astimezone(CHINA).date()
    template_id = _template(demo, township, min(today.day, 28))
    prefix = f"tasks:daily:test-{uuid.uuid4().hex[:8]}"
    schedule = Schedule(name="tasks:daily:test", actor="tasks_daily", key=lambda day: f"{prefix}:{day.isoformat()}",
                        hour=6)
    start_worker(private_broker, threads=2)
    try:
        for minutes in (0, 5):  # a tick, and another of the same day (a restarted scheduler)
            tick(now + timedelta(minutes=minutes), settings=demo, broker=private_broker, schedules=[schedule])
        first = wait_for(lambda: finished(demo, township, schedule.key_at(now)), seconds=30)
        assert first.status == "done", first.error
        made = _made(demo, template_id)
        assert [p for _, p in made] == [f"{today:%Y-%m}"] and first.result["created"] == [made[0][0]]
        # The next day's tick (a scheduler back after a night down): a new job, no second task.
        later = now + timedelta(days=1)
        tick(later, settings=demo, broker=private_broker, schedules=[schedule])
        second = wait_for(lambda: finished(demo, township, schedule.key_at(later)), seconds=30)
        assert second.status == "done", second.error
        assert second.result["created"] == [] and _made(demo, template_id) == made
    finally:
        _forget(demo, template_id)


def test_two_workers_at_once_make_one_task(demo: Any, townships: dict[str, int]) -> None:
    township = townships["DEMO-LG"]
    today = clock.today()
    template_id = _template(demo, township, min(today.day, 28))
    barrier, made, errors = threading.Barrier(2), [], []

    def work() -> None:
        try:
            with tenant_session(township_context(township), demo) as session:
                barrier.wait(timeout=10)
                made.append(service.create_recurring(session, today))
        except Exception as failed:  # noqa: BLE001 - reported below
            errors.append(repr(failed))

    threads = [threading.Thread(target=work) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert len(_made(demo, template_id)) == 1
        assert sorted(len(m) for m in made) == [0, 1]
    finally:
        _forget(demo, template_id)
