"""The census's job: 四查三比对 for the township, nightly and when asked (after an import)."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial

from baoxue.platform.clock import CHINA
from baoxue.platform.jobs import Schedule, run_once
from baoxue.tenants.census import reconcile
from baoxue.workers.actors import actor

NIGHTLY_HOUR = 3  # after the rolls' day is done, before the figures are read in the morning


def reconcile_key(kind: str, when: date | datetime, user_id: int | None = None) -> str:
    """'census:nightly:2026-11-28' (one a night); 'census:asked:20261128T0930:u7' (one a minute per person:
    a double click, or an import and a click, is one run)."""
    if kind == "nightly":
        day = when.astimezone(CHINA).date() if isinstance(when, datetime) else when
        return f"census:nightly:{day.isoformat()}"
    if kind == "asked" and isinstance(when, datetime):
        return f"census:asked:{when.astimezone(CHINA):%Y%m%dT%H%M}:u{user_id or 0}"
    raise ValueError(f"no reconcile key for {kind!r} at {when!r}")


def _ran_by(key: str) -> int | None:
    user = key.rsplit(":u", 1)[1] if ":u" in key else ""
    return int(user) if user.isdigit() and int(user) else None


@actor
def reconcile_census(township_id: int, key: str) -> None:
    run_once(township_id, key, "reconcile_census",
             lambda session: reconcile.run(session, key, ran_by=_ran_by(key)).counts)


actors = [reconcile_census]
schedules = [
    Schedule(name="census:nightly", actor="reconcile_census", key=partial(reconcile_key, "nightly"),
             hour=NIGHTLY_HOUR, label="每夜比对（四查三比对）"),
]
