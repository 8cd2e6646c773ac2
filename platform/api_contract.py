"""What the OpenAPI document promises about every API route, stated once for all of them.

Litestar describes each handler's success; the rest of the contract is the platform's, and the
same for every route, so it is added here rather than on each handler:

* the problems any route may answer (400, 401, 403, 404, 409, 422 and 503), each as
  `application/problem+json` with the `Problem` schema the error handler really writes;
  429 where a route is throttled (`opt={"throttled": True}`), 413 and 415 where it takes a file;
* the ranges the request checks enforce on integer path and query parameters
  (`baoxue.platform.request_checks.int_bounds`), so a client knows them before it is refused;
* downloads: a handler answering `Response[bytes]` sends an xlsx file (the only kind of file
  the API sends today; another kind names its media type in `opt={"download": ...}`).

Bounds of request bodies are declared on the schema types themselves (msgspec `Meta`).
The document is completed once per app, when it is first asked for.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from litestar import Litestar, Request, Response
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute

from baoxue.platform.errors import TITLES, Problem
from baoxue.platform.request_checks import int_bounds
from baoxue.platform.spreadsheets import XLSX_MEDIA_TYPE

PROBLEM_MEDIA_TYPE = "application/problem+json"
EVERY_ROUTE = (400, 401, 403, 404, 409, 422, 503)
UPLOAD_MEDIA_TYPE = "multipart/form-data"


class ContractJson(JsonRenderPlugin):
    """Serves /schema/openapi.json: Litestar's document, completed by `complete`."""

    def __init__(self) -> None:
        super().__init__()
        self._document: dict[str, Any] | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._document is None:
            self._document = complete(copy.deepcopy(openapi_schema), request.app)
        return self.render_json(request, self._document)


def complete(document: dict[str, Any], app: Litestar) -> dict[str, Any]:
    (problem_ref,), components = msgspec.json.schema_components(
        (Problem,), ref_template="#/components/schemas/{name}")
    document.setdefault("components", {}).setdefault("schemas", {}).update(components)
    handlers = _handlers(app)
    for path, item in document.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            handler = handlers.get((path, method.upper()))
            if isinstance(operation, dict) and handler is not None:
                _complete_operation(operation, handler, problem_ref)
    return document


def _handlers(app: Litestar) -> dict[tuple[str, str], Any]:
    found = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                for method in handler.http_methods:
                    found[(route.path_format, method)] = handler
    return found


def _complete_operation(operation: dict[str, Any], handler: Any, problem_ref: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    statuses = list(EVERY_ROUTE)
    if handler.opt.get("throttled"):
        statuses.append(429)
    if UPLOAD_MEDIA_TYPE in operation.get("requestBody", {}).get("content", {}):
        statuses += [413, 415]
    for status in statuses:
        responses[str(status)] = _problem_response(status, problem_ref)
    for parameter in operation.get("parameters", []):
        _bound(parameter)
    if (media_type := _download_media_type(handler)) is not None:
        success = next((r for code, r in responses.items() if code.startswith("2")), None)
        if success is not None:
            success["content"] = {media_type: {"schema": {"type": "string", "format": "binary"}}}


def _problem_response(status: int, problem_ref: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": TITLES.get(status, "请求无法完成"),
                                "content": {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}}}
    if status in (429, 503):
        response["headers"] = {"Retry-After": {"description": "多少秒后再试", "schema": {"type": "integer"}}}
    return response


def _bound(parameter: dict[str, Any]) -> None:
    schema = parameter.get("schema", {})
    for candidate in [schema, *schema.get("oneOf", [])]:
        if candidate.get("type") == "integer":
            candidate["minimum"], candidate["maximum"] = int_bounds(parameter.get("name", ""))


def _download_media_type(handler: Any) -> str | None:
    if "download" in handler.opt:
        return str(handler.opt["download"])
    returns = handler.parsed_fn_signature.return_type
    if returns.is_subclass_of(Response) and returns.inner_types and returns.inner_types[0].annotation is bytes:
        return XLSX_MEDIA_TYPE
    return None
