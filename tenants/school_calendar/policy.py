"""Who reads and keeps the calendar.

Everyone in the township reads it (it holds nothing personal, and every deadline is counted on
it). The township keeps the terms and the township's days; a school keeps its own closed or
make-up days, and may not touch the township's or another school's.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import Criteria, Policy, Scope, TownshipStructure, nothing
from baoxue.tenants.school_calendar.models import CalendarDay, SchoolTerm


class SchoolTermPolicy(TownshipStructure, model=SchoolTerm):
    pass


class CalendarDayPolicy(Policy, model=CalendarDay):
    def read(self, scope: Scope) -> Criteria:
        return None

    def write(self, scope: Scope) -> Criteria:
        if scope.whole_township:
            return None
        if keeps_school_days(scope):
            school_id = scope.unit_id
            return lambda c: c.school_id == school_id
        return nothing()


def keeps_school_days(scope: Scope | None) -> bool:
    """A school's own scope (its leaders and office, not a teacher's classes): it keeps its days."""
    return (scope is not None and scope.unit_kind == UnitKind.SCHOOL and scope.unit_id is not None
            and scope.class_ids is None)


def may_keep_day(scope: Scope | None, school_id: int | None) -> bool:
    """Whether `scope` may add a day for the township (`school_id` None) or for that school: what
    `CalendarDayPolicy.write` lets it write, asked before the row exists (a refusal, not a 500)."""
    if scope is None:
        return False
    if scope.whole_township:
        return True
    return school_id is not None and keeps_school_days(scope) and scope.unit_id == school_id


def access_term(session: Session, term_id: int, *, for_write: bool = False) -> SchoolTerm:
    return access(session, SchoolTerm, term_id, for_write=for_write)


def access_calendar_day(session: Session, day_id: int, *, for_write: bool = False) -> CalendarDay:
    return access(session, CalendarDay, day_id, for_write=for_write)
