"""Circular test helpers: a session acting as a demo login, and the audit recipes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.tenants.referrals.helpers import acting


def school_id(settings: Any, township_id: int, key: str = "mid") -> int:
    from tests.tenants.status_changes.helpers import school_ids

    return school_ids(settings, township_id)[key]


def village_id(settings: Any, township_id: int, index: int = 0) -> int:
    from baoxue.platform.db import cross_township_session
    from baoxue.tenants.tenancy.models import Village

    with cross_township_session("tests: a village", settings) as s:
        return s.scalars(select(Village.id).where(Village.township_id == township_id).order_by(Village.id)
                         .offset(index).limit(1)).one()


def audit_recipes() -> dict[str, tuple[Any, Any]]:
    from baoxue.tenants.circulars import service
    from baoxue.tenants.circulars.events import Event

    def drafted(w: Any) -> Any:
        return service.do_draft_circular(w.session, acting(w.session, w.settings, "bd_office"))

    def changed(w: Any) -> Any:
        circular = drafted(w)
        return service.do_change_circular(w.session, acting(w.session, w.settings, "bd_office"), circular.id,
                                          title="审计通报", body="审计。",
                                          units=[f"school:{school_id(w.settings, w.township_id)}"])

    def issued(w: Any) -> Any:
        circular = changed(w)
        return service.do_issue_circular(w.session, acting(w.session, w.settings, "bd_office"), circular.id,
                                         settings=w.settings)

    def downloaded(w: Any) -> Any:
        circular = issued(w)
        return service.do_download_circular(w.session, circular, w.settings)

    return {
        "service.do_draft_circular": (drafted, Event.DRAFTED),
        "service.do_change_circular": (changed, Event.CHANGED),
        "service.do_issue_circular": (issued, Event.ISSUED),
        "service.do_download_circular": (downloaded, Event.DOWNLOADED),
    }
