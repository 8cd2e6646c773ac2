"""What each figure counts (DOMAIN.md §5, §13), from the roll, the status changes and the cases.

Who was enrolled on a day is reconstructed from each child's current record and the history of
their completed status changes (`effective_on`): before a change took effect, the child was
where and as the change found them. On a day D a child is

* **enrolled** (在校) when on a roll of the township, 在读 or 复学, not 借读 elsewhere, and not a
  dropout: a child whose 流失报告 (the case's DROPOUT_REPORT entry) was filed by D counts again
  only from the case's return (closed RETURNED, `return_date` ≤ D);
* **suspended** (休学) when 休学 and otherwise as above: counted with the enrolled only where the
  township's setting `suspension_counts` is on (the pages print which);
* neither, otherwise (transferred out, dead, graduated, 借读, not yet transferred in, a dropout).

A period's start is the beginning of its first day (changes taking effect that day are flows of
the period); its end is the end of its last day, or of today while it runs. The flows of a
period are the completed changes taking effect in it (transfers in and out, including those
between two schools of the township; suspensions, resumptions, 借读, deaths — of a child
suspended or not — and graduations), the cases opened in it (new suspected dropouts), the
dropouts (流失报告 filed in the period, not returned by its end) and the returns (closed RETURNED
with `return_date` in the period). Lawful transfer, death, graduation and 借读 are never dropouts.

Every measure is counted at the grain (school, class, grade, village of residence): a child's
start and end where the reconstruction puts them, a change where it found the child (a transfer
in: where it brought them), a case where it was opened. `members` yields (measure, grain, child)
once per child and measure; the job counts it, the children page lists it: one definition.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform.clock import china_day
from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import Scope
from baoxue.tenants.cases.flows import Closing, EntryKind
from baoxue.tenants.cases.models import Case, CaseEntry
from baoxue.tenants.figures.periods import Period
from baoxue.tenants.status_changes.flows import Kind, State
from baoxue.tenants.status_changes.models import StatusChange
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import SchoolClass

ENROLLED_STATUSES = frozenset({"01", "05"})  # 在读, 复学
SUSPENDED = "02"


class Grain(NamedTuple):
    school_id: int
    class_id: int | None
    grade: int
    village_id: int | None


@dataclass(frozen=True)
class Placement:
    status: str
    school_id: int
    class_id: int | None
    absent: bool = False  # not yet on a roll of the township (a transfer in still to take effect)
    elsewhere: bool = False  # 借读 elsewhere


@dataclass
class Child:
    id: int
    name: str
    village_id: int | None
    days: list[date]  # effective days of the placements after the first
    placements: list[Placement]  # placements[0] before any change, placements[i + 1] from days[i]
    dropped: list[tuple[date, date | None]]  # (流失报告 filed, returned on) of each case

    def on(self, day: date) -> Placement:
        """Where and as the child was at the end of `day`."""
        return self.placements[bisect_right(self.days, day)]

    def dropout_on(self, day: date) -> bool:
        return any(filed <= day and not (back is not None and back <= day) for filed, back in self.dropped)


class ChangeRow(NamedTuple):
    student_id: int
    kind: str
    effective_on: date
    school_id: int
    class_id: int | None
    to_school_id: int | None
    to_class_id: int | None


class CaseRow(NamedTuple):
    student_id: int
    school_id: int
    class_id: int | None
    opened_on: date
    reported_on: date | None  # the first 流失报告
    returned_on: date | None  # closed RETURNED


@dataclass
class Facts:
    children: dict[int, Child]
    changes: list[ChangeRow]
    cases: list[CaseRow]
    grades: dict[int, int]  # class id -> grade


def load(session: Session) -> Facts:
    """Four queries, whatever the township's size: the children, the completed changes, the
    cases with their first 流失报告, the classes' grades. Read in the session's scope: the job
    reads the whole township."""
    grades = dict(session.execute(select(SchoolClass.id, SchoolClass.grade)).all())
    rows = session.execute(select(StatusChange.student_id, StatusChange.kind, StatusChange.effective_on,
                                  StatusChange.finished_at, StatusChange.school_id, StatusChange.class_id,
                                  StatusChange.to_school_id, StatusChange.to_class_id)
                           .where(StatusChange.state == State.COMPLETED.value)
                           .order_by(StatusChange.student_id, StatusChange.effective_on, StatusChange.id)).all()
    changes = [ChangeRow(r.student_id, r.kind, r.effective_on or china_day(r.finished_at), r.school_id, r.class_id,
                         r.to_school_id, r.to_class_id) for r in rows]
    reports = (select(CaseEntry.case_id, func.min(CaseEntry.occurred_at).label("reported_at"))
               .where(CaseEntry.kind == EntryKind.DROPOUT_REPORT.value).group_by(CaseEntry.case_id).subquery())
    cases = [CaseRow(r.student_id, r.school_id, r.class_id, china_day(r.opened_at),
                     china_day(r.reported_at) if r.reported_at is not None else None,
                     r.return_date if r.closing == Closing.RETURNED.value else None)
             for r in session.execute(select(Case.student_id, Case.school_id, Case.class_id, Case.opened_at,
                                             Case.closing, Case.return_date, reports.c.reported_at)
                                      .join(reports, reports.c.case_id == Case.id, isouter=True))]
    by_child: dict[int, list[ChangeRow]] = {}
    for change in changes:
        by_child.setdefault(change.student_id, []).append(change)
    dropped: dict[int, list[tuple[date, date | None]]] = {}
    for case in cases:
        if case.reported_on is not None:
            dropped.setdefault(case.student_id, []).append((case.reported_on, case.returned_on))
    children = {}
    for s in session.execute(select(Student.id, Student.name, Student.school_id, Student.class_id,
                                    Student.residence_village_id, Student.status)):
        now = Placement(s.status, s.school_id, s.class_id)
        days, placements = _history(now, by_child.get(s.id, []))
        children[s.id] = Child(s.id, s.name, s.residence_village_id, days, placements, dropped.get(s.id, []))
    return Facts(children, changes, cases, grades)


_STATUS_BEFORE = {Kind.RESUMPTION: SUSPENDED}  # the status a change found the child in (else 在读)


def _history(now: Placement, changes: list[ChangeRow]) -> tuple[list[date], list[Placement]]:
    """The child's placements, oldest first: as the first change found them, after each change,
    and (after the last) as the record says now."""
    if not changes:
        return [], [now]
    first = changes[0]
    state = Placement(_STATUS_BEFORE.get(Kind(first.kind), "01"), first.school_id, first.class_id,
                      absent=first.kind == Kind.TRANSFER_IN)
    days, placements = [], [state]
    for change in changes:
        state = replace(state, school_id=change.school_id, class_id=change.class_id)
        state = _after(state, change)
        days.append(change.effective_on)
        placements.append(state)
    # After the last change the record is the truth (a class moved since, a status set by import).
    placements[-1] = replace(now, absent=False, elsewhere=placements[-1].elsewhere)
    return days, placements


def _after(state: Placement, change: ChangeRow) -> Placement:
    kind = Kind(change.kind)
    if kind == Kind.TRANSFER_OUT:
        if change.to_school_id is not None:
            return replace(state, school_id=change.to_school_id, class_id=change.to_class_id)
        return replace(state, status="10")
    if kind == Kind.TRANSFER_IN:
        return replace(state, status="01", absent=False)
    if kind == Kind.ELSEWHERE:
        return replace(state, elsewhere=True)
    if kind in (Kind.REPETITION, Kind.RESUMPTION) and change.to_class_id is not None:
        state = replace(state, class_id=change.to_class_id)
    after = {Kind.SUSPENSION: SUSPENDED, Kind.RESUMPTION: "01", Kind.GRADUATION: "07", Kind.DEATH: "11"}
    return replace(state, status=after[kind]) if kind in after else state


def standing(child: Child, day: date) -> tuple[str, Placement]:
    """("enrolled" | "suspended" | "", placement) at the end of `day`."""
    placed = child.on(day)
    if placed.absent or placed.elsewhere or child.dropout_on(day):
        return "", placed
    if placed.status in ENROLLED_STATUSES:
        return "enrolled", placed
    return ("suspended", placed) if placed.status == SUSPENDED else ("", placed)


def members(facts: Facts, period: Period, today: date) -> Iterator[tuple[str, Grain, int]]:
    """(measure, grain, child id) of everyone behind the period's figures, once per measure."""
    start, end = period.starts_on, period.until(today)
    grades = facts.grades
    before = start - timedelta(days=1)
    for child in facts.children.values():
        for measure, day in (("start", before), ("end", end)):
            kind, placed = standing(child, day)
            if kind:
                yield (f"{measure}_{kind}", Grain(placed.school_id, placed.class_id, grades.get(placed.class_id or 0, 0),
                                                  child.village_id), child.id)
    for change in facts.changes:
        if not start <= change.effective_on <= end:
            continue
        child = facts.children.get(change.student_id)
        village = child.village_id if child else None
        kind = Kind(change.kind)
        here = Grain(change.school_id, change.class_id, grades.get(change.class_id or 0, 0), village)
        if kind == Kind.TRANSFER_OUT:
            yield "transfers_out", here, change.student_id
            if change.to_school_id is not None:
                yield "transfers_in", Grain(change.to_school_id, change.to_class_id,
                                            grades.get(change.to_class_id or 0, 0), village), change.student_id
        elif kind == Kind.DEATH:
            was = child.on(change.effective_on - timedelta(days=1)).status if child else "01"
            yield ("suspended_deaths" if was == SUSPENDED else "deaths"), here, change.student_id
        elif kind in _FLOW_OF:
            yield _FLOW_OF[kind], here, change.student_id
    seen: set[tuple[str, int]] = set()
    for case in facts.cases:
        child = facts.children.get(case.student_id)
        here = Grain(case.school_id, case.class_id, grades.get(case.class_id or 0, 0), child.village_id if child else None)
        flows = []
        if start <= case.opened_on <= end:
            flows.append("suspected")
        if case.reported_on is not None and start <= case.reported_on <= end and not (
                case.returned_on is not None and case.returned_on <= end):
            flows.append("dropouts")
        if case.returned_on is not None and start <= case.returned_on <= end:
            flows.append("returns")
        for measure in flows:
            if (measure, case.student_id) not in seen:  # a child counts once (a relapse's second case too)
                seen.add((measure, case.student_id))
                yield measure, here, case.student_id


_FLOW_OF = {Kind.TRANSFER_IN: "transfers_in", Kind.SUSPENSION: "suspensions", Kind.RESUMPTION: "resumptions",
            Kind.ELSEWHERE: "elsewhere", Kind.GRADUATION: "graduations"}


def count(facts: Facts, period: Period, today: date) -> dict[Grain, Counter[str]]:
    found: dict[Grain, Counter[str]] = {}
    for measure, grain, _child in members(facts, period, today):
        found.setdefault(grain, Counter())[measure] += 1
    return found


def in_scope(scope: Scope | None, grain: Grain) -> bool:
    """The stored counts' policy (policy.py), for a grain in Python: the children page lists
    exactly the children behind the numbers the reader's scope sums."""
    if scope is None or scope.whole_township:
        return True
    if scope.unit_kind == UnitKind.VILLAGE:
        return grain.village_id == scope.unit_id
    if scope.unit_kind != UnitKind.SCHOOL or grain.school_id != scope.unit_id:
        return False
    return scope.class_ids is None or grain.class_id in scope.class_ids
