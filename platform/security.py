"""Response headers every answer carries, and the CSRF check of pages, in one place each.

Headers (`security_headers`, a `before_send` hook, so 404s of unknown paths get them too): no
framing (`X-Frame-Options` and CSP `frame-ancestors`), no MIME sniffing, referrers only to
ourselves, and `Cache-Control: no-store` on everything but the static files, so a shared
computer's cache never keeps a child's record, a list or an export.

CSRF (`CsrfMiddleware`): the API takes bearer tokens only and needs none. A page form (field
`_csrf_token`) or an htmx request (header `X-CSRFToken`) that changes something must carry

* for a signed-in person: their session's own token (`auth_sessions.csrf_token`, on the Actor),
  so a token an attacker got for themselves, or planted with a cookie of their own, is
  refused with the victim's session;
* before signing in (the login form): the signed token of the `csrftoken` cookie (double submit).

Templates get the right one through Litestar's `csrf_input` / `csrf_token`. The `csrftoken`
cookie mirrors the session's token once signed in, for scripts that read it there; it is never
what a signed-in request is checked against.
"""

from __future__ import annotations

import hmac
from secrets import compare_digest
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash, generate_csrf_token
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from baoxue.platform.settings import Settings

CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"
CSRF_FIELD = "_csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Bearer-token API, machine endpoints, the API description and static files: no CSRF.
CSRF_EXEMPT = ("/api/", "/health", "/schema", "/static/")

# Scripts from this site only (htmx, app.js, signature.js): no page carries inline script or handlers.
CONTENT_SECURITY_POLICY = ("frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'; "
                           "script-src 'self'")
HEADERS = {
    b"x-frame-options": b"DENY",
    b"content-security-policy": CONTENT_SECURITY_POLICY.encode(),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
}


def security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in HEADERS.items():
        headers[name.decode()] = value.decode()
    if not scope.get("path", "").startswith("/static/"):
        headers["cache-control"] = "no-store"


# --- CSRF ---------------------------------------------------------------------------------------

class CsrfMiddleware:
    """Runs after authentication (it needs the Actor) and before the request's transaction."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(CSRF_EXEMPT):
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = Request(scope, receive)
        actor = scope.get("user") if scope.get("auth") == "cookie" else None
        cookie = request.cookies.get(CSRF_COOKIE)
        if actor is not None:
            expected = actor.csrf_token
        elif cookie and self._signed(cookie):
            expected = cookie
        else:
            expected = generate_csrf_token(secret=self.settings.secret_key)
        ScopeState.from_scope(scope).csrf_token = expected  # what the page's forms carry (error pages too)
        if scope.get("method") not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER) or await _form_token(request)
            # Before signing in, the token must also be the cookie's (and signed): double submit.
            if not sent or not compare_digest(sent, expected) or (actor is None and cookie != expected):
                raise PermissionDeniedException(detail="CSRF token verification failed")
        if cookie == expected:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie_header = csrf_cookie(expected, self.settings).to_header(header="")
                MutableScopeHeaders.from_message(message).add("set-cookie", cookie_header)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _signed(self, token: str) -> bool:
        if len(token) <= CSRF_SECRET_LENGTH:
            return False
        secret, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
        return hmac.compare_digest(signature, generate_csrf_hash(token=secret, secret=self.settings.secret_key))



async def _form_token(request: Request[Any, Any, Any]) -> str:
    content_type, _ = request.content_type
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return ""
    value = (await request.form()).get(CSRF_FIELD)  # kept in the request's scope for the handler
    return value if isinstance(value, str) else ""


def csrf_cookie(token: str, settings: Settings) -> Cookie:
    """The `csrftoken` cookie; on signing in it is set to the new session's token (see the module)."""
    return Cookie(key=CSRF_COOKIE, value=token, path="/", secure=settings.is_production, httponly=False,
                  samesite="lax")
