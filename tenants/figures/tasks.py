"""The figures concept's jobs: the rebuild actor, its keys and its nightly schedule; the daily
check of the schools' monthly reports."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from baoxue.platform.clock import CHINA
from baoxue.platform.jobs import Schedule, run_once
from baoxue.tenants.figures import periods
from baoxue.tenants.figures import service
from baoxue.workers.actors import actor


def rebuild_figures_key(kind: str, when: date | datetime | str) -> str:
    """The one place rebuild keys are made, by China's calendar and clock:
    'figures:nightly:2026-11-25' (one a day), 'figures:manual:20261125T0930' (one a minute:
    a double click is one job), 'figures:moved:status_change:812' (one per change that moves
    the figures: the same change told twice is one job)."""
    if kind == "nightly" and not isinstance(when, str):
        day = when.astimezone(CHINA).date() if isinstance(when, datetime) else when
        return f"figures:nightly:{day.isoformat()}"
    if kind == "manual" and isinstance(when, datetime):
        return f"figures:manual:{when.astimezone(CHINA):%Y%m%dT%H%M}"
    if kind == "moved" and isinstance(when, str) and when:
        return f"figures:moved:{when}"[:120]
    raise ValueError(f"no rebuild key for {kind!r} at {when!r}")


def rebuild(session: Session, key: str) -> dict[str, Any]:
    """The enrolment snapshot and the periods' counts: after a change the periods under way, at
    night (or asked for by hand) every period of the school year so far.

    A job after a change is skipped when a rebuild began after the job was sent: the change had
    committed before the job could be sent, so that rebuild counted it (a burst of changes, or
    a night's queue, costs one rebuild, not one each)."""
    if key.startswith("figures:moved:") and _covered(session, key):
        return {"skipped": "covered by a later rebuild"}
    chosen = periods.stored_by_change(session) if key.startswith("figures:moved:") else periods.stored_nightly(session)
    return service.rebuild(session, key, chosen)


def _covered(session: Session, key: str) -> bool:
    from sqlalchemy import func, select

    from baoxue.platform.jobs import JobRun
    from baoxue.tenants.figures.models import FigureSnapshot

    sent = session.scalar(select(JobRun.sent_at).where(JobRun.key == key))
    latest = session.scalar(select(func.max(FigureSnapshot.computed_at)).where(FigureSnapshot.kind == service.ENROLMENT))
    return sent is not None and latest is not None and latest > sent


@actor
def rebuild_figures(township_id: int, key: str) -> None:
    run_once(township_id, key, "rebuild_figures", lambda session: rebuild(session, key))


def reports_key(day: date) -> str:
    """One check of the monthly reports a day: 'figures:reports:2026-11-29'."""
    return f"figures:reports:{day.isoformat()}"


@actor
def check_monthly_reports(township_id: int, key: str) -> None:
    from baoxue.tenants.figures.reports import reconcile_reports

    run_once(township_id, key, "check_monthly_reports", reconcile_reports)


actors = [rebuild_figures, check_monthly_reports]
schedules = [
    Schedule(name="figures:nightly", actor="rebuild_figures", key=partial(rebuild_figures_key, "nightly"), hour=2,
             label="每日统计"),
    Schedule(name="figures:reports", actor="check_monthly_reports", key=reports_key, hour=7,
             label="月报检查"),
]
