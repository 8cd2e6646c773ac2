"""An empty optional query parameter means "not given", on every route.

A form's "全部" option, an untouched search box and a pager that copies the current filters all
send `school_id=` or `q=`; Litestar would try to read `""` as an int and answer 400. This
middleware drops such parameters from the query string before anything parses it, so every
handler sees them as absent and takes its default. A value of only spaces counts as empty.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from litestar.types import ASGIApp, Receive, Scope, Send


def without_empty_values(query_string: bytes) -> bytes:
    """`b"q=&school_id=&page=2"` → `b"page=2"`; the kept parts are left byte for byte."""
    if not query_string:
        return query_string
    kept = []
    for part in query_string.split(b"&"):
        _name, has_value, value = part.partition(b"=")
        if has_value and unquote_plus(value.decode("latin-1")).strip():
            kept.append(part)
    return b"&".join(kept)


class DropEmptyQueryParameters:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            scope["query_string"] = without_empty_values(scope["query_string"])
        await self.app(scope, receive, send)
