"""Who reads and keeps attendance, and the `access_*` helpers.

Attendance is the school's record: a class teacher reads and reports their classes, the
school's office and leaders every class of the school, the township all of it. Villages and
departments read none (a village joins a child's file when the case opens, through the case).
The spells (the escalation's records) are read and written with the children they are about.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import not_found
from baoxue.platform.scoping import Criteria, Policy, Scope, within_school
from baoxue.tenants.attendance.models import AbsenceSpell, Absence, AttendanceReport, Leave
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy import lookups
from baoxue.tenants.tenancy.lookups import ClassRow


class _OfClass(Policy):
    def read(self, scope: Scope) -> Criteria:
        return within_school(scope, school=lambda school_id: lambda c: c.school_id == school_id,
                             classes=lambda class_ids: lambda c: c.class_id.in_(class_ids))


class AttendanceReportPolicy(_OfClass, model=AttendanceReport):
    pass


class AbsencePolicy(_OfClass, model=Absence):
    pass


class _OfStudent(Policy):
    """A leave or a spell of a child: the school's, a teacher's through the children they teach."""

    def read(self, scope: Scope) -> Criteria:
        return within_school(scope, school=lambda school_id: lambda c: c.school_id == school_id,
                             classes=lambda _ids: lambda c: c.student_id.in_(select(Student.id)))


class LeavePolicy(_OfStudent, model=Leave):
    pass


class AbsenceSpellPolicy(_OfStudent, model=AbsenceSpell):
    pass


def access_register(session: Session, class_id: int) -> ClassRow:
    """A class whose daily report the actor keeps (its class teacher, or the school's office)."""
    row = lookups.class_row(session, class_id) if isinstance(class_id, int) else None
    scope = tenant_of(session).scope
    if row is None or scope is None:
        raise not_found()
    if scope.whole_township:
        return row
    if not scope.is_school(row.school_id) or (scope.class_ids is not None and row.id not in scope.class_ids):
        raise not_found()
    return row


def access_leave(session: Session, leave_id: int, *, for_write: bool = False) -> Leave:
    return access(session, Leave, leave_id, for_write=for_write)


def access_spell(session: Session, spell_id: int, *, for_write: bool = False) -> AbsenceSpell:
    return access(session, AbsenceSpell, spell_id, for_write=for_write)
