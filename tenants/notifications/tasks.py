"""The notifications' jobs: delivering one notification outside the page, and the daily sweep
that tells the owners of worklist items that fell overdue."""

from __future__ import annotations

from datetime import date

from baoxue.platform.jobs import Schedule, run_once
from baoxue.workers.actors import actor

OVERDUE_HOUR = 7  # China's morning: what fell overdue yesterday is told before the day's work


def deliver_key(notification_id: int) -> str:
    return f"notifications:deliver:{notification_id}"


@actor
def deliver_notification(township_id: int, key: str) -> None:
    """Send one notification's queued deliveries; a transient failure raises, so dramatiq retries
    it with the actors' backoff, and what was sent stays sent (delivery.deliver)."""
    from baoxue.tenants.notifications.delivery import deliver

    notification_id = int(key.rsplit(":", 1)[1])
    run_once(township_id, key, "deliver_notification", lambda session: deliver(session, notification_id))


def overdue_key(day: date) -> str:
    return f"notifications:overdue:{day.isoformat()}"


@actor
def notify_overdue(township_id: int, key: str) -> None:
    from baoxue.tenants.notifications.service import notify_overdue as sweep

    run_once(township_id, key, "notify_overdue", lambda session: {"notified": sweep(session)})


actors = [deliver_notification, notify_overdue]
schedules = [Schedule(name="notifications:overdue", actor="notify_overdue", key=overdue_key, hour=OVERDUE_HOUR,
                      label="逾期事项通知")]
