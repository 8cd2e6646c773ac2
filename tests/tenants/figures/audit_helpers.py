"""The figures concept's audit recipes (tests/platform/test_audit_actions.py): each takes that
test's `World` (a rolled-back, township-wide session of 板当镇)."""

from __future__ import annotations

from typing import Any

from baoxue.platform.db import set_tenant


def audit_recipes() -> dict[str, tuple[Any, Any]]:
    from baoxue.platform.clock import clock
    from baoxue.tenants.figures import periods, reports, service
    from baoxue.tenants.figures.events import Event
    from tests.tenants.status_changes.helpers import login_actor

    def acting(w: Any, username: str) -> Any:
        found = login_actor(w.settings, username)
        set_tenant(w.session, found.context())
        return found

    def change_settings(w: Any) -> None:
        service.do_change_figure_settings(w.session, acting(w, "bd_office"), {"report_cutoff_day": "25",
                                                                             "dropout_max:primary": "1.50"})

    def submit(w: Any) -> None:
        from sqlalchemy import delete

        from baoxue.tenants.figures.models import MonthlyReport

        month = periods.current_month(clock.today())
        w.session.execute(delete(MonthlyReport).where(MonthlyReport.month == month.key))  # the demo's, if due
        service.rebuild(w.session, "figures:audit", [month, periods.ytd_period(month)])
        reports.do_submit_report(w.session, acting(w, "bd_mid_principal"), month.key)

    def export(w: Any) -> None:
        reports.do_export_report(w.session, periods.current_month(clock.today()).key)

    return {
        "service.do_change_figure_settings": (change_settings, Event.SETTINGS_CHANGED),
        "reports.do_submit_report": (submit, Event.REPORT_SUBMITTED),
        "reports.do_export_report": (export, Event.REPORT_EXPORTED),
    }
