"""Who reads the figures: the counts by the same rule as the students they count.

A snapshot's header (what was counted, when) is read by the whole township; the counts behind
it follow `StudentPolicy`: a school reads its own (a teacher: their classes'), a village its
residents', a department none, the township all. Only jobs (the whole township) write them.
The targets are the township's (read by all, written by the township); a school's monthly
report is read and written by the school and the township.
"""

from __future__ import annotations

from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import Criteria, Policy, Scope, TownshipStructure, nothing, within_school
from baoxue.tenants.figures.models import EnrolmentCount, FigureSnapshot, FigureTarget, MonthlyReport, PeriodCount


class FigureSnapshotPolicy(Policy, model=FigureSnapshot):
    def read(self, scope: Scope) -> Criteria:
        return None

    def write(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else nothing()


def _counted(scope: Scope) -> Criteria:
    """Counts at the grain (school, class, village of residence), narrowed like the students."""
    if scope.unit_kind == UnitKind.VILLAGE:
        village_id = scope.unit_id
        return lambda c: c.residence_village_id == village_id
    return within_school(scope, school=lambda school_id: lambda c: c.school_id == school_id,
                         classes=lambda class_ids: lambda c: c.class_id.in_(class_ids))


class EnrolmentCountPolicy(Policy, model=EnrolmentCount):
    def read(self, scope: Scope) -> Criteria:
        return _counted(scope)

    def write(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else nothing()


class PeriodCountPolicy(Policy, model=PeriodCount):
    def read(self, scope: Scope) -> Criteria:
        return _counted(scope)

    def write(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else nothing()


class FigureTargetPolicy(TownshipStructure, model=FigureTarget):
    """The township's targets: every page prints them; the office sets them."""


class MonthlyReportPolicy(Policy, model=MonthlyReport):
    def read(self, scope: Scope) -> Criteria:
        if scope.whole_township:
            return None
        if scope.unit_kind != UnitKind.SCHOOL or scope.unit_id is None:
            return nothing()
        school_id = scope.unit_id
        return lambda r: r.school_id == school_id
