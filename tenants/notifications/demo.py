"""The demo's notifications, made by the real emitters: the concepts seeded before this one told
their people through `send` as their stories went (a referral ticket's department and referrer, a
child back at school), and here the overdue sweep runs over the work they left, each morning of
the past week. The older half of what each person was told was read a little after it came, so
the demo logins show read and unread lines; a concept seeded later (tasks) adds unread ones."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from baoxue.platform.clock import CHINA, clock
from baoxue.platform.demo import DemoContext, as_township
from baoxue.tenants.notifications.models import Notification
from baoxue.tenants.notifications.service import notify_overdue
from baoxue.tenants.notifications.tasks import OVERDUE_HOUR

SWEEPS = 7  # mornings of overdue sweeps the demo has had (each item is told the morning after its day)


def seed(demo: DemoContext) -> None:
    with clock.kept() as start:
        for seeded in demo.state["tenancy"].values():
            _seed_township(demo, seeded.township.id, start)


def _seed_township(demo: DemoContext, township_id: int, start: datetime) -> None:
    session, rng = demo.session, demo.rng
    today = start.astimezone(CHINA).date()
    with as_township(session, township_id):
        for days_ago in range(SWEEPS - 1, -1, -1):  # each morning's sweep, as the job ran it
            morning = datetime.combine(today - timedelta(days=days_ago), time(OVERDUE_HOUR), tzinfo=CHINA)
            clock.freeze(min(morning, start))
            notify_overdue(session)
        told: dict[int, list[Notification]] = {}
        for n in session.scalars(select(Notification).order_by(Notification.created_at, Notification.id)):
            told.setdefault(n.membership_id, []).append(n)
        for rows in told.values():
            for n in rows[: len(rows) // 2]:  # the older half read within the hour
                if n.read_at is None:
                    n.read_at = min(n.created_at + timedelta(minutes=rng.randint(5, 55)), start)
