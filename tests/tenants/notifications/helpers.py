"""Notification test helpers: recipients as the database has them, telling in a session of the
township's own, the rows an event left, and the audit recipe of the one audited action."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from baoxue.platform.db import cross_township_session, set_tenant, tenant_session
from baoxue.platform.jobs import township_context
from tests.tenants.status_changes.helpers import login_actor


def memberships(settings: Any, township_id: int, *, role: str | None = None, school_id: int | None = None,
                department_id: int | None = None) -> set[int]:
    """The active memberships (of active people) that match, read over the wall: the ground truth."""
    from baoxue.tenants.tenancy.models import Membership, User

    with cross_township_session("tests: memberships", settings) as s:
        query = select(Membership.id).join(User, User.id == Membership.user_id).where(
            Membership.township_id == township_id, Membership.is_active.is_(True), User.is_active.is_(True))
        if role is not None:
            query = query.where(Membership.role == role)
        if school_id is not None:
            query = query.where(Membership.school_id == school_id)
        if department_id is not None:
            query = query.where(Membership.department_id == department_id)
        return set(s.scalars(query))


def membership_of(settings: Any, username: str) -> int:
    actor = login_actor(settings, username)
    assert actor.membership is not None
    return actor.membership.id


def tell(settings: Any, township_id: int, key: str, to: list[Any], *, kind: str = "circular",
         text: str = "测试通知", href: str = "/worklist") -> int:
    """`send` in a transaction of the township's own (as a job or a consequence writes), committed."""
    from baoxue.tenants.notifications.service import send

    with tenant_session(township_context(township_id), settings) as session:
        return send(session, key=key, to=to, kind=kind, text=text, href=href)


def rows(settings: Any, township_id: int, key: str) -> list[Any]:
    from baoxue.tenants.notifications.models import Notification

    with cross_township_session("tests: notifications of a key", settings) as s:
        found = list(s.scalars(select(Notification).where(Notification.township_id == township_id,
                                                          Notification.key == key).order_by(Notification.id)))
        s.expunge_all()
        return found


def acting(session: Any, settings: Any, username: str) -> Any:
    actor = login_actor(settings, username)
    set_tenant(session, actor.context())
    return actor


def audit_recipes() -> dict[str, tuple[Any, Any]]:
    from baoxue.tenants.notifications import service
    from baoxue.tenants.notifications.events import Event

    def set_email(w: Any) -> Any:
        return service.do_set_email(w.session, acting(w.session, w.settings, "bd_office"), "office@bandang.example.cn")

    return {"service.do_set_email": (set_email, Event.EMAIL_CHANGED)}
