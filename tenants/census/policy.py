"""Who reads and writes the census, the lists and the findings; `access_census_village`.

The census is the villages' work: a village cadre reads and keeps its own village's children,
the township every village's. The household register is the police station's and the poverty
list the finance or social affairs office's: a department writes (and so reads) the list it
imports, never the census, and which list is whose duty is the service's check. The findings
go to whoever must act: the village its children's, a school the records of its roll (a child
on two rolls, a 空挂 record), the township all. A school reads no census.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import not_found
from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import Criteria, Policy, Scope, nothing, within_school
from baoxue.tenants.census.models import CensusChild, CensusFinding, CensusRun, PovertyHousehold
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import Village


def _of_village(scope: Scope) -> Criteria:
    if scope.whole_township:
        return None
    if scope.unit_kind == UnitKind.VILLAGE and scope.unit_id is not None:
        village_id = scope.unit_id
        return lambda c: c.village_id == village_id
    return nothing()


class CensusChildPolicy(Policy, model=CensusChild):
    def read(self, scope: Scope) -> Criteria:
        if scope.unit_kind == UnitKind.DEPARTMENT:
            return lambda c: c.source == "register"
        return _of_village(scope)


class PovertyHouseholdPolicy(Policy, model=PovertyHousehold):
    def read(self, scope: Scope) -> Criteria:
        if scope.unit_kind == UnitKind.DEPARTMENT:
            return None
        return _of_village(scope)


class CensusRunPolicy(Policy, model=CensusRun):
    """When the last comparison ran and what it counted: township-wide, nothing personal."""

    def read(self, scope: Scope) -> Criteria:
        return None

    def write(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else nothing()


class CensusFindingPolicy(Policy, model=CensusFinding):
    def read(self, scope: Scope) -> Criteria:
        if scope.unit_kind == UnitKind.VILLAGE:
            return _of_village(scope)
        return within_school(scope, school=lambda school_id: lambda c: c.school_id == school_id,
                             classes=lambda _ids: lambda c: c.student_id.in_(select(Student.id)))

    def write(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else nothing()


def access_census_village(session: Session, village_id: int) -> Village:
    """A village whose census the actor keeps: a village cadre their own, the township any."""
    scope = tenant_of(session).scope
    if scope is None or not (scope.whole_township or (scope.unit_kind == UnitKind.VILLAGE
                                                      and scope.unit_id == village_id)):
        raise not_found()
    return access(session, Village, village_id, for_write=False)


def access_census_child(session: Session, child_id: int, *, for_write: bool = False) -> CensusChild:
    return access(session, CensusChild, child_id, for_write=for_write)
