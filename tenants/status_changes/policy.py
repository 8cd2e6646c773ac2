"""Who reads and acts on status changes, and `access_change`.

A change belongs to three schools at once: the one whose roll it changes, the one receiving
the child (a transfer inside the township) and the central school that files it. Each reads
and acts on it; a teacher reads the changes of their classes' children; the township reads
all; villages and departments none. Which step each role may take is `flows.RULES`, checked by
the service: the policy says which rows, the rules say which step.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.scoping import Criteria, Policy, Scope, within_school
from baoxue.tenants.status_changes.models import StatusChange, StatusStep


class StatusChangePolicy(Policy, model=StatusChange):
    def read(self, scope: Scope) -> Criteria:
        return within_school(
            scope,
            school=lambda school_id: lambda c: or_(c.school_id == school_id, c.to_school_id == school_id,
                                                   c.central_school_id == school_id),
            classes=lambda class_ids: lambda c: c.class_id.in_(class_ids))

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


class StatusStepPolicy(Policy, model=StatusStep):
    """Steps are read and written with the change they belong to."""

    def read(self, scope: Scope) -> Criteria:
        return lambda c: c.change_id.in_(select(StatusChange.id))

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


def access_change(session: Session, change_id: int, *, for_write: bool = False) -> StatusChange:
    return access(session, StatusChange, change_id, for_write=for_write)
