"""Input no handler can store, refused once, before any handler runs: a 400 naming the field.

* Integers beyond PostgreSQL's BIGINT (and `page` beyond `MAX_PAGE`): in the path and the
  query, `check_integer_parameters` (an app-wide guard) reads which parameters each handler
  declares as integers; in forms, every field named `id`, `*_id`, `*_ids` or `page` (the
  convention every form follows); in JSON bodies, the schemas' `Id` and `Page` types
  (msgspec bounds, which the OpenAPI document shows too).
* NUL characters anywhere in the query, a form or a JSON body: PostgreSQL text cannot hold
  them, and no one types one on purpose (`RequestChecks`).
* Bodies of forms and JSON that are not UTF-8 (`RequestChecks`).
* A multipart body without a file, sent to a route that takes one (`RequestChecks`).

`errors.classify` keeps a safety net behind these (a database "out of range" or "NUL" error is
a 400 too), but that one cannot name the field.
"""

from __future__ import annotations

import json
import types
import typing
from functools import cache
from typing import Annotated, Any
from urllib.parse import parse_qsl

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException
from litestar.handlers import BaseRouteHandler
from litestar.params import KwargDefinition
from litestar.types import ASGIApp, Receive, Scope, Send
from msgspec import Meta

from baoxue.platform.errors import InvalidInput
from baoxue.platform.labels import label

MIN_BIGINT, MAX_BIGINT = -(2**63), 2**63 - 1
MAX_PAGE = 10_000  # far past any list; an offset it makes stays a small number

def bounded(low: int, high: int, **meta: Any) -> Any:
    """An int between `low` and `high`: msgspec checks it while decoding (dataclasses and Structs
    alike), and Litestar's description of the body shows it (it reads its own KwargDefinition)."""
    return Annotated[int, Meta(ge=low, le=high, **meta), KwargDefinition(ge=low, le=high, **meta)]


# What the schemas declare for an id: one the database could hold.
Id = bounded(1, MAX_BIGINT)


def text_up_to(length: int, *, min_length: int = 0) -> Any:
    """A str of at most `length` characters, checked while decoding and shown in the schema."""
    bounds: dict[str, int] = {"max_length": length, **({"min_length": min_length} if min_length else {})}
    return Annotated[str, Meta(**bounds), KwargDefinition(**bounds)]


def base64_length(size: int) -> int:
    """How many characters `size` bytes take in Base64 (a file sent inside a JSON body)."""
    return -(-size // 3) * 4

NOT_UTF8 = "请求内容不是有效的 UTF-8 编码，请检查后重新提交。"
NUL_MESSAGE = "不能包含空字符（NUL）。"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def int_bounds(name: str) -> tuple[int, int]:
    """The range an integer parameter called `name` may take; the OpenAPI document shows the same."""
    return (1, MAX_PAGE) if name == "page" else (MIN_BIGINT, MAX_BIGINT)


def _out_of_range(name: str, value: int) -> str | None:
    low, high = int_bounds(name)
    if low <= value <= high:
        return None
    return f"“{label(name)}”超出范围：应在 {low} 到 {high} 之间。"


def _nul(name: str) -> str:
    return f"“{label(name)}”{NUL_MESSAGE}" if name else f"请求内容{NUL_MESSAGE}"


# --- path and query: a guard ----------------------------------------------------------------------

def check_integer_parameters(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """An app-wide guard, after the permission guard (so an anonymous probe learns nothing)."""
    errors: dict[str, str] = {}
    for name, value in connection.path_params.items():
        if isinstance(value, int) and not isinstance(value, bool) and (problem := _out_of_range(name, value)):
            errors[name] = problem
        elif isinstance(value, str) and "\x00" in value:
            errors[name] = _nul(name)
    if integer_query := integer_query_parameters(handler):
        for name, raw in connection.query_params.items():
            if name in integer_query and (problem := _raw_int_problem(name, raw)):
                errors[name] = problem
    if errors:
        raise InvalidInput(errors)


@cache
def integer_query_parameters(handler: BaseRouteHandler) -> frozenset[str]:
    """The names a handler reads as integers (`page: int = 1`, `school_id: int | None = None`)."""
    names = set()
    for name, field in handler.parsed_fn_signature.parameters.items():
        if _is_int(field.annotation):
            names.add(name)
    return frozenset(names)


def _is_int(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        return _is_int(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_int(a) for a in typing.get_args(annotation) if a is not type(None))
    return annotation is int


def _raw_int_problem(name: str, raw: str) -> str | None:
    try:
        value = int(raw.strip())
    except ValueError:
        return None  # not a number at all: Litestar's own validation names it
    return _out_of_range(name, value)


def is_id_field(name: str) -> bool:
    return name in ("id", "page") or name.endswith(("_id", "_ids"))


# --- bodies and the query string: a middleware ---------------------------------------------------

class RequestChecks:
    """Refuses NUL characters, non-UTF-8 bodies and out-of-range form ids before anything parses them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            _check_pairs(_query_pairs(scope.get("query_string", b"")), ids=False)
            if scope.get("method") in BODY_METHODS:
                await _check_body(Request(scope, receive))
        await self.app(scope, receive, send)


def _query_pairs(query_string: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(query_string.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise ClientException(detail="查询参数不是有效的 UTF-8 编码。") from None


async def _check_body(request: Request[Any, Any, Any]) -> None:
    content_type, _ = request.content_type
    if content_type == "application/x-www-form-urlencoded":
        # Read once; Litestar keeps the body in the request's scope for the handler.
        text = _utf8(await request.body())
        try:
            pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise ClientException(detail=NOT_UTF8) from None
        _check_pairs(pairs, ids=True)
    elif content_type == "application/json" or content_type.endswith("+json"):
        text = _utf8(await request.body())
        if "\x00" in text or "\\u0000" in text.lower():
            _check_json(text)
    elif content_type == "multipart/form-data" and _takes_one_file(request.scope.get("route_handler")):
        # Litestar's own extractor fails with a 500 on a multipart body without a file part.
        if not any(isinstance(v, UploadFile) for v in (await request.form()).values()):
            raise InvalidInput({"file": "请选择要上传的文件。"})


@cache
def _takes_one_file(handler: Any) -> bool:
    data = handler.parsed_fn_signature.parameters.get("data") if handler is not None else None
    return data is not None and data.annotation is UploadFile


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientException(detail=NOT_UTF8) from None


def _check_pairs(pairs: list[tuple[str, str]], *, ids: bool) -> None:
    errors: dict[str, str] = {}
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            errors[name.replace("\x00", "")] = _nul(name.replace("\x00", ""))
        elif ids and is_id_field(name) and (problem := _raw_int_problem(name, value)):
            errors[name] = problem
    if errors:
        raise InvalidInput(errors)


def _check_json(text: str) -> None:
    try:
        document = json.loads(text)
    except ValueError:
        return  # not JSON: Litestar answers that itself
    if field := _nul_field(document, ""):
        raise InvalidInput({field: _nul(field)})


def _nul_field(value: Any, field: str) -> str | None:
    """The top-level field under which a NUL hides (`{"a": [{"b": "x\\0"}]}` → "a")."""
    if isinstance(value, str):
        return field if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = field or key.replace("\x00", "")
            if "\x00" in key or (found := _nul_field(item, name)):
                return name if "\x00" in key else found
    if isinstance(value, list):
        for item in value:
            if found := _nul_field(item, field):
                return found
    return None
