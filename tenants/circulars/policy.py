"""Who reads and writes circulars.

Everyone in the township reads an issued circular; a draft is read by the township and by the
unit that drafted it (the party-government office's drafts by that office). A draft is written
by its drafting unit or the township; an issued circular is never written again (the service
refuses with a 409 before anything is touched). Who may draft or issue at all is the service's
(`may_issue`: the leading group's office, or the party-government office among departments).
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.scoping import Criteria, Policy, Scope, nothing
from baoxue.tenants.circulars.models import Circular, CircularUnit

ISSUED = "issued"


class CircularPolicy(Policy, model=Circular):
    def read(self, scope: Scope) -> Criteria:
        if scope.whole_township:
            return None
        kind, unit_id = scope.unit_kind.value, scope.unit_id
        return lambda c: or_(c.state == ISSUED, and_(c.drafted_by_unit_kind == kind, c.drafted_by_unit_id == unit_id))

    def write(self, scope: Scope) -> Criteria:
        if scope.whole_township:
            return None
        if scope.department_id is None:
            return nothing()
        unit_id = scope.unit_id
        # Its own drafts (issuing one keeps it in reach: the row is checked again after the flush).
        return lambda c: and_(c.drafted_by_unit_kind == "department", c.drafted_by_unit_id == unit_id)


class CircularUnitPolicy(Policy, model=CircularUnit):
    def read(self, scope: Scope) -> Criteria:
        return lambda c: c.circular_id.in_(select(Circular.id))

    def write(self, scope: Scope) -> Criteria:
        if scope.whole_township:
            return None
        if scope.department_id is None:
            return nothing()
        return lambda c: c.circular_id.in_(select(Circular.id))


def access_circular(session: Session, circular_id: int, *, for_write: bool = False) -> Circular:
    return access(session, Circular, circular_id, for_write=for_write)
