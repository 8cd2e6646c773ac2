"""The home page (the dashboard of one's unit), the figures page, the children behind a number,
the township's figure settings, the monthly reports, and their API. Thin: parse, call, answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post, put
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import SIGNED_IN, actor_of, requires
from baoxue.platform.clock import china_day, clock
from baoxue.platform.concepts import contributions
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import InvalidInput, not_found
from baoxue.platform.permissions import Permission, Role, UnitKind
from baoxue.platform.resources import Form, submit
from baoxue.platform.templating import page
from baoxue.tenants.figures import periods, reports, service
from baoxue.tenants.figures.overview import personal_data_grants, todos, unit_overview
from baoxue.tenants.figures.reports import COLUMNS, ROW_LABELS
from baoxue.tenants.figures.schemas import ReportIn, ReportOut, SettingsIn, SettingsOut
from baoxue.tenants.figures.settings import TARGET_FIELDS, settings_of, target_label
from baoxue.tenants.tenancy.service import GRADE_NAMES
from baoxue.tenants.worklist.service import items_for

READ = requires(Permission.FIGURES_READ)
SETTINGS = requires(Permission.FIGURES_SETTINGS)
SETTINGS_PROBE = {**SETTINGS, "probe": {"report_cutoff_day": 28}}
SUBMIT_PROBE = {**requires(Permission.REPORT_SUBMIT), "probe": {"month": "2000-01"}}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class FiguresOut:
    computed_at: datetime | None
    data: dict[str, Any]


@dataclass
class JobOut:
    key: str
    status: str


@get("/", opt=SIGNED_IN, include_in_schema=False, sync_to_thread=True)
def home(request: Request[Any, Any, Any], db: Session) -> Template | Redirect:
    actor = actor_of(request)
    context: dict[str, Any] = {"overview": None, "figures": None, "jobs": [], "todos": [], "grants": [], "panels": [],
                               "grade_names": GRADE_NAMES, "worklist": items_for(db, actor)}
    if actor.membership is None and actor.county is not None:
        return Redirect(path="/county", status_code=303)  # a county viewer's first screen
    if actor.membership is not None:
        context["overview"] = unit_overview(db)
        context["panels"] = [p for panel_of in contributions("home", "panel") if (p := panel_of(db, actor))]
        if actor.role == Role.LEADER:
            context["grants"] = personal_data_grants(db)
        context["todos"] = todos(db, actor, context["grants"])
        if actor.can(Permission.FIGURES_READ):
            context["figures"] = service.latest_enrolment(db)
        if actor.can(Permission.FIGURES_REBUILD):
            context["jobs"] = service.recent_jobs(db)
    return Template("figures/home.html", context=context)


@post("/figures/rebuild", opt={**requires(Permission.FIGURES_REBUILD), "probe": {}}, include_in_schema=False,
      sync_to_thread=True)
def rebuild_page(db: Session) -> Redirect:
    service.do_request_rebuild(db)
    return Redirect(path="/", status_code=303)


@get("/api/figures/enrolment", opt=READ, summary="Latest enrolment figures", sync_to_thread=True)
def figures_api(db: Session) -> FiguresOut:
    snapshot = service.latest_enrolment(db)
    return FiguresOut(computed_at=snapshot.computed_at if snapshot else None, data=snapshot.data if snapshot else {})


@post("/api/figures/rebuild", opt={**requires(Permission.FIGURES_REBUILD), "probe": {}}, summary="Rebuild the figures (a job)",
      status_code=202, sync_to_thread=True)
def rebuild_api(db: Session) -> JobOut:
    run = service.do_request_rebuild(db)
    return JobOut(key=run.key, status=run.status)


# --- the figures of a period ----------------------------------------------------------------------

def _period(db: Session, period: str) -> periods.Period:
    if not period:
        return periods.year_period(periods.school_year_of_today())
    found = periods.parse(db, period)
    if found is None:
        raise InvalidInput({"period": "请选择统计期间：学年（如 2026-2027）、学期或月份（如 2026-10）。"})
    return found


@get("/api/figures", opt=READ, summary="辍学率、巩固率（按乡镇、学校、年级、班级、户籍村）",
     description="读取任务已存储的统计（每晚及每次学籍变动、流失报告、结案、名册导入后重新计算）。"
                 "`period`：学年 2026-2027、学期 term:<id>、月份 2026-10；缺省为本学年。", sync_to_thread=True)
def period_api(db: Session, period: str = "", school_id: int | None = None) -> dict[str, Any]:
    return service.figures_of(db, _period(db, period), school_id=school_id).as_dict()


def _figures_context(request: Request[Any, Any, Any], db: Session, period: str, school_id: int | None) -> dict[str, Any]:
    chosen = _period(db, period)
    actor = actor_of(request)
    return {"figures": service.figures_of(db, chosen, school_id=school_id), "choices": periods.choices(db),
            "period": chosen, "school_id": school_id, "links": actor.can(Permission.STUDENT_READ),
            "today": clock.today()}


@get("/figures", opt=READ, include_in_schema=False, sync_to_thread=True)
def figures_page(request: Request[Any, Any, Any], db: Session, period: str = "",
                 school_id: int | None = None) -> Template:
    try:
        context = _figures_context(request, db, period, school_id)
    except InvalidInput:
        context = _figures_context(request, db, "", school_id)
        context["error"] = "统计期间无效，已显示本学年。"
    return page(request, "figures/figures.html", context, fragment="tables")


@get("/api/figures/children", opt=requires(Permission.STUDENT_READ), summary="统计数字背后的学生名单",
     description="按与统计相同的口径即时计算；只列姓名、学校、班级、户籍村。", sync_to_thread=True)
def children_api(db: Session, measure: str, period: str = "", school_id: int | None = None,
                 class_id: int | None = None, grade: int | None = None, village_id: int | None = None,
                 level: str = "") -> list[dict[str, str]]:
    found = service.children(db, _period(db, period), measure, school_id=school_id, class_id=class_id, grade=grade,
                             village_id=village_id, level=level)
    return [{"name": c.name, "school": c.school, "class_name": c.class_name, "village": c.village} for c in found]


@get("/figures/children", opt=requires(Permission.STUDENT_READ), include_in_schema=False, sync_to_thread=True)
def children_page(request: Request[Any, Any, Any], db: Session, measure: str, period: str = "",
                  school_id: int | None = None, class_id: int | None = None, grade: int | None = None,
                  village_id: int | None = None, level: str = "") -> Template:
    chosen = _period(db, period)
    found = service.children(db, chosen, measure, school_id=school_id, class_id=class_id, grade=grade,
                             village_id=village_id, level=level)
    return page(request, "figures/children.html", {
        "children": found, "measure": service.CHILD_MEASURES[measure], "period": chosen,
        "settings": settings_of(db)})


# --- the township's settings ------------------------------------------------------------------------

def _settings_out(db: Session) -> SettingsOut:
    s = settings_of(db)
    return SettingsOut(s.suspension_counts, s.suspension_text, s.report_cutoff_day,
                       {f"{metric}:{level}": value / 100 for (level, metric), value in sorted(s.targets.items())})


@get("/api/figures/settings", opt=READ, summary="本乡镇的统计设置与目标", sync_to_thread=True)
def settings_api(db: Session) -> SettingsOut:
    return _settings_out(db)


@put("/api/figures/settings", opt=SETTINGS_PROBE, summary="修改本乡镇的统计设置与目标",
     description="`targets` 的键为 `dropout_max:primary`、`retention_min:all` 等，值为百分数（两位小数），"
                 "空字符串或 null 为取消该目标；未给出的设置保持不变。", sync_to_thread=True)
def settings_put(request: Request[Any, Any, Any], db: Session, data: SettingsIn) -> SettingsOut:
    values: dict[str, Any] = {}
    if data.suspension_counts is not None:
        values["suspension_counts"] = data.suspension_counts
    if data.report_cutoff_day is not None:
        values["report_cutoff_day"] = data.report_cutoff_day
    unknown = sorted(set(data.targets) - set(TARGET_FIELDS))
    if unknown:
        raise InvalidInput({"targets": f"没有这个目标：{unknown[0]}。"})
    values.update({name: "" if value is None else str(value) for name, value in data.targets.items()})
    service.do_change_figure_settings(db, actor_of(request), values)
    return _settings_out(db)


def _settings_page(request: Request[Any, Any, Any], db: Session, *, values: dict[str, Any] | None = None,
                   errors: dict[str, str] | None = None, status: int = 200) -> Template:
    s = settings_of(db)
    current = {"suspension_counts": "true" if s.suspension_counts else "false",
               "report_cutoff_day": s.report_cutoff_day,
               **{name: (f"{s.targets[(name.split(':')[1], name.split(':')[0])] / 100:.2f}"
                         if (name.split(':')[1], name.split(':')[0]) in s.targets else "") for name in TARGET_FIELDS}}
    return page(request, "figures/settings.html", {
        "settings": s, "values": values or current, "errors": errors or {},
        "targets": [(name, target_label(name)) for name in TARGET_FIELDS]}, status=status)


@get("/figures/settings", opt=SETTINGS, include_in_schema=False, sync_to_thread=True)
def settings_page(request: Request[Any, Any, Any], db: Session) -> Template:
    return _settings_page(request, db)


@post("/figures/settings", opt=SETTINGS_PROBE, include_in_schema=False, sync_to_thread=True)
def settings_submit(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    values = {name: str(data.get(name, "")) for name in ("suspension_counts", "report_cutoff_day", *TARGET_FIELDS)}
    return submit(lambda: service.do_change_figure_settings(db, actor_of(request), values), done="/figures/settings",
                  refused=lambda errors: _settings_page(request, db, values=values, errors=errors, status=400))


# --- the monthly reports ------------------------------------------------------------------------------

def _month(month: str) -> periods.Period:
    if not month:
        return periods.current_month()
    found = periods.parse_month(month)
    if found is None:
        raise InvalidInput({"month": "请选择月份（如 2026-10）。"})
    return found


def _reporting_scope(db: Session) -> None:
    scope = tenant_of(db).scope
    if scope is None or not (scope.whole_township or scope.unit_kind == UnitKind.SCHOOL):
        raise not_found()  # villages and departments keep no monthly report


def _report_out(report: Any, cutoff: int) -> ReportOut:
    month = periods.parse_month(report.month)
    late = bool(report.submitted_at and month and china_day(report.submitted_at) > reports.due_on(month, cutoff))
    return ReportOut(report.school_id, report.month, report.submitted_at, report.submitter_name, late)


@get("/api/figures/reports", opt=READ, summary="各校月报的报送情况与汇总", sync_to_thread=True)
def reports_api(db: Session, month: str = "") -> dict[str, Any]:
    _reporting_scope(db)
    summary = reports.rollup(db, _month(month))
    return {"month": summary.month.key, "due_on": summary.due.isoformat(),
            "suspension_text": summary.settings.suspension_text,
            "schools": [{"school_id": s.school.id, "name": s.school.name, "state": s.state,
                         "submitted_on": s.submitted_on.isoformat() if s.submitted_on else None,
                         "total": {c: summary.by_school[s.school.id].value("total", c) for c, _h, _s in COLUMNS}}
                        for s in summary.submissions],
            "rows": [{"label": ROW_LABELS[key], **{c: summary.table.value(key, c) for c, _h, _s in COLUMNS}}
                     for key, _line in summary.table.rows]}


@post("/api/figures/reports", opt=SUBMIT_PROBE, summary="报送本校某月的月报",
      description="以报送时的统计冻结本月数字；每校每月一次。", status_code=201, sync_to_thread=True)
def report_submit_api(request: Request[Any, Any, Any], db: Session, data: ReportIn) -> ReportOut:
    report = reports.do_submit_report(db, actor_of(request), data.month)
    return _report_out(report, settings_of(db).report_cutoff_day)


def _reports_page(request: Request[Any, Any, Any], db: Session, month: periods.Period, *,
                  errors: dict[str, str] | None = None, status: int = 200) -> Template:
    summary = reports.rollup(db, month)
    actor = actor_of(request)
    own = actor.membership.unit_id if actor.membership and actor.membership.unit_kind == UnitKind.SCHOOL else None
    months = [m for m in reversed(periods.months_of_year(periods.school_year_of_today(), clock.today()))]
    if month not in months:
        months.insert(0, month)
    return page(request, "figures/reports.html", {
        "summary": summary, "month": month, "months": months, "columns": COLUMNS, "own_school": own,
        "table": summary.by_school.get(own) if own else summary.table, "errors": errors or {},
        "can_submit": actor.can(Permission.REPORT_SUBMIT) and own is not None,
        "own_submission": next((s for s in summary.submissions if s.school.id == own), None)}, status=status)


@get("/figures/reports", opt=READ, include_in_schema=False, sync_to_thread=True)
def reports_page(request: Request[Any, Any, Any], db: Session, month: str = "") -> Template:
    try:
        _reporting_scope(db)
    except NotFoundException:
        return page(request, "figures/reports.html", {"no_reports": True})
    try:
        chosen = _month(month)
    except InvalidInput as problem:
        return _reports_page(request, db, periods.current_month(), errors=problem.errors, status=400)
    return _reports_page(request, db, chosen)


@post("/figures/reports", opt=SUBMIT_PROBE, include_in_schema=False, sync_to_thread=True)
def report_submit_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    month = str(data.get("month", ""))
    chosen = periods.parse_month(month) or periods.current_month()
    return submit(lambda: reports.do_submit_report(db, actor_of(request), month),
                  done=f"/figures/reports?month={chosen.key}",
                  refused=lambda errors: _reports_page(request, db, chosen, errors=errors, status=400))


@get("/figures/reports/export", opt=READ, include_in_schema=False, sync_to_thread=True)
def report_export(db: Session, month: str = "", school_id: int | None = None) -> Response[bytes]:
    _reporting_scope(db)
    data, filename = reports.do_export_report(db, _month(month).key, school_id=school_id)
    disposition = f"attachment; filename=\"report.xlsx\"; filename*=UTF-8''{quote(filename)}"
    return Response(content=data, media_type=XLSX, headers={"Content-Disposition": disposition})


routes = [home, rebuild_page, figures_api, rebuild_api, period_api, figures_page, children_api, children_page,
          settings_api, settings_put, settings_page, settings_submit, reports_api, report_submit_api, reports_page,
          report_submit_page, report_export]
