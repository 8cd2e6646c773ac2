"""Attendance's jobs: the morning's escalation for the whole township, and the hourly check
that flags the classes not reported by the township's hour."""

from __future__ import annotations

from datetime import date
from functools import partial

from baoxue.platform.jobs import Schedule, run_once
from baoxue.tenants.attendance import escalation
from baoxue.tenants.attendance.service import flag_unreported
from baoxue.workers.actors import actor

ESCALATE_HOUR = 6  # before school: yesterday's reports are all in, today's steps are on the lists
REPORT_HOURS = range(8, 13)  # the hours a township may set as its reporting deadline (rules.py)


def escalate_key(day: date) -> str:
    """One escalation a day per township: 'attendance:escalate:2026-11-27'."""
    return f"attendance:escalate:{day.isoformat()}"


def unreported_key(hour: int, day: date) -> str:
    """One check per hour a day: 'attendance:unreported:2026-11-27:10'."""
    return f"attendance:unreported:{day.isoformat()}:{hour:02d}"


@actor
def escalate_absences(township_id: int, key: str) -> None:
    run_once(township_id, key, "escalate_absences", lambda session: escalation.check(session).as_dict())


@actor
def flag_unreported_classes(township_id: int, key: str) -> None:
    hour = int(key.rsplit(":", 1)[1])
    run_once(township_id, key, "flag_unreported_classes", lambda session: flag_unreported(session, hour))


actors = [escalate_absences, flag_unreported_classes]
schedules = [
    Schedule(name="attendance:escalate", actor="escalate_absences", key=escalate_key, hour=ESCALATE_HOUR,
             label="每日缺勤升级"),
    *(Schedule(name=f"attendance:unreported:{hour:02d}", actor="flag_unreported_classes",
               key=partial(unreported_key, hour), hour=hour) for hour in REPORT_HOURS),
]
