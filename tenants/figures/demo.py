"""The figures of the demo townships: the school year so far, and the schools' monthly reports.

The figures are computed as the nightly job computes them, after every other concept's story
(status changes, cases, attendance) has been told. Every school submitted each month of the
school year before the last on time; last month the central school and the primary schools
submitted before the cut-off day, the middle school three days after it (late). This month's
reports are not due yet (or, past the cut-off day, the office's worklist names who is missing).
The middle and central schools' principals submit through the service; the primary schools
(no demo logins) are written as the service would freeze them.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from baoxue.platform.clock import CHINA, clock, school_year
from baoxue.platform.demo import DemoContext, acting, as_township
from baoxue.platform.permissions import Role
from baoxue.tenants.figures import periods
from baoxue.tenants.figures.models import MonthlyReport
from baoxue.tenants.figures.reports import do_submit_report, due_on, live_table, reconcile_reports
from baoxue.tenants.figures.service import rebuild
from baoxue.tenants.figures.settings import settings_of
from baoxue.tenants.tenancy.demo import demo_actors

LOGINS = {"mid_principal": Role.PRINCIPAL, "cps_principal": Role.PRINCIPAL}
LATE_DAYS = 3


def seed(demo: DemoContext) -> None:
    with clock.kept() as start:
        for seeded in demo.state["tenancy"].values():
            _seed_township(demo, seeded, start)


def _seed_township(demo: DemoContext, seeded: object, start: datetime) -> None:
    session, rng = demo.session, demo.rng
    township_id = seeded.township.id  # type: ignore[attr-defined]
    today = start.astimezone(CHINA).date()
    key = f"figures:nightly:{today.isoformat()}"
    with as_township(session, township_id):
        clock.freeze(start)
        rebuild(session, key, periods.stored_nightly(session, today))
        cutoff = settings_of(session).report_cutoff_day
    actors = demo_actors(session, seeded, LOGINS)
    by_school = {actors[login].membership.unit_id: actors[login] for login in LOGINS if login in actors}
    current = periods.current_month(today)
    months = [m for m in periods.months_of_year(school_year(today), today) if due_on(m, cutoff) < today
              and m != current]  # this month's reports are the schools' to submit
    previous = periods.previous_month(current)
    if previous not in months and due_on(previous, cutoff) < today:
        months.insert(0, previous)
    middle = seeded.schools.get("mid")  # type: ignore[attr-defined]
    for month in months:
        for school in seeded.schools.values():  # type: ignore[attr-defined]
            late = month == previous and middle is not None and school.id == middle.id
            day = due_on(month, cutoff) + (timedelta(days=LATE_DAYS) if late else -timedelta(days=rng.randint(0, 5)))
            moment = min(datetime.combine(min(day, today), time(16, rng.randint(0, 59)), tzinfo=CHINA), start)
            actor = by_school.get(school.id)
            if actor is not None:
                with acting(session, actor, moment) as acted:
                    do_submit_report(session, acted, month.key)
                continue
            with as_township(session, township_id):
                table = live_table(session, month, school.id)
                table.unit = school.name
                session.add(MonthlyReport(township_id=township_id, school_id=school.id, month=month.key,
                                          rows=table.frozen(), submitted_at=moment,
                                          submitter_name=f"{school.name}教导处"))
    with as_township(session, township_id):
        clock.freeze(start)
        reconcile_reports(session)
