"""The first screen's share of the dashboard: a school's and a village's own figures and ledgers;
for the township, the way to the dashboard."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from baoxue.platform.concepts import Panel
from baoxue.platform.permissions import Permission, UnitKind


def panel(session: Session, actor: Any) -> Panel | None:
    from baoxue.tenants.dashboard.service import dashboard

    m = actor.membership
    if m is None:
        return None
    if actor.can(Permission.DASHBOARD_READ):
        return Panel("dashboard/_link.html")
    if m.unit_kind in (UnitKind.SCHOOL, UnitKind.VILLAGE) and actor.can(Permission.FIGURES_READ):
        return Panel("dashboard/_unit.html", {"board": dashboard(session), "village": m.unit_kind == UnitKind.VILLAGE})
    return None
