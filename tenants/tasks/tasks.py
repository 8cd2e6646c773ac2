"""Tasks' daily job: this period's tasks of the recurring templates, and the reminders before a
deadline. One job per township and China's day; the templates' periods make it idempotent."""

from __future__ import annotations

from datetime import date
from typing import Any

from baoxue.platform.jobs import Schedule, run_once
from baoxue.workers.actors import actor


def daily_key(day: date) -> str:
    """'tasks:daily:2027-03-01': one a day."""
    return f"tasks:daily:{day.isoformat()}"


def daily(session: Any, key: str) -> dict[str, Any]:
    from baoxue.tenants.tasks.service import create_recurring, send_reminders

    today = date.fromisoformat(key.rsplit(":", 1)[1])
    made = create_recurring(session, today)
    return {"created": made, "reminded": send_reminders(session, today)}


@actor
def tasks_daily(township_id: int, key: str) -> None:
    run_once(township_id, key, "tasks_daily", lambda session: daily(session, key))


actors = [tasks_daily]
schedules = [Schedule(name="tasks:daily", actor="tasks_daily", key=daily_key, hour=6,
                      label="每日任务（周期性任务、到期提醒）")]
