"""Who reads and works a case, and the `access_*` helpers.

A case is held on two lines (DOMAIN.md §3): its school (a teacher: the classes they teach)
and the village the child lives in; the township sees every case. Departments see none until a
referral names the child (the referrals issue). Visits, photos, entries and notices are read and
written with the case or the student they belong to.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import Criteria, Policy, Scope, nothing, within_school
from baoxue.tenants.cases.models import Case, CaseEntry, HomeVisit, Notice, Photo, VisitVisitor
from baoxue.tenants.students.models import Student


class CasePolicy(Policy, model=Case):
    def read(self, scope: Scope) -> Criteria:
        if scope.unit_kind == UnitKind.VILLAGE:
            village_id = scope.unit_id
            return lambda c: c.village_id == village_id
        return within_school(scope, school=lambda school_id: lambda c: c.school_id == school_id,
                             classes=lambda class_ids: lambda c: c.class_id.in_(class_ids))

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


class _OfCase(Policy):
    """Rows of a case: read and written with it."""

    def read(self, scope: Scope) -> Criteria:
        return lambda c: c.case_id.in_(select(Case.id))

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


class CaseEntryPolicy(_OfCase, model=CaseEntry):
    pass


class NoticePolicy(_OfCase, model=Notice):
    pass


class HomeVisitPolicy(Policy, model=HomeVisit):
    """A visit is the school's record of a family (a case's, or the routine ones); a village
    reads and records the visits of its resident children."""

    def read(self, scope: Scope) -> Criteria:
        if scope.unit_kind == UnitKind.VILLAGE:
            return lambda c: c.student_id.in_(select(Student.id))
        if scope.class_ids is not None:
            return lambda c: c.student_id.in_(select(Student.id))
        return within_school(scope, school=lambda school_id: lambda c: c.school_id == school_id,
                             classes=lambda _ids: nothing())

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


class VisitVisitorPolicy(Policy, model=VisitVisitor):
    def read(self, scope: Scope) -> Criteria:
        return lambda c: c.visit_id.in_(select(HomeVisit.id))

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


class PhotoPolicy(Policy, model=Photo):
    def read(self, scope: Scope) -> Criteria:
        return lambda c: or_(c.case_id.in_(select(Case.id)), c.visit_id.in_(select(HomeVisit.id)))

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


def access_case(session: Session, case_id: int, *, for_write: bool = False) -> Case:
    return access(session, Case, case_id, for_write=for_write)


def access_visit(session: Session, visit_id: int, *, for_write: bool = False) -> HomeVisit:
    return access(session, HomeVisit, visit_id, for_write=for_write)


def access_photo(session: Session, photo_id: int) -> Photo:
    return access(session, Photo, photo_id)


def access_notice(session: Session, notice_id: int, *, for_write: bool = False) -> Notice:
    return access(session, Notice, notice_id, for_write=for_write)
