"""What the figures put on the first screen: this month's report, for the school that submits it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.clock import clock
from baoxue.platform.concepts import Todo
from baoxue.platform.permissions import Permission, UnitKind

REMIND_DAYS = 5  # the reminder shows this many days before the cut-off day


def todos(session: Session, actor: Any) -> list[Todo]:
    """From five days before the cut-off day until it is submitted (three queries)."""
    from baoxue.tenants.figures.models import MonthlyReport
    from baoxue.tenants.figures.periods import current_month
    from baoxue.tenants.figures.reports import due_on
    from baoxue.tenants.figures.settings import settings_of

    m = actor.membership
    if m is None or m.unit_kind != UnitKind.SCHOOL or not actor.can(Permission.REPORT_SUBMIT):
        return []
    month, today = current_month(), clock.today()
    due = due_on(month, settings_of(session).report_cutoff_day)
    if today < due - timedelta(days=REMIND_DAYS):
        return []
    submitted = session.scalar(select(MonthlyReport.submitted_at).where(MonthlyReport.school_id == m.unit_id,
                                                                        MonthlyReport.month == month.key))
    if submitted is not None:
        return []
    late = "，已过截止日" if today > due else ""
    return [Todo(f"报送{month.label}月报（截止 {due:%m月%d日}{late}）", f"/figures/reports?month={month.key}")]
