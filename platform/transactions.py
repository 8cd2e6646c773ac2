"""One transaction per request, committed by its outcome, in one place.

`provide_db` opens the request's session (lazily: no connection until the first query) and
leaves it in the ASGI scope; `TransactionMiddleware` decides when the response starts: a 2xx
or 3xx commits (a post-redirect-get form's 303 included), anything else rolls back — a form
answered with its errors, a refusal, an error page. No handler commits or rolls back.

If the commit itself fails (the database went away, a constraint only the commit sees), the
response that was about to go out is replaced by a 503 or 500 before a byte of it is sent:
a user is never told "saved" for something that was not.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from litestar import Request
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.orm import Session

from baoxue.platform.auth import request_context
from baoxue.platform.db import new_session
from baoxue.platform.errors import RETRY_AFTER_SECONDS, is_outage

log = logging.getLogger("baoxue.transactions")
SESSION_KEY = "baoxue_db_session"


def provide_db(request: Request[Any, Any, Any]) -> Session:
    session = new_session(request_context(request), request.app.state.settings)
    request.scope.setdefault("state", {})[SESSION_KEY] = session
    return session


def _finish(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def _discard(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


class TransactionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})  # type: ignore[assignment]
        replaced = False

        async def send_after_deciding(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the app's own body of a response we replaced
            if message["type"] == "http.response.start":
                session: Session | None = state.pop(SESSION_KEY, None)
                if session is not None:
                    ok = 200 <= message["status"] < 400
                    try:
                        await anyio.to_thread.run_sync(_finish, session, ok)
                    except Exception as exc:  # noqa: BLE001 - answered below, never as a traceback
                        log.exception("commit failed (request %s)", state.get("request_id", ""))
                        replaced = True
                        for part in _commit_failed(scope, exc):
                            await send(part)
                        return
            await send(message)

        try:
            await self.app(scope, receive, send_after_deciding)
        finally:
            leftover: Session | None = state.pop(SESSION_KEY, None)
            if leftover is not None:  # an exception, or no response at all: nothing is kept
                await anyio.to_thread.run_sync(_discard, leftover)


def _commit_failed(scope: Scope, exc: Exception) -> list[Message]:
    outage = is_outage(exc)
    status = 503 if outage else 500
    detail = "数据库暂时无法连接，本次操作未保存，请稍后再试。" if outage else "保存失败，本次操作未保存，请稍后再试。"
    request_id = scope.get("state", {}).get("request_id", "")
    if scope.get("path", "").startswith("/api/"):
        import json

        body = json.dumps({"type": f"https://baoxue.example/problems/{status}", "title": "保存失败", "status": status,
                           "detail": detail, "request_id": request_id}, ensure_ascii=False).encode()
        media = b"application/problem+json"
    else:
        body = (f"<!doctype html><meta charset=utf-8><title>保存失败</title><p>{detail}</p>"
                f"<p>请求编号：{request_id}</p><p><a href=\"/\">返回首页</a></p>").encode()
        media = b"text/html; charset=utf-8"
    headers = [(b"content-type", media), (b"content-length", str(len(body)).encode())]
    if outage:
        headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
    return [{"type": "http.response.start", "status": status, "headers": headers},
            {"type": "http.response.body", "body": body, "more_body": False}]
