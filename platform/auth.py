"""Authentication middleware, the one route guard, the per-request database session.

Pages authenticate by the session cookie (and carry CSRF tokens on forms); `/api/` routes by
bearer token only, so a browser's cookie can never drive the API from another site.
Every route declares what it needs in `opt`: `public=True`, or `permission=` a Permission or
AUTHENTICATED. A route that declares nothing is refused: the guard fails closed.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import anyio
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from baoxue.platform import audit
from baoxue.platform.db import TenantContext, new_session
from baoxue.platform.events import Event
from baoxue.platform.identity import Actor, actor_from_secret
from baoxue.platform.permissions import Permission
from baoxue.platform.settings import Settings

log = logging.getLogger("baoxue.auth")

SESSION_COOKIE = "baoxue_session"
AUTHENTICATED = "authenticated"
# Litestar's OpenAPI routes take no `opt`; the API description is public.
PUBLIC_PREFIXES = ("/schema",)


def requires(permission: Permission | str) -> dict[str, Any]:
    """`@get(..., opt=requires(Permission.STUDENT_READ))`."""
    return {"permission": str(permission)}


PUBLIC: dict[str, Any] = {"public": True}
SIGNED_IN: dict[str, Any] = {"permission": AUTHENTICATED}
# A route about the signed-in person only (their session, their password): no one else's ids.
ABOUT_ME: dict[str, Any] = {**SIGNED_IN, "isolation": "self"}


def _secret_from(scope: Scope) -> tuple[str, str]:
    path: str = scope.get("path", "")
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    if path.startswith("/api/"):
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), "bearer"
        return "", "bearer"
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE:
            return value, "cookie"
    return "", "cookie"


class AuthenticationMiddleware:
    """Puts the Actor (or None) on the connection before any guard runs, and a request id."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        secret, kind = _secret_from(scope)
        if scope.get("path", "").startswith("/static/"):
            secret = ""  # stylesheets and scripts need no one's identity (nor a query)
        scope["user"] = await anyio.to_thread.run_sync(self._actor, secret, kind) if secret else None
        scope["auth"] = kind

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)

    def _actor(self, secret: str, kind: str) -> Actor | None:
        session = new_session(TenantContext(), self.settings)
        try:
            actor = actor_from_secret(session, self.settings, secret, kind=kind)
            session.commit()
            return actor
        finally:
            session.close()


def check_route_permission(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The one guard: reads what the route declared and the actor on the connection; no query."""
    opt = handler.opt
    if opt.get("public") or connection.scope.get("path", "").startswith(PUBLIC_PREFIXES):
        return
    actor: Actor | None = connection.scope.get("user")
    if actor is None:
        raise NotAuthorizedException(detail="请先登录。")
    wanted = opt.get("permission")
    if wanted is None:
        log.error("route %s declares no permission; refused", connection.scope.get("path"))
        raise PermissionDeniedException(detail="没有权限执行此操作。")
    if wanted == AUTHENTICATED:
        return
    if not actor.can(Permission(wanted)):  # a membership's role, or a county viewer's county
        raise PermissionDeniedException(detail="您当前的身份没有权限执行此操作。")


def actor_of(request: Request[Any, Any, Any]) -> Actor:
    actor = request.scope.get("user")
    if actor is None:
        raise NotAuthorizedException(detail="请先登录。")
    return actor


def request_context(request: Request[Any, Any, Any]) -> TenantContext:
    actor: Actor | None = request.scope.get("user")
    extra = {"request_id": request.scope.get("state", {}).get("request_id", ""),
             "ip": request.client.host if request.client else ""}
    if actor is None:
        return TenantContext(extra=extra)
    return actor.context(**extra)


def audit_denied(request: Request[Any, Any, Any], status: int) -> None:
    """A refused attempt by a signed-in person is recorded, in its own transaction."""
    actor: Actor | None = request.scope.get("user")
    if actor is None or actor.township_id is None:
        return
    try:
        session = new_session(request_context(request), request.app.state.settings)
        try:
            audit.record(session, Event.ACCESS_DENIED, outcome="denied", entity_type="route",
                         entity_id=request.url.path[:40],
                         changes={"method": request.method, "path": request.url.path, "status": status})
            session.commit()
        finally:
            session.close()
    except Exception:  # noqa: BLE001 - auditing a refusal must never turn it into a 500
        log.exception("could not audit a refused request")
