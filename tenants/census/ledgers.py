"""The three ledgers (三本台账), read from the census's findings, the rolls and the case file.

They are read models, not tables: one truth per fact (DOMAIN.md §8a).

* 适龄儿童少年台账 (`children`): every child aged 6–15 on the reference day on the villages'
  census or the police register (one row per ID number, the census's first), with where they
  study: a school of this township and its class (a record 在读, 休学 or 复学), "已在外乡镇就读"
  (the reconciliation's `elsewhere`, never more), or not in school (its `nowhere` / `away`
  finding, with the case's stage). At the school level (a school, or the township choosing a
  school) it is the school's own roll of school-age children. With it, the village statistic
  table of §14, one line per 组/屯.
* 疑似辍学台账 (`suspected`): every case (open or closed) that never got a 流失报告.
* 辍学台账 (`dropouts`): every case with a 流失报告 (a confirmed dropout), dated by that entry.

An entry is open while its case is; it is closed (销号) only by the case file's own closing
(`cases.service.do_close_case`: a return with its date and class, a transfer with the receiving
school's proof, an approved exemption, 送教上门, death), and the ledger shows the kind, the date,
the evidence and who closed it (the timeline's CLOSED entry). The case ledgers cover one school
year (1 September – 31 August): the cases open at some time in it.

Every read goes through the reader's scope (a village its residents' cases and its census, a
school its own roll and cases, the township all); a township reader may narrow to a village or
a school. A page costs a fixed number of queries, never one per row. Every export is audited.
"""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import CHINA, clock, school_year
from baoxue.platform.db import township_id_of
from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import scope_of
from baoxue.platform.spreadsheets import safe_cell
from baoxue.platform.templating import as_moment, mask_id_number
from baoxue.tenants.cases.flows import CLOSING_LABELS, CLOSINGS, STAGE_LABELS, Closing, EntryKind, Stage
from baoxue.tenants.cases.models import Case, CaseEntry, HomeVisit
from baoxue.tenants.cases.service import reason_label
from baoxue.tenants.census.crosscheck import ON_A_ROLL
from baoxue.tenants.census.events import Event
from baoxue.tenants.census.models import CensusChild, CensusFinding
from baoxue.tenants.census.service import reference_day, school_age_births
from baoxue.tenants.students.models import STATUS_LABELS, Student
from baoxue.tenants.tenancy.models import School, SchoolClass, Township, Village

LEDGERS = {"children": "适龄儿童少年台账", "suspected": "疑似辍学台账", "dropouts": "辍学台账"}
POVERTY_REASON = "poverty"  # flows.REASONS: 家庭经济困难
OUT_FINDINGS = ("nowhere", "away")  # not in school: the village and the school persuade
YEARS_BACK = 5  # how many earlier school years the selector offers
# A page lists at most this many children of the 适龄儿童少年台账 (a township has thousands): the
# counts above it are whole, a village's list is whole, and the Excel holds every row.
ROWS_SHOWN = 300
FOOTER = "审核人：＿＿＿＿＿＿　　填表人：＿＿＿＿＿＿　　联系电话：＿＿＿＿＿＿＿＿"
_CLASSES = SchoolClass.__table__  # class names read by hand, narrowed to the township: a village sees no class


def year_label(year: int) -> str:
    return f"{year}—{year + 1}学年"


_NUMERALS = {c: n for n, c in enumerate("零一二三四五六七八九", start=0)}


def _natural(text: str) -> tuple[Any, ...]:
    """一组, 二组, 十一组, 3组 in their order (a group's name counts in Chinese numerals or digits)."""
    def number(found: re.Match[str]) -> str:
        word = found.group(0)
        if "十" in word:
            tens, _, ones = word.partition("十")
            value = (_NUMERALS.get(tens, 1) if tens else 1) * 10 + (_NUMERALS.get(ones, 0) if ones else 0)
        else:
            value = int("".join(str(_NUMERALS[c]) for c in word))
        return f"{value:04d}"

    return (re.sub(r"\d+", lambda m: f"{int(m.group(0)):04d}", re.sub(r"[零一二三四五六七八九十]+", number, text)),)


def _day(moment: Any) -> date | None:
    found = as_moment(moment)
    return found.astimezone(CHINA).date() if found is not None else None


# --- what the reader asked for ----------------------------------------------------------------

@dataclass(frozen=True)
class LedgerFilters:
    year: int  # the school year, by the year it began
    village_id: int | None = None  # a township reader's choice
    school_id: int | None = None

    @property
    def year_label(self) -> str:
        return year_label(self.year)

    def bounds(self) -> tuple[datetime, datetime]:
        return (datetime.combine(date(self.year, 9, 1), time(0), tzinfo=CHINA),
                datetime.combine(date(self.year + 1, 9, 1), time(0), tzinfo=CHINA))

    def query(self, *, year: bool = True) -> dict[str, Any]:
        values = {"year": self.year if year else None, "village_id": self.village_id, "school_id": self.school_id}
        return {k: v for k, v in values.items() if v is not None}


def filters_for(session: Session, year: int | None = None, village_id: int | None = None,
                school_id: int | None = None) -> LedgerFilters:
    """The reader's filters: the year (this one by default, never a future one, at most a few
    back); a village and a school only for a township reader (others read their own unit)."""
    current = school_year()
    chosen = current if year is None or not current - YEARS_BACK <= year <= current else year
    scope = scope_of(session)
    if scope is None or not scope.whole_township:
        return LedgerFilters(chosen)
    return LedgerFilters(chosen, village_id, school_id)


def years() -> list[tuple[int, str]]:
    current = school_year()
    return [(y, year_label(y)) for y in range(current, current - YEARS_BACK - 1, -1)]


def choices(session: Session) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The villages and schools a township reader may narrow to (none for anyone else)."""
    scope = scope_of(session)
    if scope is None or not scope.whole_township:
        return [], []
    villages = [(i, n) for i, n in session.execute(select(Village.id, Village.name).order_by(Village.name))]
    schools = [(i, n) for i, n in session.execute(select(School.id, School.name).order_by(School.id))]
    return villages, schools


def unit_name(session: Session, filters: LedgerFilters) -> str:
    """Whose ledger it is: the school or village chosen or read, else the township."""
    scope = scope_of(session)
    school_id = filters.school_id or (scope.unit_id if scope and scope.unit_kind == UnitKind.SCHOOL else None)
    village_id = filters.village_id or (scope.unit_id if scope and scope.unit_kind == UnitKind.VILLAGE else None)
    names = []
    if village_id is not None:
        names.append(session.scalar(select(Village.name).where(Village.id == village_id)) or "")
    if school_id is not None:
        names.append(session.scalar(select(School.name).where(School.id == school_id)) or "")
    if not names:
        names.append(session.scalar(select(Township.name).where(Township.id == township_id_of(session))) or "")
    return "".join(names)


def _at_school_level(session: Session, filters: LedgerFilters) -> int | None:
    """The school whose roll is the children's ledger (a school reader's own, or the one chosen)."""
    scope = scope_of(session)
    if scope is not None and scope.unit_kind == UnitKind.SCHOOL:
        return scope.unit_id
    return filters.school_id


# --- the ledger of school-age children --------------------------------------------------------

IN_SCHOOL, ELSEWHERE, OUT, UNKNOWN = "in_school", "elsewhere", "out", "unknown"
STATE_LABELS = {IN_SCHOOL: "在本乡镇就读", ELSEWHERE: "已在外乡镇就读", OUT: "未就读", UNKNOWN: "待核实"}


@dataclass
class ChildRow:
    name: str
    id_number: str
    gender: str
    birth_date: date
    village: str
    village_group: str
    householder: str  # 户主（监护人）姓名
    sources: str  # 文化户口、户籍 (the roll, at the school level)
    state: str  # STATE_LABELS
    school: str = ""
    class_name: str = ""
    status: str = ""  # 在读 / 休学 / 复学
    case_id: int | None = None
    stage: str = ""
    reason_code: str = ""
    reason: str = ""
    attempts: int = 0
    poverty: str = ""  # 脱贫户 / 低保户 ... or 贫困户 (the record's flag)
    note: str = ""

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def group(self) -> str:
        """The line of the statistic table: 村 and 组（屯）."""
        return f"{self.village}{self.village_group}" or "（未填写村组）"

    @property
    def where(self) -> str:
        if self.state == IN_SCHOOL:
            return f"{self.school}{self.class_name}" + ("（休学）" if self.status == STATUS_LABELS["02"] else "")
        if self.state == OUT:
            return f"未就读（{self.stage}）" if self.stage else "未就读"
        return self.state_label


@dataclass
class StatLine:
    """One line of 适龄儿童少年接受义务教育情况统计表."""

    group: str
    due: int = 0  # 应接受义务教育人数
    accepted: int = 0  # 已接受人数
    accepted_poor: int = 0  # 其中享受扶贫政策人数
    out: int = 0  # 未接受人数
    out_poverty: int = 0  # 其中因经济困难辍学人数
    unknown: int = 0  # 待核实: neither found in school nor found out of it
    elsewhere: int = 0  # of the accepted, in another township

    @property
    def rate(self) -> str:
        """辍学率(%): not accepted over due, two decimals."""
        return f"{self.out * 100 / self.due:.2f}" if self.due else "0.00"

    @property
    def remark(self) -> str:
        parts = []
        if self.elsewhere:
            parts.append(f"外乡镇就读{self.elsewhere}人")
        if self.unknown:
            parts.append(f"待核实{self.unknown}人")
        return "；".join(parts)

    def add(self, row: ChildRow) -> None:
        self.due += 1
        if row.state in (IN_SCHOOL, ELSEWHERE):
            self.accepted += 1
            self.accepted_poor += bool(row.poverty)
            self.elsewhere += row.state == ELSEWHERE
        elif row.state == OUT:
            self.out += 1
            self.out_poverty += row.reason_code == POVERTY_REASON
        else:
            self.unknown += 1


@dataclass
class ChildrenLedger:
    reference_day: date
    rows: list[ChildRow]
    school_level: bool

    @property
    def lines(self) -> list[StatLine]:
        by_group: dict[str, StatLine] = {}
        for row in self.rows:
            by_group.setdefault(row.group, StatLine(row.group)).add(row)
        return [by_group[g] for g in sorted(by_group, key=_natural)]

    @property
    def total(self) -> StatLine:
        total = StatLine("合计")
        for row in self.rows:
            total.add(row)
        return total

    @property
    def out_rows(self) -> list[ChildRow]:
        return [r for r in self.rows if r.state == OUT]


def children_ledger(session: Session, filters: LedgerFilters) -> ChildrenLedger:
    """The school-age children of the reader's scope and where they study (at most eight queries)."""
    day = reference_day()
    school_id = _at_school_level(session, filters)
    if school_id is not None:
        return ChildrenLedger(day, _roll_rows(session, day, school_id, filters.village_id), True)
    return ChildrenLedger(day, _listed_rows(session, day, filters.village_id), False)


def _names(session: Session, class_ids: Iterable[int | None]) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    villages = dict(session.execute(select(Village.id, Village.name)).all())
    schools = dict(session.execute(select(School.id, School.name)).all())
    wanted = {c for c in class_ids if c}
    classes = dict(session.execute(select(_CLASSES.c.id, _CLASSES.c.name).where(
        _CLASSES.c.township_id == township_id_of(session), _CLASSES.c.id.in_(wanted))).all()) if wanted else {}
    return villages, schools, classes


def _roll_rows(session: Session, day: date, school_id: int, village_id: int | None) -> list[ChildRow]:
    earliest, latest = school_age_births(day)
    query = select(Student).where(Student.school_id == school_id, Student.status.in_(ON_A_ROLL),
                                  Student.birth_date.between(earliest, latest))
    if village_id is not None:
        query = query.where(Student.residence_village_id == village_id)
    students = list(session.scalars(query))
    villages, schools, classes = _names(session, (s.class_id for s in students))
    rows = [ChildRow(s.name, s.id_number or "", s.gender, s.birth_date, villages.get(s.residence_village_id or 0, ""),
                     "", s.guardian.name, "学籍", IN_SCHOOL, schools.get(s.school_id, ""),
                     classes.get(s.class_id or 0, ""), STATUS_LABELS.get(s.status, s.status),
                     poverty="贫困户" if s.is_poor_household else "") for s in students]
    rows.sort(key=lambda r: (r.village, r.class_name, r.name))
    return rows


def _listed_rows(session: Session, day: date, village_id: int | None) -> list[ChildRow]:
    earliest, latest = school_age_births(day)
    listed = select(CensusChild).where(CensusChild.birth_date.between(earliest, latest))
    if village_id is not None:  # the village's children, and the other list's rows of the same children
        ids_here = select(CensusChild.id_number).where(CensusChild.village_id == village_id)
        listed = listed.where((CensusChild.village_id == village_id) | CensusChild.id_number.in_(ids_here))
    numbers = select(listed.subquery().c.id_number)
    merged: dict[str, ChildRow] = {}
    sources: dict[str, set[str]] = defaultdict(set)
    village_ids: dict[str, int | None] = {}
    for c in session.scalars(listed.order_by(CensusChild.source, CensusChild.id)):  # "census" before "register"
        sources[c.id_number].add("文化户口" if c.source == "census" else "户籍")
        row = merged.get(c.id_number)
        if row is None:
            merged[c.id_number] = ChildRow(c.name, c.id_number, c.gender, c.birth_date, "", c.village_group,
                                           c.guardian_name, "", UNKNOWN, note=c.note)
            village_ids[c.id_number] = c.village_id
        else:
            village_ids[c.id_number] = village_ids[c.id_number] or c.village_id
            row.village_group = row.village_group or c.village_group
            row.householder = row.householder or c.guardian_name
    students = {s.id_number: s for s in session.scalars(select(Student).where(
        Student.id_number.in_(numbers), Student.status.in_(ON_A_ROLL)).order_by(Student.id))} if merged else {}
    findings = {f.id_number: f for f in session.scalars(select(CensusFinding).where(
        CensusFinding.id_number.in_(numbers), CensusFinding.kind.in_((*OUT_FINDINGS, "elsewhere", "twice"))))} \
        if merged else {}
    case_ids = [f.case_id for f in findings.values() if f.case_id]
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(case_ids)))} if case_ids else {}
    attempts = _attempts(session, list(cases))
    villages, schools, classes = _names(session, (s.class_id for s in students.values()))
    for number, row in merged.items():
        row.sources = "、".join(sorted(sources[number], key=("文化户口", "户籍").index))
        row.village = villages.get(village_ids[number] or 0, "")
        student, finding = students.get(number), findings.get(number)
        if student is not None:
            row.state, row.school, row.class_name = IN_SCHOOL, schools.get(student.school_id, ""), \
                classes.get(student.class_id or 0, "")
            row.status = STATUS_LABELS.get(student.status, student.status)
            row.poverty = (finding.poverty if finding else "") or ("贫困户" if student.is_poor_household else "")
        elif finding is not None and finding.kind == "elsewhere":
            row.state, row.poverty = ELSEWHERE, finding.poverty
        elif finding is not None and finding.kind in OUT_FINDINGS:
            row.state, row.poverty = OUT, finding.poverty
            if finding.kind == "away":
                row.note = "户在人不在，需核实在外就读情况" + (f"；{row.note}" if row.note else "")
            case = cases.get(finding.case_id or 0)
            if case is not None:
                row.case_id, row.stage = case.id, STAGE_LABELS[Stage(case.stage)]
                row.reason_code, row.reason = case.reason_code, reason_label(case.reason_code, case.reason_text)
                row.attempts = attempts.get(case.id, 0)
                row.poverty = row.poverty or case.priority_household
        else:
            row.note = "学籍中未找到在读记录，最近一次比对也未列出：请重新比对核实" + (f"；{row.note}" if row.note else "")
    rows = list(merged.values())
    rows.sort(key=lambda r: (r.village, _natural(r.village_group), r.name))
    return rows


def _attempts(session: Session, case_ids: list[int]) -> dict[int, int]:
    if not case_ids:
        return {}
    return dict(session.execute(select(HomeVisit.case_id, func.count(HomeVisit.id)).where(
        HomeVisit.case_id.in_(case_ids), HomeVisit.attempt.is_not(None)).group_by(HomeVisit.case_id)).all())


# --- the ledgers of suspected and confirmed dropouts -------------------------------------------

@dataclass
class CaseRow:
    case: Case
    school: str
    class_name: str
    village: str
    gender: str = ""
    birth_date: date | None = None
    parent: str = ""
    reported_on: date | None = None  # the 流失报告 (dropouts)
    attempts: int = 0
    poverty: str = ""
    closed_on: date | None = None
    closed_by: str = ""  # the CLOSED entry's actor_name
    evidence: str = ""
    return_class: str = ""

    @property
    def is_open(self) -> bool:
        return self.case.stage != Stage.CLOSED.value

    @property
    def stage_label(self) -> str:
        return STAGE_LABELS[Stage(self.case.stage)]

    @property
    def closing_label(self) -> str:
        return CLOSING_LABELS[Closing(self.case.closing)] if self.case.closing else ""

    @property
    def reason(self) -> str:
        return reason_label(self.case.reason_code, self.case.reason_text)

    @property
    def opened_on(self) -> date | None:
        return _day(self.case.opened_at)

    @property
    def has_document(self) -> bool:
        return bool(self.case.closing_document_key)


@dataclass
class CaseLedger:
    kind: str  # suspected | dropouts
    filters: LedgerFilters
    rows: list[CaseRow] = field(default_factory=list)

    @property
    def title(self) -> str:
        return LEDGERS[self.kind]

    @property
    def open(self) -> int:
        return sum(r.is_open for r in self.rows)

    @property
    def closed(self) -> int:
        return len(self.rows) - self.open

    @property
    def by_closing(self) -> Counter[str]:
        return Counter(r.closing_label for r in self.rows if not r.is_open)

    @property
    def summary(self) -> str:
        """The return list's line (§14): 共有N名…已销号N名…仍有N名未销号."""
        who = "疑似辍学学生" if self.kind == "suspected" else "辍学学生"
        returned = self.by_closing.get(Closing.RETURNED.label, 0)
        return (f"共有{who}{len(self.rows)}名，已销号{self.closed}名（其中返校复学{returned}名），"
                f"仍有{self.open}名未销号。")


def dropout_reports() -> Any:
    return (select(CaseEntry.case_id.label("case_id"), func.min(CaseEntry.occurred_at).label("reported_at"))
            .where(CaseEntry.kind == EntryKind.DROPOUT_REPORT.value).group_by(CaseEntry.case_id).subquery())


def case_ledger(session: Session, kind: str, filters: LedgerFilters) -> CaseLedger:
    """疑似辍学台账 or 辍学台账 of the school year: at most eight queries."""
    starts, ends = filters.bounds()
    reports = dropout_reports()
    query = select(Case, reports.c.reported_at).outerjoin(reports, reports.c.case_id == Case.id).where(
        Case.closed_at.is_(None) | (Case.closed_at >= starts))
    if kind == "dropouts":
        query = query.where(reports.c.reported_at.is_not(None), reports.c.reported_at < ends)
    else:
        query = query.where(reports.c.reported_at.is_(None), Case.opened_at < ends)
    if filters.village_id is not None:
        query = query.where(Case.village_id == filters.village_id)
    if filters.school_id is not None:
        query = query.where(Case.school_id == filters.school_id)
    found = session.execute(query.order_by(Case.stage == Stage.CLOSED.value, Case.opened_at, Case.id)).all()
    cases = [c for c, _ in found]
    ids = [c.id for c in cases]
    villages, schools, classes = _names(session, (i for c in cases for i in (c.class_id, c.return_class_id)))
    students = {s.id: s for s in session.scalars(select(Student).where(
        Student.id.in_([c.student_id for c in cases])))} if cases else {}
    closings = {cid: (name, at) for cid, name, at in session.execute(
        select(CaseEntry.case_id, CaseEntry.actor_name, CaseEntry.occurred_at).where(
            CaseEntry.case_id.in_(ids), CaseEntry.kind == EntryKind.CLOSED.value))} if ids else {}
    attempts = _attempts(session, ids)
    rows = []
    for case, reported_at in found:
        s = students.get(case.student_id)
        row = CaseRow(case, schools.get(case.school_id, ""), classes.get(case.class_id or 0, ""),
                      villages.get(case.village_id or 0, ""), gender=s.gender if s else "",
                      birth_date=s.birth_date if s else None, parent=s.guardian.name if s else "",
                      reported_on=_day(reported_at), attempts=attempts.get(case.id, 0),
                      poverty=case.priority_household or ("贫困户" if s is not None and s.is_poor_household else ""))
        if case.stage == Stage.CLOSED.value:
            name, at = closings.get(case.id, ("", case.closed_at))
            row.closed_by, row.closed_on = name, _day(case.closed_at or at)
            row.return_class = classes.get(case.return_class_id or 0, "")
            row.evidence = _evidence(case, row.return_class)
        rows.append(row)
    return CaseLedger(kind, filters, rows)


def _evidence(case: Case, return_class: str) -> str:
    """What the closing rests on, as its closing requires it (flows.CLOSINGS)."""
    parts = []
    if case.closing == Closing.RETURNED.value and case.return_date:
        parts.append(f"{case.return_date.isoformat()}返校，编入{return_class or '原班级'}")
    if case.closing_evidence:
        parts.append(case.closing_evidence)
    document = CLOSINGS[Closing(case.closing)].document if case.closing else ""
    if document and case.closing_document_key:
        parts.append(f"附{document}")
    return "；".join(parts)


# --- the first page ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Overview:
    children: ChildrenLedger
    suspected: CaseLedger
    dropouts: CaseLedger


def overview(session: Session, filters: LedgerFilters) -> Overview:
    return Overview(children_ledger(session, filters), case_ledger(session, "suspected", filters),
                    case_ledger(session, "dropouts", filters))


def ledger(session: Session, kind: str, filters: LedgerFilters) -> ChildrenLedger | CaseLedger:
    return children_ledger(session, filters) if kind == "children" else case_ledger(session, kind, filters)


# --- Excel ------------------------------------------------------------------------------------

STAT_HEADERS = ("序号", "自然村（屯）", "应接受义务教育人数", "已接受人数", "其中享受扶贫政策人数", "未接受人数",
                "其中因经济困难辍学人数", "辍学率(%)", "备注")
STAT_WIDTHS = (6, 18, 12, 10, 12, 10, 12, 10, 24)
CHILD_HEADERS = ("序号", "自然村（屯）", "姓名", "性别", "出生年月", "身份证号", "户主姓名", "名单", "就读情况",
                 "就读学校", "年级班级", "学籍状态", "享受扶贫政策", "备注")
CHILD_WIDTHS = (6, 16, 10, 6, 10, 22, 10, 12, 14, 20, 14, 10, 12, 24)
OUT_HEADERS = ("序号", "自然村（屯）", "姓名", "出生年月", "户主姓名", "辍学原因", "入户劝返次数", "备注")
OUT_WIDTHS = (6, 16, 10, 10, 10, 24, 10, 28)
CASE_HEADERS = ("序号", "姓名", "性别", "出生年月", "学校", "年级班级", "居住村", "家长姓名", "立案时间", "辍学时间",
                "流失报告时间", "辍学原因", "去向", "劝返次数", "享受扶贫政策", "当前状态", "销号方式", "销号日期",
                "销号依据", "销号人", "备注")
CASE_WIDTHS = (6, 10, 6, 10, 18, 14, 12, 10, 12, 12, 12, 20, 20, 8, 12, 10, 14, 12, 30, 16, 14)
SUSPECTED_SKIP = {"流失报告时间", "去向"}  # a suspected case has filed none


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _month(day: date | None) -> str:
    return day.strftime("%Y-%m") if day else ""


def child_cells(n: int, r: ChildRow) -> list[Any]:
    return [n, r.group, r.name, r.gender, _month(r.birth_date), r.masked_id, r.householder, r.sources,
            r.state_label, r.school, r.class_name, r.status, r.poverty, r.note]


def stat_cells(n: int | str, line: StatLine) -> list[Any]:
    return [n, line.group, line.due, line.accepted, line.accepted_poor, line.out, line.out_poverty, line.rate,
            line.remark]


def out_cells(n: int, r: ChildRow) -> list[Any]:
    remark = "；".join(filter(None, (f"个案阶段：{r.stage}" if r.stage else "", r.note)))
    return [n, r.group, r.name, _month(r.birth_date), r.householder, r.reason, r.attempts, remark]


def case_headers(kind: str) -> tuple[str, ...]:
    return tuple(h for h in CASE_HEADERS if kind == "dropouts" or h not in SUSPECTED_SKIP)


def case_cells(kind: str, n: int, r: CaseRow) -> list[Any]:
    c = r.case
    values = dict(zip(CASE_HEADERS, [
        n, c.student_name, r.gender, _month(r.birth_date), r.school, r.class_name, r.village, r.parent,
        _iso(r.opened_on), _iso(c.first_absent_on), _iso(r.reported_on), r.reason, c.whereabouts, r.attempts,
        r.poverty, "未销号" if r.is_open else "已销号", r.closing_label, _iso(r.closed_on), r.evidence, r.closed_by,
        "；".join(filter(None, (r.stage_label if r.is_open else "", "再次辍学" if c.previous_case_id else "")))]))
    return [values[h] for h in case_headers(kind)]


def _sheet(wb: Workbook, title: str, heading: str, headers: Sequence[str], widths: Sequence[int],
           rows: Iterable[Sequence[Any]], *, before: Sequence[str] = ()) -> None:
    """A sheet as officials lay it out (DOMAIN.md §14): the title naming the unit and period,
    填报单位（盖章）/填报时间, the table with borders, the signature line; landscape, one page wide."""
    ws = wb.create_sheet(title)
    width = len(headers)
    ws.append([safe_cell(heading)])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 28
    stamp = ["填报单位（盖章）："] + [None] * (width - 1)
    stamp[max(width - 3, 1)] = f"填报时间：{clock.today().isoformat()}"
    ws.append(stamp)
    for line in before:
        ws.append([safe_cell(line)])
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=width)
    ws.append(list(headers))
    header_row = ws.max_row
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = box
    for row in rows:
        ws.append([safe_cell(v) for v in row])
        for cell in ws[ws.max_row]:
            cell.border = box
            cell.alignment = Alignment(vertical="center", wrap_text=True)
            if isinstance(cell.value, str):
                cell.number_format = "@"
    ws.append([])
    ws.append([FOOTER])
    for index, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = w
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)


def do_export_ledger(session: Session, kind: str, filters: LedgerFilters) -> bytes:
    """One ledger as Excel in the layouts of DOMAIN.md §14. Audited with the ledger and its rows."""
    unit = unit_name(session, filters)
    wb = Workbook()
    wb.remove(wb.active)
    if kind == "children":
        found = children_ledger(session, filters)
        period = f"{filters.year_label}，年龄计算日{found.reference_day.isoformat()}"
        total = found.total
        _sheet(wb, "统计表", f"{unit}适龄儿童少年接受义务教育情况统计表（{period}）", STAT_HEADERS, STAT_WIDTHS,
               [*(stat_cells(n, line) for n, line in enumerate(found.lines, start=1)), stat_cells("", total)])
        _sheet(wb, "适龄儿童少年台账", f"{unit}适龄儿童少年台账（{period}）", CHILD_HEADERS, CHILD_WIDTHS,
               (child_cells(n, r) for n, r in enumerate(found.rows, start=1)))
        _sheet(wb, "未接受名单", f"{unit}应接受义务教育未接受名单（{period}）", OUT_HEADERS, OUT_WIDTHS,
               (out_cells(n, r) for n, r in enumerate(found.out_rows, start=1)))
        count = len(found.rows)
    else:
        cases = case_ledger(session, kind, filters)
        headers = case_headers(kind)
        _sheet(wb, LEDGERS[kind], f"{unit}{LEDGERS[kind]}（{filters.year_label}）", headers,
               [w for h, w in zip(CASE_HEADERS, CASE_WIDTHS) if h in headers],
               (case_cells(kind, n, r) for n, r in enumerate(cases.rows, start=1)), before=[cases.summary])
        count = len(cases.rows)
    audit.record(session, Event.EXPORTED, entity_type="census_ledger", entity_id=kind, changes={
        "ledger": LEDGERS[kind], "rows": count, "year": filters.year, "village_id": filters.village_id,
        "school_id": filters.school_id})
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
