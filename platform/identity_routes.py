"""Login, logout, password change and membership switching: pages and API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlparse

from litestar import Request, Response, delete, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import ABOUT_ME, PUBLIC, SESSION_COOKIE, SIGNED_IN, actor_of
from baoxue.platform.errors import InvalidInput, not_found
from baoxue.platform.request_checks import Id
from baoxue.platform.security import csrf_cookie
from baoxue.platform.identity import (
    Actor,
    LoginRefused,
    do_change_password,
    do_login,
    do_logout,
    do_switch_membership,
)

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _safe_next(target: str | None) -> str:
    """Only a path on this site: `next=https://evil.example` must not become a redirect."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _retry_after(refused: LoginRefused) -> dict[str, str]:
    return {"Retry-After": str(refused.retry_after)} if refused.retry_after else {}


def _request_meta(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {"ip": request.client.host if request.client else "",
            "request_id": request.scope.get("state", {}).get("request_id", "")}


# --- pages ---------------------------------------------------------------------------------

@get("/login", opt=PUBLIC, include_in_schema=False)
async def login_page(request: Request[Any, Any, Any], next: str = "/") -> Template:
    return Template("identity/login.html", context={"next": _safe_next(next), "error": "", "username": ""})


@post("/login", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def login_submit(request: Request[Any, Any, Any], db: Session, data: Form) -> Response[Any]:
    settings = request.app.state.settings
    username = (data.get("username") or "").strip()
    next_path = _safe_next(data.get("next"))
    if not username or not data.get("password"):
        return Template("identity/login.html", status_code=400, context={
            "next": next_path, "username": username, "error": "请输入用户名和密码。"})
    try:
        secret, row = do_login(db, settings, username, data.get("password", ""), kind="cookie", **_request_meta(request))
    except LoginRefused as refused:
        return Template("identity/login.html", status_code=400 if refused.status == 401 else refused.status,
                        headers=_retry_after(refused), context={
                            "next": next_path, "username": username, "error": refused.message})
    response = Redirect(path=next_path)
    response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="lax", secure=settings.is_production,
                        max_age=settings.session_absolute_hours * 3600, path="/")
    response.set_cookie(csrf_cookie(row.csrf_token, settings))
    return response


@post("/logout", opt=ABOUT_ME, include_in_schema=False, sync_to_thread=True)
def logout(request: Request[Any, Any, Any], db: Session) -> Redirect:
    do_logout(db, actor_of(request))
    response = Redirect(path="/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@post("/switch", opt={**SIGNED_IN, "probe": {"membership_id": "$membership"}}, include_in_schema=False, sync_to_thread=True)
def switch_membership(request: Request[Any, Any, Any], db: Session, data: Form) -> Redirect:
    try:
        membership_id = int(data.get("membership_id", ""))
    except ValueError:
        membership_id = 0
    if not do_switch_membership(db, actor_of(request), membership_id):
        raise not_found()
    return Redirect(path="/")


@get("/password", opt=SIGNED_IN, include_in_schema=False)
async def password_page(request: Request[Any, Any, Any]) -> Template:
    return Template("identity/password.html", context={"errors": {}, "done": False})


@post("/password", opt=ABOUT_ME, include_in_schema=False, sync_to_thread=True)
def password_submit(request: Request[Any, Any, Any], db: Session, data: Form) -> Template:
    if data.get("new_password") != data.get("confirm_password"):
        errors = {"confirm_password": "两次输入的新密码不一致。"}
    else:
        errors = do_change_password(db, actor_of(request), data.get("current_password", ""),
                                    data.get("new_password", ""))
    return Template("identity/password.html", status_code=400 if errors else 200,
                    context={"errors": errors, "done": not errors})


# --- API -----------------------------------------------------------------------------------

@dataclass
class TokenRequest:
    username: str
    password: str


@dataclass
class PasswordRequest:
    current_password: str
    new_password: str


@dataclass
class SwitchRequest:
    membership_id: Id


@dataclass
class MembershipOut:
    id: int
    township_id: int
    township: str
    role: str
    role_label: str
    unit_kind: str
    unit_id: int | None
    unit: str


@dataclass
class MeOut:
    user_id: int
    username: str
    display_name: str
    membership: MembershipOut | None
    memberships: list[MembershipOut]
    permissions: list[str]


@dataclass
class TokenOut:
    token: str
    token_type: str
    expires_at: datetime
    me: MeOut


def _me(actor: Actor) -> MeOut:
    def out(m: Any) -> MembershipOut:
        return MembershipOut(id=m.id, township_id=m.township_id, township=m.township_name, role=m.role.value,
                             role_label=m.role.label, unit_kind=m.unit_kind.value, unit_id=m.unit_id,
                             unit=m.unit_name)

    return MeOut(user_id=actor.user_id, username=actor.username, display_name=actor.display_name,
                 membership=out(actor.membership) if actor.membership else None,
                 memberships=[out(m) for m in actor.memberships],
                 permissions=sorted(p.value for p in actor.permissions))


@post("/api/auth/token", opt={**PUBLIC, "throttled": True}, summary="Log in; returns a bearer token", sync_to_thread=True)
def api_token(request: Request[Any, Any, Any], db: Session, data: TokenRequest) -> TokenOut:
    from baoxue.platform.identity import actor_from_secret

    settings = request.app.state.settings
    try:
        secret, row = do_login(db, settings, data.username, data.password, kind="bearer", **_request_meta(request))
    except LoginRefused as refused:
        if refused.status == 429:
            raise TooManyRequestsException(detail=refused.message, headers=_retry_after(refused)) from refused
        raise NotAuthorizedException(detail=refused.message) from refused
    actor = actor_from_secret(db, settings, secret, kind="bearer")
    assert actor is not None
    return TokenOut(token=secret, token_type="Bearer", expires_at=row.expires_at, me=_me(actor))


@delete("/api/auth/token", opt=ABOUT_ME, summary="Log out: revoke this token", sync_to_thread=True)
def api_revoke(request: Request[Any, Any, Any], db: Session) -> None:
    do_logout(db, actor_of(request))


@get("/api/me", opt=ABOUT_ME, summary="Who I am, my memberships and permissions")
async def api_me(request: Request[Any, Any, Any]) -> MeOut:
    return _me(actor_of(request))


@post("/api/me/membership", opt={**SIGNED_IN, "probe": {"membership_id": "$membership"}},
      summary="Act in another of my memberships", sync_to_thread=True)
def api_switch(request: Request[Any, Any, Any], db: Session, data: SwitchRequest) -> dict[str, int]:
    if not do_switch_membership(db, actor_of(request), data.membership_id):
        raise not_found()  # someone else's membership is as absent as a missing one
    return {"membership_id": data.membership_id}


@post("/api/me/password", opt=ABOUT_ME, summary="Change my password", sync_to_thread=True)
def api_password(request: Request[Any, Any, Any], db: Session, data: PasswordRequest) -> dict[str, str]:
    errors = do_change_password(db, actor_of(request), data.current_password, data.new_password)
    if errors:
        raise InvalidInput(errors)
    return {"status": "changed"}


routes = [login_page, login_submit, logout, switch_membership, password_page, password_submit,
          api_token, api_revoke, api_me, api_switch, api_password]
