"""Notifications' API and pages: the header's count, the list, marking read. Thin: parse, call
`service`, answer. Every notification is the reader's own (another's is the one 404)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post, put
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import actor_of, requires
from baoxue.platform.errors import InvalidInput
from baoxue.platform.permissions import Permission
from baoxue.platform.resources import Form, saved
from baoxue.platform.templating import page
from baoxue.tenants.notifications import service
from baoxue.tenants.notifications.flows import KIND_LABELS, Kind
from baoxue.tenants.notifications.models import Notification
from baoxue.tenants.notifications.schemas import EmailIn, EmailOut, MarkedOut, NotificationOut, NotificationsOut

READ = requires(Permission.NOTIFICATION_READ)
# Marking read names a notification (the matrix tries another township's and a sibling's); marking
# all names nothing but the reader's own; the e-mail address is the reader's own account.
MARK = {**READ, "probe": {}}
ABOUT_ME = {**READ, "isolation": "self"}


def _out(n: Notification) -> NotificationOut:
    return NotificationOut(id=n.id, kind=n.kind, kind_label=KIND_LABELS.get(Kind(n.kind), n.kind), text=n.text,
                           href=n.href, created_at=n.created_at, read_at=n.read_at, unread=n.read_at is None)


# --- API -------------------------------------------------------------------------------------------

@get("/api/notifications", opt=READ, summary="我的通知：未读数和通知列表（新的在前）",
     description="`unread_only=true` 只列未读的。每条通知属于本人当前的身份（任职）。", sync_to_thread=True)
def notifications_api(request: Request[Any, Any, Any], db: Session, unread_only: bool = False) -> NotificationsOut:
    actor = actor_of(request)
    return NotificationsOut(unread=service.unread_count(db, actor),
                            items=[_out(n) for n in service.notifications_of(db, actor, unread_only=unread_only)])


@post("/api/notifications/{notification_id:int}/read", opt=MARK, summary="把一条通知标为已读", status_code=200,
      sync_to_thread=True)
def read_api(request: Request[Any, Any, Any], db: Session, notification_id: int) -> NotificationOut:
    return _out(service.mark_read(db, actor_of(request), notification_id))


@post("/api/notifications/read-all", opt=MARK, summary="把我的通知全部标为已读", status_code=200,
      sync_to_thread=True)
def read_all_api(request: Request[Any, Any, Any], db: Session) -> MarkedOut:
    actor = actor_of(request)
    marked = service.mark_all_read(db, actor)
    return MarkedOut(marked=marked, unread=service.unread_count(db, actor))


@put("/api/notifications/email", opt=ABOUT_ME, summary="设置接收通知邮件的电子邮箱（留空则不发邮件）",
     sync_to_thread=True)
def email_api(request: Request[Any, Any, Any], db: Session, data: EmailIn) -> EmailOut:
    return EmailOut(email=service.do_set_email(db, actor_of(request), data.email))


# --- pages -----------------------------------------------------------------------------------------

def _list_page(request: Request[Any, Any, Any], db: Session, *, unread_only: bool = False, status: int = 200,
               errors: dict[str, str] | None = None, email: str | None = None) -> Template:
    actor = actor_of(request)
    return page(request, "notifications/list.html", {
        "notifications": service.notifications_of(db, actor, unread_only=unread_only),
        "unread": service.unread_count(db, actor), "unread_only": unread_only,
        "kind_labels": {k.value: label for k, label in KIND_LABELS.items()},
        "email": service.email_of(db, actor) if email is None else email,
        "email_on": "email" in service.outside_channels(), "errors": errors or {}}, status=status)


@get("/notifications", opt=READ, include_in_schema=False, sync_to_thread=True)
def list_page(request: Request[Any, Any, Any], db: Session, unread_only: bool = False) -> Template:
    return _list_page(request, db, unread_only=unread_only)


@get("/notifications/count", opt=READ, include_in_schema=False, sync_to_thread=True)
def count_fragment(request: Request[Any, Any, Any], db: Session) -> Template:
    """The header's badge: the unread count (an htmx fragment, loaded after the page)."""
    return Template("notifications/count.html", context={"count": service.unread_count(db, actor_of(request))})


@post("/notifications/{notification_id:int}/read", opt=MARK, include_in_schema=False, sync_to_thread=True)
def read_page(request: Request[Any, Any, Any], db: Session, notification_id: int) -> Response[Any]:
    """Read it and go where it leads (303: the browser follows with GET)."""
    notification = service.mark_read(db, actor_of(request), notification_id)
    return Redirect(path=notification.href or "/notifications", status_code=303)


@post("/notifications/read-all", opt=MARK, include_in_schema=False, sync_to_thread=True)
def read_all_page(request: Request[Any, Any, Any], db: Session) -> Response[Any]:
    service.mark_all_read(db, actor_of(request))
    return saved("/notifications")


@post("/notifications/email", opt=ABOUT_ME, include_in_schema=False, sync_to_thread=True)
def email_page(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    try:
        service.do_set_email(db, actor_of(request), data.get("email", ""))
    except InvalidInput as refused:
        return _list_page(request, db, status=400, errors=refused.errors, email=str(data.get("email", "")))
    return saved("/notifications")


routes = [notifications_api, read_all_api, read_api, email_api, list_page, count_fragment, read_all_page, read_page,
          email_page]
