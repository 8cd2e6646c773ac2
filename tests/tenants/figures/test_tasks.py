"""The figures jobs on a real dramatiq worker: a rebuild after a change stores the periods
under way once per key; a school that has not submitted its month by the cut-off day is on the
township office's worklist until it submits."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import delete, func, select

from baoxue.platform.clock import CHINA, clock, school_year
from baoxue.platform.db import new_session, tenant_session
from baoxue.platform.jobs import record_job, township_context
from baoxue.tenants.figures import periods
from baoxue.tenants.figures.models import FigureSnapshot, MonthlyReport, PeriodCount
from baoxue.tenants.figures.reports import MISSING_KIND, do_submit_report, reconcile_reports
from baoxue.tenants.figures.tasks import rebuild_figures_key
from baoxue.tenants.worklist.models import WorkItem
from baoxue.workers.actors import actor_named
from baoxue.workers.dispatcher import send_job
from tests.tenants.status_changes.helpers import login_actor
from tests.workers.conftest import (  # noqa: F401 - the job tests' fixtures
    app_broker,
    finished,
    job_row,
    private_broker,
    start_worker,
    unique_key,
    wait_for,
)


def test_a_rebuild_after_a_change_runs_once_per_key(demo: Any, townships: dict[str, int], private_broker: Any,
                                                    app_broker: Any, start_worker: Any) -> None:  # noqa: F811
    from baoxue.tenants.figures.hooks import on_figures_moved

    app_broker(private_broker)
    start_worker(private_broker)
    township = townships["DEMO-BD"]
    what = unique_key("test")
    key = rebuild_figures_key("moved", f"{what}:1")
    session = new_session(township_context(township), demo)
    try:
        on_figures_moved(session, what=what, record_id=1)  # what a status change's action does
        on_figures_moved(session, what=what, record_id=1)  # told twice: one job
        session.commit()
    finally:
        session.close()
    send_job(private_broker, "rebuild_figures", township, key)  # the dispatcher's part
    run = wait_for(lambda: finished(demo, township, key), seconds=60)
    assert run.status == "done", run.error
    month = periods.current_month(clock.today()).key
    with tenant_session(township_context(township), demo) as s:
        if run.result.get("skipped"):
            # A rebuild of earlier tests' changes began after ours was sent: it counted this change
            # too (figures.tasks._covered). The change is not lost: that rebuild stored the periods.
            snapshot = s.scalars(select(FigureSnapshot.id).where(FigureSnapshot.computed_at > run.sent_at)
                                 .order_by(FigureSnapshot.id.desc()).limit(1)).one()
        else:
            assert month in run.result["periods"] and run.result["stored"] > 0
            snapshot = s.scalars(select(FigureSnapshot.id).where(FigureSnapshot.job_key == key)).one()  # one per job
        stored = set(s.scalars(select(PeriodCount.period).where(PeriodCount.snapshot_id == snapshot)))
        assert {month, f"ytd:{month}", periods.year_period(school_year(clock.today())).key} <= stored
        # Asked for again under its key: the same job, done; nothing is recorded again.
        assert record_job(s, township, "rebuild_figures", key)[1] is False
    send_job(private_broker, "rebuild_figures", township, key)  # delivered again: found done
    private_broker.join(actor_named("rebuild_figures").queue_name, timeout=20000)
    with tenant_session(township_context(township), demo) as s:
        assert s.scalar(select(func.count(FigureSnapshot.id)).where(FigureSnapshot.job_key == key)) == (
            0 if run.result.get("skipped") else 1)
        assert job_row(demo, township, key).attempts == 1


def test_a_school_missing_its_report_is_on_the_offices_list_until_it_submits(demo: Any,
                                                                            townships: dict[str, int]) -> None:
    township = townships["DEMO-BD"]
    month = periods.current_month(clock.today())
    session = new_session(township_context(township), demo)
    clock.freeze(datetime.combine(month.ends_on, time(12), tzinfo=CHINA))  # past the 28th of this month
    try:
        session.execute(delete(MonthlyReport).where(MonthlyReport.month == month.key))
        result = reconcile_reports(session)
        assert month.key in result["months"] and result["missing"] >= 1
        items = list(session.scalars(select(WorkItem).where(WorkItem.kind == MISSING_KIND,
                                                            WorkItem.closed_at.is_(None))))
        titles = [i.title for i in items]
        assert any("月报" in t and month.label in t for t in titles)
        assert all(i.owner_role == "office_staff" and i.owner_unit_kind == "township" for i in items)
        # The middle school submits: its item closes at once; the others stay.
        principal = login_actor(demo, "bd_mid_principal")
        from baoxue.platform.db import set_tenant

        set_tenant(session, principal.context())
        report = do_submit_report(session, principal, month.key)
        set_tenant(session, township_context(township))
        mine = session.scalars(select(WorkItem).where(WorkItem.subject_type == "monthly_reports",
                                                      WorkItem.subject_id == report.id)).all()
        assert mine and all(i.closed_at is not None for i in mine)
        again = reconcile_reports(session)  # the next day's check leaves it closed
        assert again["missing"] == result["missing"] - 1
    finally:
        session.rollback()
        session.close()
        clock.unfreeze()


def test_a_change_already_counted_by_a_later_rebuild_is_skipped(demo: Any, townships: dict[str, int]) -> None:
    """Sent before the latest rebuild began: that rebuild counted the change; sent after: it runs."""
    from datetime import timedelta

    from baoxue.platform.jobs import JobRun
    from baoxue.tenants.figures.tasks import rebuild

    township = townships["DEMO-BD"]
    session = new_session(township_context(township), demo)
    try:
        latest = session.scalar(select(func.max(FigureSnapshot.computed_at)))
        early, late = (rebuild_figures_key("moved", unique_key("test")) for _ in range(2))
        session.add_all([JobRun(township_id=township, key=early, actor="rebuild_figures", sent_at=latest - timedelta(
            seconds=1)), JobRun(township_id=township, key=late, actor="rebuild_figures",
                                sent_at=latest + timedelta(seconds=1))])
        session.flush()
        assert rebuild(session, early) == {"skipped": "covered by a later rebuild"}
        assert rebuild(session, late)["stored"] > 0
    finally:
        session.rollback()
        session.close()


def test_a_change_that_moves_the_figures_asks_for_a_rebuild(demo: Any, townships: dict[str, int]) -> None:
    """The acting concept tells the figures (`notify("figures_moved")`): graduating a grade asks
    for a rebuild keyed by the change, recorded when its transaction commits (here it rolls back:
    nothing is recorded)."""
    from baoxue.platform.jobs import JobRun
    from baoxue.tenants.figures.hooks import pending_rebuilds
    from baoxue.tenants.status_changes.service import do_graduate_grade

    principal = login_actor(demo, "bd_mid_principal")
    session = new_session(principal.context(), demo)
    try:
        result = do_graduate_grade(session, principal, principal.membership.unit_id, 9)
        assert result.graduated > 0
        assert [key.split(":")[0] for key in pending_rebuilds(session)] == ["graduation"]
    finally:
        session.rollback()
        session.close()
    session = new_session(principal.context(), demo)
    try:
        assert pending_rebuilds(session) == []  # a rolled-back transaction asked for nothing
        assert session.scalar(select(func.count(JobRun.id)).where(JobRun.key.like("figures:moved:graduation:%"))) == 0
    finally:
        session.close()
