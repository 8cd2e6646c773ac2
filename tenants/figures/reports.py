"""The monthly report (月报) of each school, its submission, the township's roll-up and their Excel.

A school's month is read from the stored counts of the month and of the school year up to its
end (the running totals of suspected dropouts and dropouts), by grade with the primary and
junior subtotals and the total (DOMAIN.md §14). Submitting freezes those numbers with who and
when; a submission after the township's cut-off day is late. A school that has not submitted
once the cut-off day has passed is on the township office's worklist (`reconcile_reports`,
daily and on every submission); the item closes when it submits.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import china_day, clock, school_year
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import Forbidden, InvalidInput, not_found
from baoxue.platform.permissions import Role, UnitKind
from baoxue.platform.scoping import consequences
from baoxue.tenants.figures import periods
from baoxue.tenants.figures.events import Event
from baoxue.tenants.figures.models import MonthlyReport
from baoxue.tenants.figures.periods import Period
from baoxue.tenants.figures.service import Line, counted, level_of_grade, level_of_school, stored_rows
from baoxue.tenants.figures.settings import FigureSettings, settings_of
from baoxue.tenants.tenancy.models import School, Township
from baoxue.tenants.tenancy.service import GRADE_NAMES
from baoxue.tenants.worklist import service as worklist
from baoxue.tenants.worklist.service import Due, Owner

ROW_KEYS = (*(str(g) for g in range(1, 10)), "primary", "junior", "total")
ROW_LABELS = {**{str(g): GRADE_NAMES[g] for g in range(1, 10)}, "primary": "小学小计", "junior": "初中小计",
              "total": "合计"}
# (key, header, sub-header): a header spanning two columns repeats; "" sub-header: one cell over two rows.
COLUMNS = (("start", "月初在校生", ""), ("transfers_in", "转入", ""), ("resumptions", "复学", ""),
           ("transfers_out", "转出", ""), ("suspensions", "休学", ""), ("suspected", "疑似辍学", "本月新增"),
           ("suspected_total", "疑似辍学", "累计"), ("dropouts", "辍学", "本月新增"), ("dropouts_total", "辍学", "累计"),
           ("returns", "劝返复学", ""), ("end", "月末在校生", ""), ("dropout_rate", "辍学率（%）", ""),
           ("retention", "巩固率（%）", ""))
RUNNING = {"suspected_total": "suspected", "dropouts_total": "dropouts"}
MISSING_KIND = "figures:report_missing"


@dataclass
class ReportTable:
    """A month's table: rows by grade, the subtotals and the total (`Line`s, rates included)."""

    month: Period
    unit: str
    settings: FigureSettings
    lines: dict[str, Line]
    computed_at: datetime | None

    @property
    def rows(self) -> list[tuple[str, Line]]:
        return [(key, self.lines[key]) for key in ROW_KEYS]

    def value(self, key: str, column: str) -> Any:
        line = self.lines[key]
        if column in ("dropout_rate", "retention"):
            rate = getattr(line, column)
            return None if rate is None else round(rate, 2)
        if column in ("start", "end"):
            return getattr(line, column)
        return line[column]

    def frozen(self) -> dict[str, Any]:
        return {"suspension_counts": self.settings.suspension_counts, "unit": self.unit,
                "lines": {key: dict(line.counts) for key, line in self.lines.items()}}


def _empty_lines(settings: FigureSettings) -> dict[str, Line]:
    return {key: Line(ROW_LABELS[key], settings) for key in ROW_KEYS}


def _add(lines: dict[str, Line], grade: int, level: str, values: dict[str, int]) -> None:
    if grade:
        lines[str(grade)].add(values)
    lines[level].add(values)
    lines["total"].add(values)


def live_table(session: Session, month: Period, school_id: int | None = None) -> ReportTable:
    """The month as stored now, for one school or all the reader's scope sums (four queries)."""
    settings = settings_of(session)
    kinds = dict(session.execute(select(School.id, School.kind)).all())
    lines = _empty_lines(settings)
    computed_at = None
    for period_key, rename in ((month.key, None), (periods.ytd_period(month).key, RUNNING)):
        at, rows = stored_rows(session, period_key, by_school_and_grade=True)  # a report's rows are grades
        computed_at = computed_at or at
        for row in rows:
            if school_id is not None and row.school_id != school_id:
                continue
            values = counted(row)
            if rename is not None:
                values = {new: values[old] for new, old in rename.items()}
            level = level_of_grade(row.grade) if row.grade else level_of_school(kinds.get(row.school_id, ""))
            _add(lines, row.grade, level, values)
    return ReportTable(month, "", settings, lines, computed_at)


def frozen_table(report: MonthlyReport, month: Period, unit: str) -> ReportTable:
    settings = FigureSettings(suspension_counts=bool(report.rows.get("suspension_counts")))
    lines = _empty_lines(settings)
    for key, counts in (report.rows.get("lines") or {}).items():
        if key in lines:
            lines[key].add(counts)
    return ReportTable(month, unit, settings, lines, report.submitted_at)


def due_on(month: Period, cutoff: int) -> date:
    return month.starts_on.replace(day=cutoff)


@dataclass(frozen=True)
class Submission:
    school: School
    report: MonthlyReport | None
    due: date

    @property
    def submitted_on(self) -> date | None:
        return china_day(self.report.submitted_at) if self.report and self.report.submitted_at else None

    @property
    def state(self) -> str:
        if self.submitted_on is None:
            return "missing"
        return "late" if self.submitted_on > self.due else "on_time"

    @property
    def state_label(self) -> str:
        if self.state == "missing":
            return "未报送" + ("（已过截止日）" if clock.today() > self.due else "")
        return f"{'按时' if self.state == 'on_time' else '逾期'}报送（{self.submitted_on:%Y-%m-%d}）"


@dataclass
class Rollup:
    month: Period
    settings: FigureSettings
    due: date
    submissions: list[Submission]
    table: ReportTable  # every school's: frozen where submitted, as stored where not
    by_school: dict[int, ReportTable]


def rollup(session: Session, month: Period) -> Rollup:
    """Every school in the reader's scope with its submission state, and the totals (six queries)."""
    settings = settings_of(session)
    schools = list(session.scalars(select(School).order_by(School.id)))
    scope = tenant_of(session).scope
    if scope is not None and scope.unit_kind == UnitKind.SCHOOL:
        schools = [s for s in schools if s.id == scope.unit_id]
    reports = {r.school_id: r for r in session.scalars(select(MonthlyReport).where(MonthlyReport.month == month.key))}
    due = due_on(month, settings.report_cutoff_day)
    live = _live_by_school(session, month, settings)
    by_school: dict[int, ReportTable] = {}
    total = ReportTable(month, "", settings, _empty_lines(settings), None)
    for school in schools:
        report = reports.get(school.id)
        table = (frozen_table(report, month, school.name) if report is not None and report.submitted_at
                 else live.get(school.id) or ReportTable(month, school.name, settings, _empty_lines(settings), None))
        table.unit = school.name
        by_school[school.id] = table
        for key, line in table.lines.items():
            total.lines[key].add(line.counts)
    return Rollup(month, settings, due, [Submission(s, reports.get(s.id), due) for s in schools], total, by_school)


def _live_by_school(session: Session, month: Period, settings: FigureSettings) -> dict[int, ReportTable]:
    kinds = dict(session.execute(select(School.id, School.kind)).all())
    tables: dict[int, ReportTable] = {}
    for period_key, rename in ((month.key, None), (periods.ytd_period(month).key, RUNNING)):
        at, rows = stored_rows(session, period_key, by_school_and_grade=True)  # a report's rows are grades
        for row in rows:
            table = tables.setdefault(row.school_id, ReportTable(month, "", settings, _empty_lines(settings), at))
            values = counted(row)
            if rename is not None:
                values = {new: values[old] for new, old in rename.items()}
            level = level_of_grade(row.grade) if row.grade else level_of_school(kinds.get(row.school_id, ""))
            _add(table.lines, row.grade, level, values)
    return tables


def _month(text: Any) -> Period:
    month = periods.parse_month(str(text or "").strip())
    if month is None:
        raise InvalidInput({"month": "请选择月份（如 2026-10）。"})
    if month.starts_on > clock.today():
        raise InvalidInput({"month": "不能报送尚未开始的月份。"})
    return month


def _own_school(session: Session, actor: Any) -> School:
    m = getattr(actor, "membership", None)
    if m is None or m.unit_kind != UnitKind.SCHOOL or m.role not in (Role.PRINCIPAL, Role.ACADEMIC_OFFICE):
        raise Forbidden(detail="月报由学校的校长或教导处报送。")
    school = session.scalar(select(School).where(School.id == m.unit_id))
    if school is None:
        raise not_found()
    return school


def do_submit_report(session: Session, actor: Any, month: Any) -> MonthlyReport:
    """The school's month, frozen as the figures stand now, with who and when. Once per month."""
    school = _own_school(session, actor)
    period = _month(month)
    table = live_table(session, period, school.id)
    report = session.scalar(select(MonthlyReport).where(MonthlyReport.school_id == school.id,
                                                        MonthlyReport.month == period.key))
    if report is not None and report.submitted_at is not None:
        raise InvalidInput({"month": f"{period.label}的月报已于{china_day(report.submitted_at):%Y-%m-%d}报送。"})
    if table.computed_at is None:
        raise InvalidInput({"month": f"{period.label}的统计尚未计算，请稍后再报送（每次学籍变动后自动重新计算）。"})
    now = clock.now()
    if report is None:
        report = MonthlyReport(township_id=school.township_id, school_id=school.id, month=period.key)
        session.add(report)
    table.unit = school.name
    report.rows, report.submitted_at = table.frozen(), now
    report.submitted_by, report.submitter_name = actor.user_id, actor.signed_as
    session.flush()
    due = due_on(period, settings_of(session).report_cutoff_day)
    audit.record(session, Event.REPORT_SUBMITTED, entity=report, changes={
        "month": period.key, "late": china_day(now) > due, "enrolled": table.lines["total"].end,
        "dropouts": table.lines["total"]["dropouts"]})
    with consequences(session):
        worklist.reconcile(session, "monthly_reports", report.id, [])
    return report


def reconcile_reports(session: Session) -> dict[str, Any]:
    """The township's daily check (a job): every month of the school year whose cut-off day has
    passed gets a record per school; each one not submitted is on the office's worklist."""
    today = clock.today()
    settings = settings_of(session)
    months = [m for m in periods.months_of_year(school_year(today), today)
              if due_on(m, settings.report_cutoff_day) < today]
    previous = periods.previous_month(periods.current_month(today))
    if due_on(previous, settings.report_cutoff_day) < today and previous not in months:
        months.insert(0, previous)
    if not months:
        return {"months": [], "missing": 0}
    schools = dict(session.execute(select(School.id, School.name)).all())
    keys = [m.key for m in months]
    reports = {(r.school_id, r.month): r for r in session.scalars(
        select(MonthlyReport).where(MonthlyReport.month.in_(keys)))}
    township_id = tenant_of(session).township_id
    for month in months:
        for school_id in schools:
            if (school_id, month.key) not in reports:
                report = MonthlyReport(township_id=township_id, school_id=school_id, month=month.key, rows={})
                session.add(report)
                reports[(school_id, month.key)] = report
    session.flush()
    by_key = {m.key: m for m in months}
    wanted: dict[int, list[Due]] = {}
    for (school_id, key), report in reports.items():
        month = by_key[key]
        due = due_on(month, settings.report_cutoff_day)
        wanted[report.id] = [] if report.submitted_at is not None else [Due(
            MISSING_KIND, f"{schools.get(school_id, '')}未报送{month.label}月报", f"/figures/reports?month={key}",
            Owner(UnitKind.TOWNSHIP, None, Role.OFFICE_STAFF.value), due, due + timedelta(days=1))]
    worklist.reconcile_many(session, "monthly_reports", wanted)
    return {"months": keys, "missing": sum(1 for dues in wanted.values() if dues)}


# --- Excel ---------------------------------------------------------------------------------------

_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _sheet(book: Workbook, title: str, unit: str, heading: str, tables: list[tuple[str, ReportTable]],
           settings: FigureSettings, submitter: str) -> None:
    sheet = book.create_sheet(title)
    width = len(COLUMNS) + 1
    last = get_column_letter(width)
    sheet.append([heading])
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append([f"填报单位（盖章）：{unit}", *[None] * (width - 5), f"填报时间：{clock.today():%Y年%m月%d日}"])
    sheet.append(["年级", *(header for _key, header, _sub in COLUMNS)])
    sheet.append([None, *(sub or None for _key, _header, sub in COLUMNS)])
    sheet.merge_cells("A3:A4")
    col = 2
    while col <= width:
        _key, header, sub = COLUMNS[col - 2]
        letter = get_column_letter(col)
        if not sub:
            sheet.merge_cells(f"{letter}3:{letter}4")
            col += 1
        else:
            sheet.merge_cells(f"{letter}3:{get_column_letter(col + 1)}3")
            col += 2
    for label, table in tables:
        for key, _line in table.rows:
            sheet.append([f"{label}{ROW_LABELS[key]}", *(table.value(key, c) for c, _h, _s in COLUMNS)])
    for row in sheet.iter_rows(min_row=3, max_row=sheet.max_row, max_col=width):
        for cell in row:
            cell.border = _BOX
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.append([f"说明：{settings.suspension_text}；辍学率 = 本月新增辍学 ÷ 月初在校生；巩固率 = (月末在校生 + 毕业) ÷ "
                  "(月初在校生 + 转入 − 转出 − 死亡 − 借读)，分母不因学生流失而减少，最高 100%。"])
    sheet.append([f"审核人：            填表人：{submitter}            联系电话："])
    sheet.column_dimensions["A"].width = 12
    for col in range(2, width + 1):
        sheet.column_dimensions[get_column_letter(col)].width = 10


def do_export_report(session: Session, month: Any, *, school_id: int | None = None) -> tuple[bytes, str]:
    """A school's 月报 (frozen if submitted), or the township's roll-up with a sheet of every
    school's totals, as Excel in the layout of DOMAIN.md §14. Audited as an export."""
    period = periods.parse_month(str(month or ""))
    if period is None:
        raise InvalidInput({"month": "请选择月份（如 2026-10）。"})
    scope = tenant_of(session).scope
    if scope is not None and scope.unit_kind == UnitKind.SCHOOL:
        school_id = scope.unit_id
    township = session.scalar(select(Township.name).where(Township.id == tenant_of(session).township_id)) or ""
    summary = rollup(session, period)
    book = Workbook()
    book.remove(book.active)
    if school_id is not None:
        table = summary.by_school.get(school_id)
        if table is None:
            raise not_found()
        submission = next(s for s in summary.submissions if s.school.id == school_id)
        submitter = submission.report.submitter_name if submission.report and submission.report.submitted_at else ""
        _sheet(book, "月报", table.unit, f"{table.unit}{period.label}控辍保学月报表", [("", table)],
               table.settings, submitter)
        name, rows = f"{table.unit}{period.key}月报.xlsx", 1
    else:
        unit = township if scope is None or scope.whole_township else ""
        _sheet(book, "汇总", unit, f"{unit}{period.label}控辍保学月报汇总表", [("", summary.table)],
               summary.settings, "")
        sheet = book.create_sheet("各校报送情况")
        sheet.append(["学校", "报送情况", "月初在校生", "辍学（本月新增）", "辍学（累计）", "月末在校生", "辍学率（%）",
                      "巩固率（%）"])
        for s in summary.submissions:
            t = summary.by_school[s.school.id]
            sheet.append([s.school.name, s.state_label, t.value("total", "start"), t.value("total", "dropouts"),
                          t.value("total", "dropouts_total"), t.value("total", "end"),
                          t.value("total", "dropout_rate"), t.value("total", "retention")])
        name, rows = f"{unit}{period.key}月报汇总.xlsx", len(summary.submissions)
    out = io.BytesIO()
    book.save(out)
    audit.record(session, Event.REPORT_EXPORTED, entity_type="monthly_reports", entity_id=school_id or "",
                 changes={"month": period.key, "school_id": school_id, "rows": rows})
    return out.getvalue(), name

