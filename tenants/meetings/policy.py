"""Who reads and writes meeting records.

A unit reads and writes its own records (a school's, a village's, a department's); the township
reads them all and writes its own (the leading group's meetings among them). Agenda items go with
their meeting. Which kind a unit may record, and that only the leading group prepares and decides
its meeting, is the service's to say.
"""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.scoping import Criteria, Policy, Scope
from baoxue.tenants.meetings.models import AgendaItem, Meeting


class MeetingPolicy(Policy, model=Meeting):
    def read(self, scope: Scope) -> Criteria:
        if scope.whole_township:
            return None
        kind, unit_id = scope.unit_kind.value, scope.unit_id
        return lambda c: and_(c.unit_kind == kind, c.unit_id == unit_id)

    def write(self, scope: Scope) -> Criteria:
        if scope.whole_township:
            return lambda c: c.unit_kind == "township"
        return self.read(scope)


class AgendaItemPolicy(Policy, model=AgendaItem):
    def read(self, scope: Scope) -> Criteria:
        return lambda c: c.meeting_id.in_(select(Meeting.id))

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


def access_meeting(session: Session, meeting_id: int, *, for_write: bool = False) -> Meeting:
    return access(session, Meeting, meeting_id, for_write=for_write)
