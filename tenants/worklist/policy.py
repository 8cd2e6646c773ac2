"""Who reads work items: the unit that owns them (and the township, which sees all).

Items are written only by `service.reconcile`, called by the concept whose record needs the
work; that concept's own policy has already decided the actor may act on the record. Its
action may rightly put work on another unit's list (a school's transfer on the central
school's), so writing is township-wide; no route writes an item.
"""

from __future__ import annotations

from sqlalchemy import and_

from baoxue.platform.scoping import Criteria, Policy, Scope
from baoxue.tenants.worklist.models import WorkItem


class WorkItemPolicy(Policy, model=WorkItem):
    def read(self, scope: Scope) -> Criteria:
        if scope.whole_township:
            return None
        kind, unit_id = scope.unit_kind.value, scope.unit_id
        return lambda c: and_(c.owner_unit_kind == kind, c.owner_unit_id == unit_id)

    def write(self, scope: Scope) -> Criteria:
        return None
