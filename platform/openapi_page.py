"""A browsable API page rendered on the server: the usual OpenAPI viewers load from a CDN."""

from __future__ import annotations

import html
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin


class SchemaPage(OpenAPIRenderPlugin):
    def __init__(self) -> None:
        super().__init__(path="/")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        rows = []
        for path, operations in sorted(openapi_schema.get("paths", {}).items()):
            for method, op in operations.items():
                if not isinstance(op, dict):
                    continue
                rows.append(
                    f"<tr><td><code>{html.escape(method.upper())}</code></td><td><code>{html.escape(path)}"
                    f"</code></td><td>{html.escape(op.get('summary') or op.get('description') or '')}</td></tr>"
                )
        title = html.escape(openapi_schema.get("info", {}).get("title", "API"))
        body = (
            f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{title}</title>"
            f"<link rel='stylesheet' href='/static/app.css'></head><body><main class='content'>"
            f"<h1>{title}</h1><p>机器可读的接口说明：<a href='/schema/openapi.json'>/schema/openapi.json</a>。"
            f"错误以 RFC 9457 problem details（application/problem+json）返回。</p>"
            f"<table class='table'><thead><tr><th>方法</th><th>路径</th><th>说明</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></main></body></html>"
        )
        return body.encode()
