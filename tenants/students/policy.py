"""Who reads and writes students, and `access_student`.

A school reads its own roll (a teacher: the classes they teach), a village its residents,
a department nobody until a referral names a child (a later concept), the township everyone.
Writing a record belongs to the school that holds it (or the township office), never to a
village: a cadre reads the children of the village but does not edit their school record.
"""

from __future__ import annotations

from sqlalchemy import or_
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.access import access
from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import Criteria, Policy, Scope, within_school
from baoxue.tenants.students.events import Event
from baoxue.tenants.students.models import Student


class StudentPolicy(Policy, model=Student):
    def read(self, scope: Scope) -> Criteria:
        if scope.unit_kind == UnitKind.VILLAGE:
            village_id = scope.unit_id
            return lambda c: c.residence_village_id == village_id
        return self.write(scope)

    def write(self, scope: Scope) -> Criteria:
        # A school also holds the children a transfer inside the township is bringing to it: it
        # reads their record before confirming the arrival, and the arrival moves them onto its roll.
        return within_school(scope, school=lambda school_id: lambda c: or_(c.school_id == school_id,
                                                                           c.incoming_school_id == school_id),
                             classes=lambda class_ids: lambda c: c.class_id.in_(class_ids))


def access_student(session: Session, student_id: int, *, personal: bool = False,
                   for_write: bool = False) -> Student:
    """One student in scope, or the 404; reading the unmasked record is an audited event."""
    student = access(session, Student, student_id, for_write=for_write)
    if personal:
        audit.record(session, Event.PERSONAL_VIEWED, entity=student)
    return student
