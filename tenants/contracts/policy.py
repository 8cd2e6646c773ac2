"""Who reads and signs contracts: the township all of them; a village its own; a school its own
and its teachers' (principal ↔ teacher); a teacher the school's and their own. Who signs which side
is the service's (`side_of`). A department sees none."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.permissions import UnitKind
from baoxue.platform.scoping import Criteria, Policy, Scope, nothing
from baoxue.tenants.contracts.models import Contract, ContractSignature


class ContractPolicy(Policy, model=Contract):
    def read(self, scope: Scope) -> Criteria:
        if scope.whole_township:
            return None
        if scope.unit_kind not in (UnitKind.VILLAGE, UnitKind.SCHOOL):
            return nothing()
        kind, unit_id = scope.unit_kind.value, scope.unit_id
        if scope.unit_kind == UnitKind.VILLAGE:
            return lambda c: and_(c.party_kind == kind, c.party_id == unit_id)
        if scope.class_ids is not None:  # a teacher: the school's contract and their own
            membership_id = scope.membership_id
            return lambda c: or_(and_(c.party_kind == kind, c.party_id == unit_id),
                                 and_(c.party_kind == "membership", c.party_id == membership_id,
                                      c.school_id == unit_id))
        return lambda c: or_(and_(c.party_kind == kind, c.party_id == unit_id), c.school_id == unit_id)

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


class ContractSignaturePolicy(Policy, model=ContractSignature):
    def read(self, scope: Scope) -> Criteria:
        return lambda s: s.contract_id.in_(select(Contract.id))

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


def access_contract(session: Session, contract_id: int, *, for_write: bool = False) -> Contract:
    return access(session, Contract, contract_id, for_write=for_write)
