"""Errors: one way to answer them. RFC 9457 problem details for the API, a page for people.

Services raise the exceptions below (or Litestar's); routes never build error responses.
No traceback ever reaches a user: an unexpected error is logged with its request id and the
user sees a short Chinese message carrying that id.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

log = logging.getLogger("baoxue.errors")

TITLES = {
    400: "请求内容有误",
    401: "请先登录",
    403: "没有权限",
    404: "未找到",
    405: "不支持的操作",
    409: "与现有数据冲突",
    413: "上传的文件太大",
    415: "不支持的文件类型",
    422: "提交的数据有误",
    429: "请求过于频繁",
    500: "系统内部错误",
    503: "服务暂不可用",
}


# A form left open past its token: the page says so (it is not a missing permission).
PAGE_EXPIRED = "页面已过期，请刷新页面后重新提交。"


def page_title(status: int, detail: str) -> str:
    return "页面已过期" if detail == PAGE_EXPIRED else TITLES.get(status, "出错了")


RETRY_AFTER_SECONDS = 5
OUTAGE_DETAIL = "数据库暂时无法连接，请稍后再试。"


class FieldError(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details: the body of every error the API answers (documented once)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str = ""
    request_id: str = ""
    errors: list[FieldError] = []


class InvalidInput(ValidationException):
    """Bad input, by field: `InvalidInput({"name": "名称不能为空。"})`."""

    def __init__(self, errors: dict[str, str], detail: str = "提交的数据有误，请按提示修改。") -> None:
        super().__init__(detail=detail, extra=[{"field": k, "message": v} for k, v in errors.items()])
        self.errors = errors


class Conflict(HTTPException):
    status_code = 409


class Forbidden(PermissionDeniedException):
    """The record is the actor's to see, but this act is someone else's: the detail says whose."""


def not_found() -> NotFoundException:
    """Missing, another township's and not-yours all look the same from outside."""
    return NotFoundException(detail="未找到该记录，或您无权查看。")


def is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/health"


def _field_errors(exc: Exception) -> list[dict[str, str]]:
    if isinstance(exc, InvalidInput):
        return [{"field": k, "message": v} for k, v in exc.errors.items()]
    extra = getattr(exc, "extra", None)
    out = []
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                message = str(item.get("message") or "")
                field = str(item.get("field") or _field_in(message) or item.get("key") or "")
                field = re.split(r"[\[.]", field, maxsplit=1)[0]  # "class_ids[0]": the field is class_ids
                out.append({"field": field, "message": _translate(message, field)})
    return out


def _field_in(message: str) -> str:
    """msgspec names the field in backticks: "missing required field `password`", "at `$.grade`"."""
    for pattern in (r"required field `([^`]+)`", r"at `\$\.([^`\[]+)"):
        found = re.search(pattern, message)
        if found:
            return found.group(1)
    return ""


def _translate(message: str, field: str) -> str:
    """Litestar's validation messages are English; say the gist in Chinese, naming the field."""
    from baoxue.platform.labels import label

    lowered = message.lower()
    name = label(field) if field else "请求内容"
    if bound := re.search(r"(length )?([<>])=? (-?\d+)", message):
        return _bound_message(name, is_length=bool(bound.group(1)), upper=bound.group(2) == "<",
                              limit=int(bound.group(3)))
    if "missing" in lowered or "required" in lowered:
        return f"缺少必填字段“{name}”。"
    if "expected" in lowered or "invalid" in lowered or "type" in lowered:
        return f"字段“{name}”的格式不正确。"
    if "json" in lowered or "malformed" in lowered or "decode" in lowered:
        return "请求内容不是有效的 JSON。"
    return f"字段“{name}”的值无效。"


def _bound_message(name: str, *, is_length: bool, upper: bool, limit: int) -> str:
    if is_length:
        if not upper and limit <= 1:
            return f"字段“{name}”不能为空。"
        return f"字段“{name}”不能{'超过' if upper else '少于'} {limit} 个字。"
    return f"字段“{name}”超出范围：不能{'大于' if upper else '小于'} {limit}。"


def is_outage(exc: BaseException) -> bool:
    """The database cannot be reached (or went away mid-request): try again later, a 503."""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def _unstorable(exc: BaseException) -> str | None:
    """A value the database refused to store or compare: the safety net behind the request checks."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    if isinstance(exc, OverflowError) or "out of range" in text:
        return "提交的数值超出范围。"
    if "(0x00)" in text and isinstance(exc, DataError | ValueError):
        return "提交的内容不能包含空字符（NUL）。"
    return None


def classify(exc: Exception) -> tuple[int, str, list[dict[str, str]]]:
    if is_outage(exc):
        return 503, OUTAGE_DETAIL, []
    if (unstorable := _unstorable(exc)) is not None:
        return 400, unstorable, []
    if isinstance(exc, HTTPException):
        status = exc.status_code
        errors = _field_errors(exc) if status in (400, 422) else []
        detail = exc.detail if isinstance(exc.detail, str) else ""
        if "CSRF" in detail:
            # Usually a form left open past its token (or another tab logged out).
            detail = PAGE_EXPIRED
        elif not _is_chinese(detail):
            detail = errors[0]["message"] if errors else TITLES.get(status, "请求无法完成")
        return status, detail, errors
    return 500, "系统内部错误，请稍后再试；如仍有问题，请把页面上的请求编号告诉管理员。", []


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _headers(exc: Exception, status: int) -> dict[str, str]:
    """What the answer must keep of the exception's headers (Allow on 405, Retry-After on 429)."""
    headers = dict(getattr(exc, "headers", None) or {}) if isinstance(exc, HTTPException) else {}
    if status == 503:
        headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
    return headers


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status, detail, errors = classify(exc)
    request_id = request.scope.get("state", {}).get("request_id", "")
    headers = _headers(exc, status)
    if status == 503:
        log.warning("database unavailable (request %s) on %s %s: %s", request_id, request.method,
                    request.url.path, type(exc).__name__)
    elif status >= 500:
        log.exception("unhandled error (request %s) on %s %s", request_id, request.method, request.url.path,
                      exc_info=exc)
    elif status in (403, 404):
        from baoxue.platform.auth import audit_denied

        audit_denied(request, status)
    if is_api(request):
        body: dict[str, Any] = {
            "type": f"https://baoxue.example/problems/{status}",
            "title": TITLES.get(status, "请求无法完成"),
            "status": status,
            "detail": detail,
            "instance": request.url.path,
            "request_id": request_id,
        }
        if errors:
            body["errors"] = errors
        return Response(content=body, status_code=status, media_type="application/problem+json", headers=headers)
    if status == 401:
        return Redirect(path=f"/login?next={quote(request.url.path)}")
    return Template(
        template_name="errors/error.html",
        context={"status": status, "title": page_title(status, detail), "detail": detail,
                 "errors": errors, "request_id": request_id},
        status_code=status, headers=headers,
    )


EXCEPTION_HANDLERS = {Exception: handle_exception, HTTPException: handle_exception}

__all__ = [
    "Conflict", "InvalidInput", "Problem", "is_outage", "NotAuthorizedException", "PermissionDeniedException", "not_found",
    "EXCEPTION_HANDLERS", "is_api",
]
