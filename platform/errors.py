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

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template

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


class InvalidInput(ValidationException):
    """Bad input, by field: `InvalidInput({"name": "名称不能为空。"})`."""

    def __init__(self, errors: dict[str, str], detail: str = "提交的数据有误，请按提示修改。") -> None:
        super().__init__(detail=detail, extra=[{"field": k, "message": v} for k, v in errors.items()])
        self.errors = errors


class Conflict(HTTPException):
    status_code = 409


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
    lowered = message.lower()
    name = field or "请求内容"
    if "missing" in lowered or "required" in lowered:
        return f"缺少必填字段“{name}”。"
    if "expected" in lowered or "invalid" in lowered or "type" in lowered:
        return f"字段“{name}”的格式不正确。"
    if "json" in lowered or "malformed" in lowered or "decode" in lowered:
        return "请求内容不是有效的 JSON。"
    return f"字段“{name}”的值无效。"


def classify(exc: Exception) -> tuple[int, str, list[dict[str, str]]]:
    if isinstance(exc, HTTPException):
        status = exc.status_code
        errors = _field_errors(exc) if status in (400, 422) else []
        detail = exc.detail if isinstance(exc.detail, str) else ""
        if "CSRF" in detail:
            # Usually a form left open past its token (or another tab logged out).
            detail = "页面已过期，请刷新页面后重新提交。"
        elif not _is_chinese(detail):
            detail = errors[0]["message"] if errors else TITLES.get(status, "请求无法完成")
        return status, detail, errors
    return 500, "系统内部错误，请稍后再试；如仍有问题，请把页面上的请求编号告诉管理员。", []


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status, detail, errors = classify(exc)
    request_id = request.scope.get("state", {}).get("request_id", "")
    if status >= 500:
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
        return Response(content=body, status_code=status, media_type="application/problem+json")
    if status == 401:
        return Redirect(path=f"/login?next={quote(request.url.path)}")
    return Template(
        template_name="errors/error.html",
        context={"status": status, "title": TITLES.get(status, "出错了"), "detail": detail,
                 "errors": errors, "request_id": request_id},
        status_code=status,
    )


EXCEPTION_HANDLERS = {Exception: handle_exception, HTTPException: handle_exception}

__all__ = [
    "Conflict", "InvalidInput", "NotAuthorizedException", "PermissionDeniedException", "not_found",
    "EXCEPTION_HANDLERS", "is_api",
]
