"""The dashboard page, the overdue items behind its numbers, and its API. Thin: parse, call, answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import get
from litestar.response import Template
from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.auth import requires
from baoxue.platform.charts import Bar, Segment, bar_chart, stacked_bar
from baoxue.platform.errors import InvalidInput
from baoxue.platform.permissions import Permission, UnitKind
from baoxue.tenants.dashboard.service import OPEN_STAGES, Dashboard, dashboard, stage_label
from baoxue.tenants.tenancy.models import School, Village
from baoxue.tenants.worklist.service import overdue_of_unit

READ = requires(Permission.DASHBOARD_READ)
UNITS = {"school": (UnitKind.SCHOOL, School), "village": (UnitKind.VILLAGE, Village)}


def charts(board: Dashboard) -> dict[str, Any]:
    """The page's two pictures: open cases by stage, and each school's dropout rate this
    school year against the school ceiling; every bar opens the list behind it."""
    stages = stacked_bar([Segment(stage_label(s.value), board.cases_by_stage.get(s.value, 0), s.value,
                                  href=f"/cases?stage={s.value}") for s in OPEN_STAGES], title="未结控辍个案（按阶段）")
    lines = board.year.schools
    ceiling = next((line.ceiling for line in lines if line.ceiling is not None), None)
    rates = bar_chart([Bar(line.label, line.dropout_rate, href=f"/figures?period={board.year.period.key}"
                                                                 f"&school_id={line.link.get('school_id')}",
                           alert=line.over_ceiling) for line in lines],
                      unit="%", target=ceiling / 100 if ceiling is not None else None,
                      target_label=f"控制线 {ceiling / 100:g}%" if ceiling is not None else "",
                      title="各校辍学率（本学年截至本月）")
    return {"stages": stages, "rates": rates}


UNITS_SHOWN = 30  # the units needing attention first; a county's hundreds on asking


@get("/dashboard", opt=READ, include_in_schema=False, sync_to_thread=True)
def dashboard_page(db: Session, all_units: bool = False) -> Template:
    board = dashboard(db)
    return Template("dashboard/index.html", context={
        "board": board, "charts": charts(board), "stages": OPEN_STAGES, "stage_label": stage_label,
        "units": board.units if all_units else board.units[:UNITS_SHOWN]})


@get("/dashboard/overdue", opt=READ, include_in_schema=False, sync_to_thread=True)
def overdue_page(db: Session, unit_kind: str = "", unit_id: int | None = None) -> Template:
    if unit_kind not in UNITS or unit_id is None:
        raise InvalidInput({"unit_kind": "请从看板选择一个学校或村。"})
    kind, model = UNITS[unit_kind]
    unit = access(db, model, unit_id)
    return Template("dashboard/overdue.html", context={"unit": unit, "items": overdue_of_unit(db, kind, unit.id)})


@dataclass
class StageCount:
    stage: str
    label: str
    open: int


@dataclass
class UnitOut:
    kind: str
    id: int
    name: str
    enrolled: int
    cases_open: int
    overdue: int
    attention: int
    reasons: list[str]


@dataclass
class DashboardOut:
    enrolled: int
    cases_open: int
    cases_by_stage: list[StageCount]
    overdue: int
    listed: int
    findings: dict[str, int]
    year: dict[str, Any]
    report_month: str
    reports_in: int
    reports_due: int
    units: list[UnitOut]


@get("/api/dashboard", opt=READ, summary="乡镇看板：在校生、台账、个案阶段、逾期、本学年指标、需关注的单位",
     sync_to_thread=True)
def dashboard_api(db: Session) -> DashboardOut:
    board = dashboard(db)
    return DashboardOut(
        enrolled=board.enrolment.total if board.enrolment else 0, cases_open=board.cases_open,
        cases_by_stage=[StageCount(s.value, stage_label(s.value), board.cases_by_stage.get(s.value, 0))
                        for s in OPEN_STAGES],
        overdue=board.overdue, listed=board.listed, findings=dict(board.findings),
        year={"period": board.year.period.key, "lines": [line.as_dict() for line in board.year.township]},
        report_month=board.report_month.key, reports_in=board.reports_in, reports_due=len(board.reports),
        units=[UnitOut(u.kind, u.id, u.name, u.enrolled, u.cases_open, u.overdue, u.attention, u.reasons)
               for u in board.units])


routes = [dashboard_page, overdue_page, dashboard_api]
