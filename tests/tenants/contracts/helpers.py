"""Contract test helpers: the demo's contracts by party, and the audit recipes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from baoxue.platform.db import cross_township_session
from tests.tenants.referrals.helpers import acting


def contract_id(settings: Any, township_id: int, party_kind: str, party_id: int) -> int:
    from baoxue.tenants.contracts.models import Contract

    with cross_township_session("tests: a contract", settings) as s:
        return s.scalars(select(Contract.id).where(Contract.township_id == township_id,
                                                   Contract.party_kind == party_kind,
                                                   Contract.party_id == party_id,
                                                   Contract.previous_id.is_(None))
                         .order_by(Contract.school_year.desc())).first()


def unsigned_village(settings: Any, township_id: int) -> int:
    """A demo village contract nobody has signed yet (the third village's onwards)."""
    from baoxue.tenants.contracts.models import Contract, ContractSignature

    with cross_township_session("tests: an unsigned contract", settings) as s:
        return s.scalars(select(Contract.id).where(
            Contract.township_id == township_id, Contract.kind == "village",
            Contract.id.not_in(select(ContractSignature.contract_id)),
            Contract.id.not_in(select(Contract.previous_id).where(Contract.previous_id.is_not(None))))
            .order_by(Contract.id.desc())).first()


def audit_recipes() -> dict[str, tuple[Any, Any]]:
    from baoxue.tenants.contracts import service
    from baoxue.tenants.contracts.events import Event

    def requested(w: Any) -> Any:
        return service.do_issue_contracts(w.session, acting(w.session, w.settings, "bd_office"), "school")

    def signed(w: Any) -> Any:
        return service.do_sign_contract(w.session, acting(w.session, w.settings, "bd_office"),
                                        unsigned_village(w.settings, w.township_id), settings=w.settings)

    def downloaded(w: Any) -> Any:
        from tests.tenants.status_changes.helpers import school_ids

        actor = acting(w.session, w.settings, "bd_office")
        contract = service.access_contract(w.session, contract_id(w.settings, w.township_id, "school",
                                                                  school_ids(w.settings, w.township_id)["mid"]))
        return service.do_download_contract(w.session, contract, w.settings) if actor else None

    def corrected(w: Any) -> Any:
        return service.do_correct_contract(w.session, acting(w.session, w.settings, "bd_office"),
                                           unsigned_village(w.settings, w.township_id), settings=w.settings)

    return {
        "service.do_correct_contract": (corrected, Event.CORRECTED),
        "service.do_issue_contracts": (requested, Event.ISSUE_REQUESTED),
        "service.do_sign_contract": (signed, Event.SIGNED),
        "service.do_download_contract": (downloaded, Event.DOWNLOADED),
    }
