"""Who reads and works a ticket, and the `access_*` helpers.

A department reads the tickets sent to it, and nothing of the case but what the ticket shows
(service.need_to_know). The referring side reads a ticket with the case it is about: a school or
a village the tickets it sent and those of the cases it holds; the township all of them. Who may
take which step is the service's (flows.Side): the department answers, the referrer decides.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import Criteria, Policy, Scope, TownshipStructure
from baoxue.tenants.cases.models import Case
from baoxue.tenants.referrals.models import Referral, ReferralRoute, ReferralStep


class ReferralPolicy(Policy, model=Referral):
    def read(self, scope: Scope) -> Criteria:
        if scope.whole_township:
            return None
        kind, unit_id = scope.unit_kind.value, scope.unit_id
        if scope.unit_kind == UnitKind.DEPARTMENT:
            return lambda c: c.department_id == unit_id
        if scope.class_ids is not None:  # a teacher: the tickets of the cases of their classes
            return lambda c: c.case_id.in_(select(Case.id))
        return lambda c: or_(and_(c.from_unit_kind == kind, c.from_unit_id == unit_id),
                             c.case_id.in_(select(Case.id)))

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


class ReferralStepPolicy(Policy, model=ReferralStep):
    def read(self, scope: Scope) -> Criteria:
        return lambda c: c.referral_id.in_(select(Referral.id))

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


class ReferralRoutePolicy(TownshipStructure, model=ReferralRoute):
    """The township's routing table: everyone reads it (to refer), the township writes it."""


def access_referral(session: Session, referral_id: int, *, for_write: bool = False) -> Referral:
    return access(session, Referral, referral_id, for_write=for_write)
