"""Who reads the figures: the counts by the same rule as the students they count.

A snapshot's header (what was counted, when) is read by the whole township; the counts behind
it follow `StudentPolicy`: a school reads its own (a teacher: their classes'), a village its
residents', a department none, the township all. Only jobs (the whole township) write them.
"""

from __future__ import annotations

from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import Criteria, Policy, Scope, nothing
from baoxue.tenants.figures.models import EnrolmentCount, FigureSnapshot


class FigureSnapshotPolicy(Policy, model=FigureSnapshot):
    def read(self, scope: Scope) -> Criteria:
        return None

    def write(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else nothing()


class EnrolmentCountPolicy(Policy, model=EnrolmentCount):
    def read(self, scope: Scope) -> Criteria:
        if scope.whole_township:
            return None
        unit_id = scope.unit_id
        if scope.unit_kind == UnitKind.VILLAGE:
            return lambda c: c.residence_village_id == unit_id
        if scope.unit_kind != UnitKind.SCHOOL:
            return nothing()
        if scope.class_ids is not None:
            class_ids = tuple(scope.class_ids)
            return lambda c: c.class_id.in_(class_ids)
        return lambda c: c.school_id == unit_id

    def write(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else nothing()
