"""The figures concept's jobs: the rebuild actor, its keys and its nightly schedule."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial

from baoxue.platform.clock import CHINA
from baoxue.platform.jobs import Schedule, run_once
from baoxue.tenants.figures.service import rebuild_enrolment_figures
from baoxue.workers.actors import actor


def rebuild_figures_key(kind: str, when: date | datetime) -> str:
    """The one place rebuild keys are made, by China's calendar and clock:
    'figures:nightly:2026-11-25' (one a day), 'figures:manual:20261125T0930' (one a minute:
    a double click is one job)."""
    if kind == "nightly":
        day = when.astimezone(CHINA).date() if isinstance(when, datetime) else when
        return f"figures:nightly:{day.isoformat()}"
    if kind == "manual" and isinstance(when, datetime):
        return f"figures:manual:{when.astimezone(CHINA):%Y%m%dT%H%M}"
    raise ValueError(f"no rebuild key for {kind!r} at {when!r}")


@actor
def rebuild_figures(township_id: int, key: str) -> None:
    run_once(township_id, key, "rebuild_figures", lambda session: rebuild_enrolment_figures(session, key))


actors = [rebuild_figures]
schedules = [
    Schedule(name="figures:nightly", actor="rebuild_figures", key=partial(rebuild_figures_key, "nightly"), hour=2),
]
