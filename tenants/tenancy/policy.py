"""Who reads and writes the township's structure and people, and the `access_*` helpers.

Names of villages, schools and departments are read by everyone in the township; classes by
their school (a teacher: their own classes); memberships by the unit they belong to. Only the
township level (its administrators) writes any of it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import not_found
from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import Criteria, Policy, Scope, TownshipStructure, nothing, within_school
from baoxue.tenants.tenancy.models import (
    Department,
    Membership,
    MembershipClass,
    School,
    SchoolClass,
    Township,
    User,
    Village,
)


class TownshipPolicy(Policy, model=Township):
    def read(self, scope: Scope) -> Criteria:
        township_id = scope.township_id
        return lambda c: c.id == township_id

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope) if scope.whole_township else nothing()

    def own(self, user_id: int) -> Criteria:
        return lambda c: c.id.in_(select(Membership.township_id).where(Membership.user_id == user_id))


class VillagePolicy(TownshipStructure, model=Village):
    def own(self, user_id: int) -> Criteria:
        # The names of the units one's memberships name, shown when choosing one of them.
        return lambda c: c.id.in_(select(Membership.village_id).where(Membership.user_id == user_id))


class SchoolPolicy(TownshipStructure, model=School):
    def own(self, user_id: int) -> Criteria:
        return lambda c: c.id.in_(select(Membership.school_id).where(Membership.user_id == user_id))


class DepartmentPolicy(TownshipStructure, model=Department):
    def own(self, user_id: int) -> Criteria:
        return lambda c: c.id.in_(select(Membership.department_id).where(Membership.user_id == user_id))


class SchoolClassPolicy(Policy, model=SchoolClass):
    """A class belongs to its school; a teacher sees the classes they teach."""

    def read(self, scope: Scope) -> Criteria:
        return within_school(scope, school=lambda school_id: lambda c: c.school_id == school_id,
                             classes=lambda class_ids: lambda c: c.id.in_(class_ids))

    def write(self, scope: Scope) -> Criteria:
        # A school adds the classes its roster names (the roster import); a teacher adds none.
        return within_school(scope, school=lambda school_id: lambda c: c.school_id == school_id,
                             classes=lambda _class_ids: nothing())


class MembershipPolicy(Policy, model=Membership):
    """A school sees its own people, a village its own cadres, a department its own staff."""

    def read(self, scope: Scope) -> Criteria:
        unit_id = scope.unit_id
        if scope.unit_kind == UnitKind.SCHOOL:
            return lambda c: c.school_id == unit_id
        if scope.unit_kind == UnitKind.VILLAGE:
            return lambda c: c.village_id == unit_id
        if scope.unit_kind == UnitKind.DEPARTMENT:
            return lambda c: c.department_id == unit_id
        return None

    def write(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else nothing()

    def own(self, user_id: int) -> Criteria:
        return lambda c: c.user_id == user_id


class MembershipClassPolicy(Policy, model=MembershipClass):
    """Pairs of ids (membership, class): read with the memberships they belong to."""

    def read(self, scope: Scope) -> Criteria:
        return lambda c: c.membership_id.in_(select(Membership.id))

    def write(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else nothing()

    def own(self, user_id: int) -> Criteria:
        return lambda c: c.membership_id.in_(select(Membership.id).where(Membership.user_id == user_id))


# --- access ----------------------------------------------------------------------------------------

def access_village(session: Session, village_id: int, *, for_write: bool = False) -> Village:
    return access(session, Village, village_id, for_write=for_write)


def access_school(session: Session, school_id: int, *, for_write: bool = False) -> School:
    return access(session, School, school_id, for_write=for_write)


def access_class(session: Session, class_id: int, *, for_write: bool = False) -> SchoolClass:
    return access(session, SchoolClass, class_id, for_write=for_write)


def access_department(session: Session, department_id: int, *, for_write: bool = False) -> Department:
    return access(session, Department, department_id, for_write=for_write)


def access_membership(session: Session, membership_id: int, *, for_write: bool = False) -> Membership:
    return access(session, Membership, membership_id, for_write=for_write)


def access_user(session: Session, user_id: int) -> User:
    """A person with (or who had) a membership in this township within the actor's scope, or 404.

    Users are global, so "of this township" is decided by the scoped memberships table: an id
    of another township's person answers exactly like a missing one.
    """
    member = session.scalar(select(Membership.id).where(Membership.user_id == user_id).limit(1))
    user = session.get(User, user_id) if member is not None else None
    if user is None:
        raise not_found()
    return user


def current_township(session: Session) -> Township:
    township = session.get(Township, tenant_of(session).township_id)
    if township is None:
        raise not_found()
    return township
