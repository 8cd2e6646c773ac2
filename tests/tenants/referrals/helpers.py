"""Referral test helpers: a demo case to refer, the department it goes to, and audit recipes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from baoxue.platform.db import cross_township_session, set_tenant
from tests.tenants.status_changes.helpers import login_actor


def open_case(settings: Any, township_id: int, *, school: str = "mid") -> int:
    """An open case of the middle school (the demo has several)."""
    from baoxue.tenants.cases.models import Case
    from tests.tenants.status_changes.helpers import school_ids

    with cross_township_session("tests: an open case", settings) as s:
        return s.scalars(select(Case.id).where(Case.township_id == township_id,
                                               Case.school_id == school_ids(settings, township_id)[school],
                                               Case.stage.in_(["reported", "persuading"]))
                         .order_by(Case.id.desc()).limit(1)).one()


def department(settings: Any, township_id: int, duty: str) -> int:
    from baoxue.tenants.tenancy.models import Department

    with cross_township_session("tests: a department", settings) as s:
        return s.scalars(select(Department.id).where(Department.township_id == township_id,
                                                     Department.duty_code == duty)).one()


def acting(session: Any, settings: Any, username: str) -> Any:
    """The demo login as the service sees it, and the session narrowed to it (as a request is)."""
    actor = login_actor(settings, username)
    set_tenant(session, actor.context())
    return actor


def audit_recipes() -> dict[str, tuple[Any, Any]]:
    from baoxue.tenants.referrals import service
    from baoxue.tenants.referrals.events import Event

    def opened(w: Any) -> Any:
        case_id = open_case(w.settings, w.township_id)
        return service.do_open_referral(w.session, acting(w.session, w.settings, "bd_mid_academic"), kind="poverty",
                                        department_id=department(w.settings, w.township_id, "finance"),
                                        reason="审计。", case_id=case_id)

    def stepped(w: Any) -> Any:
        ticket = opened(w)
        return service.do_referral_step(w.session, acting(w.session, w.settings, "bd_finance"), ticket.id, "accept")

    def routed(w: Any) -> Any:
        from baoxue.tenants.referrals.flows import DEFAULT_ROUTES

        acting(w.session, w.settings, "bd_office")
        values = {f"{k}.{part}": v for k, r in DEFAULT_ROUTES.items() for part, v in (
            ("duties", [d.value for d in r.duties]), ("respond_days", r.respond_days),
            ("resolve_days", r.resolve_days))}
        return service.do_save_routes(w.session, {**values, "harm.respond_days": 2})

    def photo_viewed(w: Any) -> Any:
        from baoxue.tenants.cases.models import Case, HomeVisit, Photo

        academic = acting(w.session, w.settings, "bd_mid_academic")
        case_id = w.session.scalars(select(HomeVisit.case_id).join(Photo, Photo.visit_id == HomeVisit.id)
                                    .join(Case, Case.id == HomeVisit.case_id).where(Case.stage != "closed")
                                    .limit(1)).one()
        ticket = service.do_open_referral(w.session, academic, kind="child_labour", reason="审计。", case_id=case_id,
                                          department_id=department(w.settings, w.township_id, "labour"),
                                          grant_photos=True)
        labour = acting(w.session, w.settings, "bd_labour")
        photo = service.granted_photos(w.session, labour, ticket)[0]
        return service.do_view_granted_photo(w.session, labour, ticket, photo.id, w.settings)

    return {
        "service.do_view_granted_photo": (photo_viewed, Event.VIEWED),
        "service.do_save_routes": (routed, Event.ROUTES_CHANGED),
        "service.do_open_referral": (opened, Event.OPENED),
        "service.do_referral_step": (stepped, Event.STEP),
    }
