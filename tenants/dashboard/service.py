"""What the dashboard reads: stored figures, and a handful of grouped counts.

The rates come from the counts the figures job stored (`figures.service.figures_of`); the live
counts are grouped reads of small tables (open cases, open work items, the census's findings,
this month's reports), one query each whatever the township's size. Every query runs under the
reader's scope, so the same `dashboard()` is the township's picture for the office and a
school's or a village's own panel on its home page.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform.clock import clock
from baoxue.platform.permissions import UnitKind
from baoxue.tenants.cases.flows import STAGE_LABELS, Stage
from baoxue.tenants.cases.models import Case
from baoxue.tenants.census.ledgers import dropout_reports
from baoxue.tenants.census.models import CensusChild, CensusFinding
from baoxue.tenants.figures import periods
from baoxue.tenants.figures.models import EnrolmentCount, FigureSnapshot, MonthlyReport
from baoxue.tenants.figures.reports import Submission, due_on
from baoxue.tenants.figures.service import ENROLMENT, Figures, Line, counted, stored_rows, summary_of
from baoxue.tenants.figures.settings import settings_of
from baoxue.tenants.tenancy.models import School, Village
from baoxue.tenants.worklist.models import WorkItem

OPEN_STAGES = (Stage.IDENTIFIED, Stage.REPORTED, Stage.PERSUADING, Stage.ENFORCING)
# How much each kind of trouble weighs when the units are sorted by what needs attention:
# a missed deadline or a figure over its target first, then the monthly report, then open cases.
WEIGHTS = {"overdue": 3, "over_ceiling": 5, "under_floor": 5, "report_missing": 4, "nowhere": 2, "cases_open": 1}


@dataclass
class UnitRow:
    """A school or a village in the attention table."""

    kind: str  # school | village
    id: int
    name: str
    enrolled: int = 0  # a school's pupils; a village's resident pupils
    listed: int | None = None  # a village's census (school-age children listed)
    nowhere: int = 0  # a village's children the comparison found enrolled nowhere
    cases_open: int = 0
    overdue: int = 0
    line: Line | None = None  # a school's rates this school year against its targets
    report: Submission | None = None  # a school's monthly report

    @property
    def report_missing(self) -> bool:
        """The school's report not in, its cut-off day past."""
        return self.report is not None and self.report.state == "missing" and clock.today() > self.report.due

    @property
    def reasons(self) -> list[str]:
        found = []
        if self.overdue:
            found.append(f"逾期事项 {self.overdue} 项")
        if self.line is not None and self.line.over_ceiling:
            found.append("辍学率超过控制线")
        if self.line is not None and self.line.under_floor:
            found.append("巩固率低于目标")
        if self.report_missing:
            found.append("月报未报送")
        if self.nowhere:
            found.append(f"未就读适龄儿童 {self.nowhere} 人")
        return found

    @property
    def attention(self) -> int:
        score = WEIGHTS["overdue"] * self.overdue + WEIGHTS["nowhere"] * self.nowhere \
            + WEIGHTS["cases_open"] * self.cases_open
        if self.line is not None:
            score += WEIGHTS["over_ceiling"] * self.line.over_ceiling + WEIGHTS["under_floor"] * self.line.under_floor
        if self.report_missing:
            score += WEIGHTS["report_missing"]
        return score


@dataclass(frozen=True)
class Enrolment:
    """The latest enrolment snapshot, summed by school and by village of residence."""

    computed_at: datetime
    total: int
    by_school: dict[int, int]
    by_village: dict[int | None, int]


@dataclass
class Dashboard:
    today: date
    enrolment: Enrolment | None
    year: Figures  # the school year so far (running totals to this month)
    month: periods.Period
    month_counts: Counter[str]  # this month's flows: new suspected, dropouts, returns
    cases_by_stage: dict[str, int]  # open cases, by stage
    ledgers: dict[str, int]  # open entries of the 疑似辍学台账 and the 辍学台账
    listed: int  # school-age children on the villages' census
    findings: dict[str, int]  # the latest comparison's findings, by kind
    overdue: int  # open work items past their day, below the reader
    report_month: periods.Period
    reports: list[Submission]
    units: list[UnitRow] = field(default_factory=list)  # sorted by attention, most first

    @property
    def cases_open(self) -> int:
        return sum(self.cases_by_stage.values())

    @property
    def reports_in(self) -> int:
        return sum(1 for r in self.reports if r.state != "missing")


def report_month(today: date, cutoff: int) -> periods.Period:
    """The month whose report the dashboard follows: this one once its cut-off day has passed,
    else the one before (the latest that was due)."""
    month = periods.current_month(today)
    return month if today > due_on(month, cutoff) else periods.previous_month(month)


def dashboard(session: Session) -> Dashboard:
    """The reader's picture (about twenty queries, whatever the township's size)."""
    today = clock.today()
    settings = settings_of(session)
    month = periods.current_month(today)
    year = summary_of(session, periods.ytd_period(month))
    reported = report_month(today, settings.report_cutoff_day)
    schools = list(session.scalars(select(School).order_by(School.id)))
    reports = {r.school_id: r for r in session.scalars(select(MonthlyReport).where(MonthlyReport.month == reported.key))}
    due = due_on(reported, settings.report_cutoff_day)
    submissions = {s.id: Submission(s, reports.get(s.id), due) for s in schools}
    cases = _open_cases(session)
    overdue = _overdue_by_unit(session, today)
    findings = _findings(session)
    board = Dashboard(
        today=today, enrolment=_enrolment(session), year=year, month=month,
        month_counts=_month_counts(session, month), cases_by_stage=_by_stage(cases), ledgers=_by_ledger(cases),
        listed=_listed(session),
        findings=_by_kind(findings),
        overdue=sum(overdue.values()), report_month=reported, reports=list(submissions.values()))
    board.units = _units(session, board, schools, submissions, cases, overdue, findings)
    return board


def _open_cases(session: Session) -> list[Any]:
    """Open cases by stage, school, village and ledger (a filed 流失报告 moves a child from the
    疑似辍学台账 to the 辍学台账)."""
    reports = dropout_reports()
    reported = reports.c.case_id.is_not(None).label("reported")
    return list(session.execute(select(Case.stage, Case.school_id, Case.village_id, reported, func.count(Case.id))
                                .outerjoin(reports, reports.c.case_id == Case.id)
                                .where(Case.stage != Stage.CLOSED.value)
                                .group_by(Case.stage, Case.school_id, Case.village_id, reported)).all())


def _by_stage(cases: list[Any]) -> dict[str, int]:
    counts = {stage.value: 0 for stage in OPEN_STAGES}
    for stage, _school, _village, _reported, n in cases:
        counts[stage] = counts.get(stage, 0) + n
    return counts


def _by_ledger(cases: list[Any]) -> dict[str, int]:
    counts = {"suspected": 0, "dropouts": 0}
    for _stage, _school, _village, reported, n in cases:
        counts["dropouts" if reported else "suspected"] += n
    return counts


def _overdue_by_unit(session: Session, today: date) -> dict[tuple[str, int | None], int]:
    rows = session.execute(select(WorkItem.owner_unit_kind, WorkItem.owner_unit_id, func.count(WorkItem.id))
                           .where(WorkItem.closed_at.is_(None), WorkItem.due_on < today)
                           .group_by(WorkItem.owner_unit_kind, WorkItem.owner_unit_id)).all()
    return {(kind, unit_id): n for kind, unit_id, n in rows}


def _findings(session: Session) -> dict[tuple[str, int | None], int]:
    rows = session.execute(select(CensusFinding.kind, CensusFinding.village_id, func.count(CensusFinding.id))
                           .group_by(CensusFinding.kind, CensusFinding.village_id)).all()
    return {(kind, village_id): n for kind, village_id, n in rows}


def _by_kind(findings: dict[tuple[str, int | None], int]) -> Counter[str]:
    total: Counter[str] = Counter()
    for (kind, _village), n in findings.items():
        total[kind] += n
    return total


def _listed(session: Session) -> int:
    return session.scalar(select(func.count(CensusChild.id)).where(CensusChild.source == "census")) or 0


def _month_counts(session: Session, month: periods.Period) -> Counter[str]:
    _at, rows = stored_rows(session, month.key, by_school_and_grade=True)
    total: Counter[str] = Counter()
    for row in rows:
        total.update(counted(row))
    return total


def _enrolment(session: Session) -> Enrolment | None:
    """Three small queries: the latest snapshot, its counts by school and by village."""
    snapshot = session.execute(select(FigureSnapshot.id, FigureSnapshot.computed_at)
                               .where(FigureSnapshot.kind == ENROLMENT)
                               .order_by(FigureSnapshot.id.desc()).limit(1)).first()
    if snapshot is None:
        return None
    summed = func.sum(EnrolmentCount.count)
    of_snapshot = EnrolmentCount.snapshot_id == snapshot.id
    by_school = {i: int(n) for i, n in session.execute(  # PostgreSQL sums as numeric
        select(EnrolmentCount.school_id, summed).where(of_snapshot).group_by(EnrolmentCount.school_id))}
    by_village = {i: int(n) for i, n in session.execute(
        select(EnrolmentCount.residence_village_id, summed).where(of_snapshot)
        .group_by(EnrolmentCount.residence_village_id))}
    return Enrolment(snapshot.computed_at, sum(by_school.values()), by_school, by_village)


def _units(session: Session, board: Dashboard, schools: list[School], submissions: dict[int, Submission],
           cases: list[Any], overdue: dict[tuple[str, int | None], int],
           findings: dict[tuple[str, int | None], int]) -> list[UnitRow]:
    lines = {line.link.get("school_id"): line for line in board.year.schools}
    enrolled = board.enrolment.by_school if board.enrolment else {}
    residents = board.enrolment.by_village if board.enrolment else {}
    rows: dict[tuple[str, int], UnitRow] = {}
    for school in schools:
        rows["school", school.id] = UnitRow("school", school.id, school.name, enrolled=enrolled.get(school.id, 0),
                                           line=lines.get(school.id), report=submissions.get(school.id),
                                           overdue=overdue.get((UnitKind.SCHOOL.value, school.id), 0))
    listed = dict(session.execute(select(CensusChild.village_id, func.count(CensusChild.id))
                                  .where(CensusChild.source == "census").group_by(CensusChild.village_id)).all())
    for village_id, name in session.execute(select(Village.id, Village.name).order_by(Village.id)):
        rows["village", village_id] = UnitRow("village", village_id, name, enrolled=residents.get(village_id, 0),
                                             listed=listed.get(village_id, 0),
                                             nowhere=findings.get(("nowhere", village_id), 0),
                                             overdue=overdue.get((UnitKind.VILLAGE.value, village_id), 0))
    for _stage, school_id, village_id, _reported, n in cases:
        if ("school", school_id) in rows:
            rows["school", school_id].cases_open += n
        if village_id is not None and ("village", village_id) in rows:
            rows["village", village_id].cases_open += n
    return sorted(rows.values(), key=lambda r: (-r.attention, r.kind != "school", r.name))


def stage_label(stage: str) -> str:
    return STAGE_LABELS[Stage(stage)]
