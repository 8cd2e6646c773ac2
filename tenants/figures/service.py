"""Figures: enrolment by school, grade and village of residence (DOMAIN.md §5), the dropout and
retention figures of a period at every level against the township's targets, and rebuilding them.

Pages read stored counts (`PeriodCount`, written by the jobs in `tasks.py`) summed in the
reader's scope; only the list of children behind a number (`children`) counts on demand, with
the same definition (`measures.members`).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, null, select
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.bulk import insert_rows
from baoxue.platform.clock import CHINA, clock, utcnow
from baoxue.platform.concepts import notify
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import InvalidInput, not_found
from baoxue.platform.jobs import JobRun, record_job, request_job
from baoxue.platform.scoping import township_facts
from baoxue.tenants.figures import measures
from baoxue.tenants.figures.events import Event
from baoxue.tenants.figures.models import MEASURES, EnrolmentCount, FigureSnapshot, FigureTarget, PeriodCount
from baoxue.tenants.figures.periods import Period
from baoxue.tenants.figures.settings import (
    TARGET_FIELDS,
    FigureSettings,
    settings_of,
    target_label,
    write_township,
)
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import School, SchoolClass, Village
from baoxue.tenants.tenancy.service import GRADE_NAMES, SCHOOL_GRADES

ENROLMENT = "enrolment"
ENROLLED_STATUSES = ("01", "05")  # 在读, 复学


def rebuild_enrolment_figures(session: Session, key: str) -> dict[str, Any]:
    """Count enrolled students in one grouped query and store the counts, once per job key:
    run again for the same key, it stores nothing and answers what the first run stored."""
    stored = session.scalar(select(FigureSnapshot.id).where(FigureSnapshot.kind == ENROLMENT,
                                                            FigureSnapshot.job_key == key))
    if stored is not None:
        return {"total": _total(session, stored)}
    township_id = tenant_of(session).township_id
    snapshot = FigureSnapshot(township_id=township_id, kind=ENROLMENT, job_key=key, computed_at=utcnow())
    session.add(snapshot)
    session.flush()
    rows = session.execute(
        select(Student.school_id, Student.class_id, SchoolClass.grade, Student.residence_village_id, Student.gender,
               func.count(Student.id))
        .join(SchoolClass, SchoolClass.id == Student.class_id, isouter=True)
        .where(Student.status.in_(ENROLLED_STATUSES))
        .group_by(Student.school_id, Student.class_id, SchoolClass.grade, Student.residence_village_id,
                  Student.gender)
    ).all()
    insert_rows(session, EnrolmentCount, [
        {"township_id": township_id, "snapshot_id": snapshot.id, "school_id": school_id, "class_id": class_id,
         "grade": grade or 0, "residence_village_id": village_id, "gender": gender, "count": count}
        for school_id, class_id, grade, village_id, gender, count in rows])
    return {"total": sum(row[-1] for row in rows)}


def _total(session: Session, snapshot_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(EnrolmentCount.count), 0))
                              .where(EnrolmentCount.snapshot_id == snapshot_id)) or 0)


def rebuild_period_figures(session: Session, snapshot: FigureSnapshot, periods: list[Period]) -> dict[str, Any]:
    """Count every period's flows at the grain under the job's snapshot: the facts are read once
    (four queries), each period's rows added; the period's rows of older snapshots are removed
    (a reader takes a period's latest rows)."""
    facts = measures.load(session)
    today, stored = clock.today(), 0
    for period in periods:
        counts = measures.count(facts, period, today)
        insert_rows(session, PeriodCount, [
            {"township_id": snapshot.township_id, "snapshot_id": snapshot.id, "period": period.key,
             "school_id": grain.school_id, "class_id": grain.class_id, "grade": grain.grade,
             "residence_village_id": grain.village_id, **{m: counted[m] for m in MEASURES}}
            for grain, counted in counts.items()])
        session.execute(delete(PeriodCount).where(PeriodCount.period == period.key,
                                                  PeriodCount.snapshot_id < snapshot.id)
                        .execution_options(synchronize_session=False))
        stored += len(counts)
    return {"periods": sorted(p.key for p in periods), "stored": stored}


def rebuild(session: Session, key: str, periods: list[Period]) -> dict[str, Any]:
    """One job's figures, once per key: the enrolment snapshot (the home page) and, under the
    same snapshot, the periods' counts. Run again for the same key, it stores nothing."""
    if session.scalar(select(FigureSnapshot.id).where(FigureSnapshot.kind == ENROLMENT,
                                                      FigureSnapshot.job_key == key)) is not None:
        return {**rebuild_enrolment_figures(session, key), "periods": sorted(p.key for p in periods), "stored": 0}
    enrolment = rebuild_enrolment_figures(session, key)
    snapshot = session.scalars(select(FigureSnapshot).where(FigureSnapshot.kind == ENROLMENT,
                                                           FigureSnapshot.job_key == key)).one()
    stored = rebuild_period_figures(session, snapshot, periods)
    notify("figures_rebuilt", session)  # the county's copy (tenants/county/hooks.py)
    return {**enrolment, **stored}


# --- reading the figures ------------------------------------------------------------------------

@dataclass
class Line:
    """One row of a figures table: the measures summed over its grains, and its targets."""

    label: str
    settings: FigureSettings
    counts: Counter[str] = field(default_factory=Counter)
    ceiling: int | None = None  # hundredths of a percent
    floor: int | None = None
    link: dict[str, Any] = field(default_factory=dict)  # the children page's filter for this row

    def add(self, counted: Mapping[str, int]) -> None:
        self.counts.update(counted)

    def __getitem__(self, measure: str) -> int:
        return self.counts[measure]

    @property
    def start(self) -> int:
        """Enrolled at the start (休学 too where the township counts it)."""
        return self["start_enrolled"] + (self["start_suspended"] if self.settings.suspension_counts else 0)

    @property
    def end(self) -> int:
        return self["end_enrolled"] + (self["end_suspended"] if self.settings.suspension_counts else 0)

    @property
    def should(self) -> int:
        """分母不变: who should be here — the start, plus transfers in, less lawful transfers out,
        deaths and 借读; where 休学 does not count, less those suspended and plus those resumed."""
        base = self.start + self["transfers_in"] - self["transfers_out"] - self["deaths"] - self["elsewhere"]
        if self.settings.suspension_counts:
            return base - self["suspended_deaths"]
        return base - self["suspensions"] + self["resumptions"]

    @property
    def dropout_rate(self) -> float | None:
        """Percent, or None (no one enrolled at the start: shown "—")."""
        return 100 * self["dropouts"] / self.start if self.start else None

    @property
    def retention(self) -> float | None:
        """Percent, never above 100: (still enrolled + graduated) / who should be here."""
        if self.should <= 0:
            return None
        return min(100.0, 100 * (self.end + self["graduations"]) / self.should)

    @property
    def over_ceiling(self) -> bool:
        rate = self.dropout_rate
        return self.ceiling is not None and rate is not None and round(rate * 100) > self.ceiling

    @property
    def under_floor(self) -> bool:
        rate = self.retention
        return self.floor is not None and rate is not None and round(rate * 100) < self.floor

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, **{m: self[m] for m in MEASURES}, "start": self.start, "end": self.end,
                "should": self.should, "dropout_rate": _round(self.dropout_rate), "retention": _round(self.retention),
                "dropout_ceiling": _pct(self.ceiling), "retention_floor": _pct(self.floor),
                "over_ceiling": self.over_ceiling, "under_floor": self.under_floor, "filter": self.link}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _pct(hundredths: int | None) -> float | None:
    return None if hundredths is None else hundredths / 100


def level_of_grade(grade: int) -> str:
    return "primary" if 1 <= grade <= 6 else "junior"


def level_of_school(kind: str) -> str:
    grades = SCHOOL_GRADES.get(kind, range(1, 10))
    return "primary" if max(grades) <= 6 else "junior"


@dataclass
class Figures:
    period: Period
    computed_at: datetime | None
    settings: FigureSettings
    township: list[Line]  # 合计, 小学, 初中
    schools: list[Line]
    grades: list[Line]
    classes: list[Line]
    villages: list[Line]

    @property
    def total(self) -> Line:
        return self.township[0]

    def as_dict(self) -> dict[str, Any]:
        return {"period": self.period.key, "label": self.period.label,
                "computed_at": self.computed_at.isoformat() if self.computed_at else None,
                "suspension_counts": self.settings.suspension_counts,
                "suspension_text": self.settings.suspension_text,
                **{name: [line.as_dict() for line in getattr(self, name)]
                   for name in ("township", "schools", "grades", "classes", "villages")}}


def stored_rows(session: Session, period_key: str, *, by_school_and_grade: bool = False
                ) -> tuple[datetime | None, list[Any]]:
    """The latest stored counts of a period in the reader's scope, summed per grain (three
    queries: the latest snapshot holding the period, when it was computed, its rows). Summed by
    school and grade only (no class, no village: a summary's few hundred rows, not a county's
    tens of thousands) when `by_school_and_grade`."""
    latest = session.scalar(select(PeriodCount.snapshot_id).where(PeriodCount.period == period_key)
                            .order_by(PeriodCount.snapshot_id.desc()).limit(1))
    if latest is None:
        return None, []
    computed_at = session.scalar(select(FigureSnapshot.computed_at).where(FigureSnapshot.id == latest))
    columns = [func.sum(getattr(PeriodCount, m)).label(m) for m in MEASURES]
    grain = [PeriodCount.school_id, PeriodCount.grade]
    if by_school_and_grade:
        shown = [*grain, null().label("class_id"), null().label("residence_village_id")]
    else:
        grain += [PeriodCount.class_id, PeriodCount.residence_village_id]
        shown = grain
    rows = session.execute(select(*shown, *columns)
                           .where(PeriodCount.snapshot_id == latest, PeriodCount.period == period_key)
                           .group_by(*grain)).all()
    return computed_at, rows


def counted(row: Any) -> dict[str, int]:
    return {m: int(getattr(row, m) or 0) for m in MEASURES}  # PostgreSQL sums as numeric


def figures_of(session: Session, period: Period, *, school_id: int | None = None, summary: bool = False) -> Figures:
    """The period's figures at every level in the reader's scope (seven queries, whatever the
    township's size): the township with its primary and junior subtotals, each school, grade,
    class (of `school_id` when given) and village of residence, each against its target. A
    `summary` (the dashboard's) has the township, its schools and grades, no class or village."""
    settings = settings_of(session)
    computed_at, rows = stored_rows(session, period.key, by_school_and_grade=summary)
    schools = {s.id: s for s in session.scalars(select(School).order_by(School.id))}
    classes: dict[int, SchoolClass] = {} if summary else {
        c.id: c for c in session.scalars(select(SchoolClass).order_by(SchoolClass.grade, SchoolClass.name))}
    villages: dict[int, str] = {} if summary else dict(
        session.execute(select(Village.id, Village.name).order_by(Village.id)).all())
    s = settings

    def line(label: str, ceiling: int | None, floor: int | None, **link: Any) -> Line:
        return Line(label, s, ceiling=ceiling, floor=floor, link={k: v for k, v in link.items() if v is not None})

    total = line("合计", None, s.retention_floor())
    primary = line("小学", s.dropout_ceiling("primary"), s.retention_floor("primary"), level="primary")
    junior = line("初中", s.dropout_ceiling("junior"), s.retention_floor("junior"), level="junior")
    by_school: dict[int, Line] = {}
    by_grade: dict[int, Line] = {}
    by_class: dict[int | None, Line] = {}
    by_village: dict[int | None, Line] = {}
    for row in rows:
        values = counted(row)
        school = schools.get(row.school_id)
        level = level_of_grade(row.grade) if row.grade else level_of_school(school.kind if school else "")
        total.add(values)
        (primary if level == "primary" else junior).add(values)
        if row.school_id not in by_school:
            by_school[row.school_id] = line(school.name if school else "?", s.dropout_ceiling("school"),
                                            s.retention_floor("school"), school_id=row.school_id)
        by_school[row.school_id].add(values)
        if row.grade not in by_grade:
            by_grade[row.grade] = line(GRADE_NAMES[row.grade] or "未分班",
                                       s.dropout_ceiling(f"grade{row.grade}", level) if row.grade else None,
                                       s.retention_floor(f"grade{row.grade}", level), grade=row.grade,
                                       school_id=school_id)
        if school_id is None or row.school_id == school_id:
            by_grade[row.grade].add(values)
            if row.class_id not in by_class:
                klass = classes.get(row.class_id or 0)
                prefix = "" if school_id is not None or len(schools) <= 1 else f"{school.name if school else ''} "
                by_class[row.class_id] = line(prefix + (klass.name if klass else "未分班"),
                                              s.dropout_ceiling(f"grade{row.grade}", level) if row.grade else None,
                                              s.retention_floor(f"grade{row.grade}", level),
                                              class_id=row.class_id, school_id=row.school_id, grade=row.grade)
            by_class[row.class_id].add(values)
        if row.residence_village_id not in by_village:
            by_village[row.residence_village_id] = line(villages.get(row.residence_village_id, "未登记"), None,
                                                        s.retention_floor(),
                                                        village_id=row.residence_village_id or 0)
        by_village[row.residence_village_id].add(values)
    school_order = {i: n for n, i in enumerate(schools)}
    class_order = {i: n for n, i in enumerate(classes)}
    return Figures(
        period, computed_at, settings, [total, primary, junior],
        [by_school[i] for i in sorted(by_school, key=lambda i: school_order.get(i, 0))],
        [by_grade[g] for g in sorted(by_grade) if by_grade[g].counts],
        [] if summary else [by_class[i] for i in sorted(by_class, key=lambda i: (by_class[i].link.get("school_id", 0),
                                                                                class_order.get(i or 0, 10**9)))],
        [] if summary else [by_village[i] for i in sorted(by_village, key=lambda i: (i is None, i or 0))])


# A summary's figures, kept per process while they are the latest: the counts under a snapshot
# never change, so the township, the reader's scope, the snapshot, the settings and the schools
# (names, kinds) name them. The dashboard reads the same summary on every view.
_SUMMARIES: OrderedDict[tuple[Any, ...], Figures] = OrderedDict()
_SUMMARIES_LOCK = threading.Lock()
SUMMARIES_KEPT = 64


def summary_of(session: Session, period: Period) -> Figures:
    """`figures_of(period, summary=True)`, from the process's copy when nothing it counts has
    moved (three small queries then)."""
    settings = settings_of(session)
    latest = session.execute(select(PeriodCount.snapshot_id, FigureSnapshot.computed_at)
                             .join(FigureSnapshot, FigureSnapshot.id == PeriodCount.snapshot_id)
                             .where(PeriodCount.period == period.key)
                             .order_by(PeriodCount.snapshot_id.desc()).limit(1)).first()
    schools = tuple(session.execute(select(School.id, School.name, School.kind).order_by(School.id)).all())
    key = (tenant_of(session).scope, tuple(latest) if latest else None, period.key, settings.suspension_counts,
           tuple(sorted(settings.targets.items())), hash(schools))
    with _SUMMARIES_LOCK:
        if (found := _SUMMARIES.get(key)) is not None:
            _SUMMARIES.move_to_end(key)
            return found
    figures = figures_of(session, period, summary=True)
    with _SUMMARIES_LOCK:
        _SUMMARIES[key] = figures
        while len(_SUMMARIES) > SUMMARIES_KEPT:
            _SUMMARIES.popitem(last=False)
    return figures


# --- the children behind a number ----------------------------------------------------------------

# What the children page lists, by the measure a number links with.
CHILD_MEASURES = {
    "start": "期初在校生", "end": "期末在校生", "transfers_in": "转入", "transfers_out": "转出", "suspensions": "休学",
    "resumptions": "复学", "elsewhere": "借读", "deaths": "死亡", "graduations": "毕业", "suspected": "新增疑似辍学",
    "dropouts": "辍学（流失）", "returns": "劝返复学",
}


@dataclass(frozen=True)
class ChildRow:
    name: str
    school: str
    class_name: str
    village: str


def children(session: Session, period: Period, measure: str, *, school_id: int | None = None,
             class_id: int | None = None, grade: int | None = None, village_id: int | None = None,
             level: str = "") -> list[ChildRow]:
    """The children behind one number of the figures page, counted now by the same definition
    (seven queries); names only."""
    if measure not in CHILD_MEASURES:
        raise InvalidInput({"measure": "请选择要查看的统计项。"})
    scope = tenant_of(session).scope
    settings = settings_of(session)
    with township_facts(session):  # then narrowed to the reader's grains (`measures.in_scope`): a child
        facts = measures.load(session)  # who moved on is still listed by the school they left
    wanted = {measure}
    if measure in ("start", "end"):
        wanted = {f"{measure}_enrolled"} | ({f"{measure}_suspended"} if settings.suspension_counts else set())
    if measure == "deaths":
        wanted |= {"suspended_deaths"}
    schools = dict(session.execute(select(School.id, School.name)).all())
    kinds = dict(session.execute(select(School.id, School.kind)).all())
    class_names = dict(session.execute(select(SchoolClass.id, SchoolClass.name)).all())
    villages = dict(session.execute(select(Village.id, Village.name)).all())
    found: dict[int, ChildRow] = {}
    for name, grain, child_id in measures.members(facts, period, clock.today()):
        if name not in wanted or not measures.in_scope(scope, grain):
            continue
        if school_id is not None and grain.school_id != school_id:
            continue
        if class_id is not None and grain.class_id != class_id:
            continue
        if grade is not None and grain.grade != grade:
            continue
        if village_id is not None and (grain.village_id or 0) != village_id:
            continue
        if level and (level_of_grade(grain.grade) if grain.grade
                      else level_of_school(kinds.get(grain.school_id, ""))) != level:
            continue
        child = facts.children.get(child_id)
        found[child_id] = ChildRow(child.name if child else "?", schools.get(grain.school_id, ""),
                                   class_names.get(grain.class_id or 0, "未分班"),
                                   villages.get(grain.village_id or 0, "未登记"))
    return sorted(found.values(), key=lambda c: (c.school, c.class_name, c.name))


# --- the township's settings ------------------------------------------------------------------------

def do_change_figure_settings(session: Session, actor: Any, values: Mapping[str, Any]) -> FigureSettings:
    """Whether 休学 counts, the 月报's cut-off day and the targets (percent, two decimals; empty:
    no target). Checked whole first; audited with what changed; the figures are recomputed."""
    scope = tenant_of(session).scope
    if scope is None or not scope.whole_township:
        raise not_found()
    before = settings_of(session)
    errors: dict[str, str] = {}
    counts = _flag(values.get("suspension_counts", before.suspension_counts))
    if counts is None:
        errors["suspension_counts"] = "休学是否计入须选择“计入”或“不计入”。"
    cutoff = _integer(values.get("report_cutoff_day", before.report_cutoff_day))
    if cutoff is None or not 1 <= cutoff <= 28:
        errors["report_cutoff_day"] = "月报截止日须是 1 到 28 之间的整数。"
    targets: dict[tuple[str, str], int] = {}
    for name in TARGET_FIELDS:
        metric, level = name.split(":", 1)
        current = before.targets.get((level, metric))
        raw = values.get(name, "" if current is None else f"{current / 100:.2f}")
        parsed = _percent(raw)
        if parsed is False:
            errors[name] = f"{target_label(name)}须是 0 到 100 之间的数，最多两位小数；不设目标请留空。"
        elif parsed is not None:
            targets[(level, metric)] = parsed
    if errors:
        raise InvalidInput(errors)
    assert counts is not None and cutoff is not None
    changes: dict[str, Any] = {}
    if counts != before.suspension_counts or cutoff != before.report_cutoff_day:
        write_township(session, suspension_counts=counts, report_cutoff_day=cutoff)
        changes |= audit.diff({"suspension_counts": before.suspension_counts, "report_cutoff_day": before.report_cutoff_day},
                              {"suspension_counts": counts, "report_cutoff_day": cutoff})
    stored = {(t.level, t.metric): t for t in session.scalars(select(FigureTarget))}
    township_id = tenant_of(session).township_id
    for (level, metric), value in targets.items():
        row = stored.pop((level, metric), None)
        if row is None:
            session.add(FigureTarget(township_id=township_id, level=level, metric=metric, hundredths=value))
        elif row.hundredths != value:
            row.hundredths = value
    for row in stored.values():
        session.delete(row)
    session.flush()
    for key in set(before.targets) | set(targets):
        if before.targets.get(key) != targets.get(key):
            changes[f"{key[1]}:{key[0]}"] = [before.targets.get(key), targets.get(key)]
    if changes:
        audit.record(session, Event.SETTINGS_CHANGED, entity_type="townships", entity_id=township_id, changes=changes)
    return settings_of(session)


def _flag(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    return {"true": True, "1": True, "on": True, "false": False, "0": False, "off": False}.get(text)


def _integer(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        return None


def _percent(raw: Any) -> int | None | bool:
    """Hundredths of a percent; None for empty (no target); False for anything else."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        return False
    text = str(raw).strip().removesuffix("%").strip()
    whole, _, decimals = text.partition(".")
    if not whole.isdigit() or (decimals and (not decimals.isdigit() or len(decimals) > 2)):
        return False
    value = int(whole) * 100 + int((decimals + "00")[:2])
    return value if value <= 10000 else False


# --- the enrolment snapshot (the home page) -----------------------------------------------------------

@dataclass(frozen=True)
class EnrolmentFigures:
    """The latest enrolment figures as far as the reader's scope reaches, by unit, zeros included."""

    computed_at: datetime
    total: int
    girls: int
    by_school: dict[str, int]
    by_grade: dict[str, int]
    by_village: dict[str, int]

    @property
    def data(self) -> dict[str, Any]:
        return {"total": self.total, "girls": self.girls, "by_school": self.by_school, "by_grade": self.by_grade,
                "by_village": self.by_village, "as_of": self.computed_at.astimezone(CHINA).date().isoformat()}


def latest_enrolment(session: Session) -> EnrolmentFigures | None:
    """Three small queries: the snapshot, its counts grouped in the scope, the units to show."""
    snapshot = session.scalars(select(FigureSnapshot).where(FigureSnapshot.kind == ENROLMENT)
                               .order_by(FigureSnapshot.id.desc()).limit(1)).first()
    if snapshot is None:
        return None
    rows = session.execute(
        select(EnrolmentCount.school_id, EnrolmentCount.grade, EnrolmentCount.residence_village_id,
               EnrolmentCount.gender, func.sum(EnrolmentCount.count))
        .where(EnrolmentCount.snapshot_id == snapshot.id)
        .group_by(EnrolmentCount.school_id, EnrolmentCount.grade, EnrolmentCount.residence_village_id,
                  EnrolmentCount.gender)).all()
    schools, villages, grades = _units_shown(session, rows)
    by_school = {schools[i]: 0 for i in schools}
    by_village = {name: 0 for name in villages.values()}
    by_grade = {str(g): 0 for g in grades}
    girls = total = 0
    for school_id, grade, village_id, gender, summed in rows:
        count = int(summed)  # PostgreSQL sums bigints as numeric
        total += count
        girls += count if gender == "女" else 0
        by_school[schools.get(school_id, "?")] = by_school.get(schools.get(school_id, "?"), 0) + count
        by_grade[str(grade)] = by_grade.get(str(grade), 0) + count
        village = villages.get(village_id, "未登记")
        by_village[village] = by_village.get(village, 0) + count
    return EnrolmentFigures(snapshot.computed_at, total, girls, by_school, dict(sorted(by_grade.items())), by_village)


def _units_shown(session: Session, rows: list[Any]) -> tuple[dict[int, str], dict[int | None, str], list[int]]:
    """Every unit the reader answers for, with or without students; others only where they count."""
    scope = tenant_of(session).scope
    whole = scope is None or scope.whole_township
    counted_schools = {row[0] for row in rows}
    school_rows = session.execute(select(School.id, School.name, School.kind).order_by(School.id)).all()
    own_school = scope.school_id if scope is not None else None
    schools = {i: name for i, name, _ in school_rows if whole or i == own_school or i in counted_schools}
    grades = sorted({g for i, _, kind in school_rows if whole or i == own_school
                     for g in SCHOOL_GRADES.get(kind, ())})
    counted_villages = {row[2] for row in rows}
    own_village = scope.village_id if scope is not None else None
    villages: dict[int | None, str] = {
        i: name for i, name in session.execute(select(Village.id, Village.name).order_by(Village.id))
        if whole or i == own_village or i in counted_villages}
    return schools, villages, grades


def do_request_rebuild(session: Session) -> JobRun:
    """Ask for a rebuild: the job is recorded in this transaction (sent after it commits, or by
    the dispatcher). The key is per China-local minute: a double click is one job."""
    from baoxue.tenants.figures.tasks import rebuild_figures, rebuild_figures_key

    township_id = tenant_of(session).township_id
    assert township_id is not None
    run, created = request_job(session, township_id, rebuild_figures, rebuild_figures_key("manual", utcnow()))
    if created:
        audit.record(session, Event.REBUILD_REQUESTED, entity_type="job_runs", entity_id=run.key)
    return run


def request_after_change(session: Session, township_id: int, change: str) -> JobRun:
    """A rebuild after a change that moves the figures, keyed by the change: the same change
    told twice is one job; every change gets its own (none is lost to a job that just ran).

    Recorded in the outbox only (`record_job`): the dispatcher sends it within its interval.
    Not `request_job`: its send-after-commit also fires when a savepoint of the asking
    transaction commits (a case opened, then another savepoint), and on SQLite the send's own
    write then waits on the open transaction's lock."""
    from baoxue.tenants.figures.tasks import rebuild_figures, rebuild_figures_key

    run, _created = record_job(session, township_id, rebuild_figures, rebuild_figures_key("moved", change))
    return run


def recent_jobs(session: Session, limit: int = 5) -> list[JobRun]:
    return list(session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(limit)))


def today() -> date:
    return clock.today()
