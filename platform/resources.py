"""Generic routes for a simple resource: a JSON API and an admin page with its form.

Several things a township keeps (villages, schools, classes, departments) are served alike:
list, read one, create, change — as JSON under `/api/<plural>` and as a page with a form under
`/admin/<plural>`. Rather than copy eight handlers per resource, a concept describes the
resource once (`Resource`: its access helper, its service actions, its schemas, how its page
renders) and `routes_for` makes the handlers, as NetBox's generic object views do. What is
particular to a resource (a filter, a fragment) stays an explicit handler beside them.

Every generated handler declares its permission and, for writes, its isolation probe, like
any other route; the API bodies are the resource's schemas, so the OpenAPI document is exact.
A form answered with its errors is a 400 page: the request rolls back by itself
(`baoxue.platform.transactions`); a form that saved redirects (303, post-redirect-get).
"""

from __future__ import annotations

import base64
import binascii
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import Request, Response, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import requires
from baoxue.platform.errors import InvalidInput
from baoxue.platform.permissions import Permission

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


@dataclass(frozen=True)
class FormState:
    """What a resource's page shows around its form: the row being edited, the values, the errors."""

    editing: Any = None
    values: Mapping[str, Any] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    status: int = 200


@dataclass(frozen=True)
class Resource:
    key: str  # "village": its id parameter is `village_id`, its probes' placeholder `$village`
    plural: str  # "villages": /api/villages, /admin/villages
    label: str  # "村委会", for the API's summaries
    read: Permission
    write: Permission
    access: Callable[..., Any]  # (session, id, *, for_write=False) -> row, or the 404
    create: Callable[..., Any]  # the do_* action: (session, **values) -> row
    update: Callable[..., Any]  # the do_* action: (session, row, **changes) -> row
    schema_in: type
    schema_patch: type  # a msgspec Struct whose fields default to UNSET
    schema_out: type  # with `of(row)`
    render: Callable[[Request[Any, Any, Any], Session, FormState], Template]
    form_fields: tuple[str, ...]  # what the create form sends
    probe_create: dict[str, Any]
    probe_update: dict[str, Any]
    items: Callable[[Session], list[Any]] | None = None  # None: the concept lists it itself
    update_fields: tuple[str, ...] = ()  # what the edit form may change; default: form_fields
    int_fields: frozenset[str] = frozenset()
    after_saving: str = ""  # where a saved form goes; default: its own page
    list_page: bool = True  # False: the concept renders the list page itself (a filter, a fragment)

    @property
    def id_param(self) -> str:
        return f"{self.key}_id"

    @property
    def api_path(self) -> str:
        return f"/api/{self.plural}"

    @property
    def page_path(self) -> str:
        return f"/admin/{self.plural}"

    def edit_values(self, row: Any) -> dict[str, Any]:
        return {f: getattr(row, f) for f in (*self.form_fields, *self.update_fields)}


def changes_of(body: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body actually carried."""
    return {f: getattr(body, f) for f in body.__struct_fields__ if getattr(body, f) is not msgspec.UNSET}


def form_int(value: Any) -> int | None:
    """A form's select or number: blank is None; junk is -1, which no row has (so: not found)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return -1


def form_values(data: Mapping[str, Any], fields: tuple[str, ...], int_fields: frozenset[str], *,
                only_sent: bool = False) -> dict[str, Any]:
    """The form's fields as the action takes them; an edit changes only the fields the form sent."""
    values = {}
    for name in fields:
        if only_sent and name not in data:
            continue
        raw = data.get(name, "")
        values[name] = form_int(raw) if name in int_fields else ("" if raw is None else str(raw))
    return values


def base64_bytes(content: str, field: str) -> bytes:
    """A file sent in a JSON body (base64), or the field's refusal."""
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput({field: "文件内容不是有效的 Base64 编码。"}) from None


def attachment(data: bytes, filename: str, media_type: str) -> Response[bytes]:
    """A download, its Chinese name kept (RFC 6266's filename*), an ASCII stand-in for old clients."""
    suffix = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    disposition = f"attachment; filename=\"file.{suffix}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content=data, media_type=media_type, headers={"Content-Disposition": disposition})


def saved(path: str) -> Redirect:
    # 303: the browser follows with GET (post-redirect-get); a redirect commits like a 2xx.
    return Redirect(path=f"{path}?saved=1", status_code=303)


def submit(action: Callable[[], Any], *, done: str, refused: Callable[[dict[str, str]], Template]) -> Response[Any]:
    """Run a form's action: saved → redirect to `done`; refused → the page again with the errors (400)."""
    try:
        action()
    except InvalidInput as problem:
        return refused(problem.errors)
    return saved(done)


def _handler(fn: Callable[..., Any], name: str, params: dict[str, Any], returns: Any) -> Callable[..., Any]:
    """Give a generated handler the signature Litestar injects by: its parameters' names and types."""
    fn.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY, annotation=a) for p, a in params.items()],
        return_annotation=returns)
    fn.__annotations__ = {**params, "return": returns}
    fn.__name__ = fn.__qualname__ = name
    return fn


def routes_for(r: Resource) -> list[Any]:
    return [*_api_routes(r), *_page_routes(r)]


def _api_routes(r: Resource) -> list[Any]:
    read, write = requires(r.read), requires(r.write)
    item = f"{r.api_path}/{{{r.id_param}:int}}"
    Out = r.schema_out

    def list_items(*, db: Session) -> list[Any]:
        assert r.items is not None
        return [Out.of(row) for row in r.items(db)]

    def create(*, db: Session, data: Any) -> Any:
        return Out.of(r.create(db, **msgspec.structs.asdict(data) if isinstance(data, msgspec.Struct)
                               else {f: getattr(data, f) for f in data.__dataclass_fields__}))

    def read_one(*, db: Session, **ids: int) -> Any:
        return Out.of(r.access(db, ids[r.id_param]))

    def update(*, db: Session, data: Any, **ids: int) -> Any:
        return Out.of(r.update(db, r.access(db, ids[r.id_param], for_write=True), **changes_of(data)))

    handlers = [
        post(r.api_path, opt={**write, "probe": r.probe_create}, summary=f"新增{r.label}", sync_to_thread=True)(
            _handler(create, f"{r.plural}_create", {"db": Session, "data": r.schema_in}, Out)),
        get(item, opt=read, summary=f"一个{r.label}", sync_to_thread=True)(
            _handler(read_one, f"{r.plural}_read", {"db": Session, r.id_param: int}, Out)),
        patch(item, opt={**write, "probe": r.probe_update}, summary=f"修改{r.label}", sync_to_thread=True)(
            _handler(update, f"{r.plural}_update", {"db": Session, r.id_param: int, "data": r.schema_patch}, Out)),
    ]
    if r.items is not None:
        handlers.append(get(r.api_path, opt=read, summary=f"{r.label}列表", sync_to_thread=True)(
            _handler(list_items, f"{r.plural}_list", {"db": Session}, list[Out])))  # type: ignore[valid-type]
    return handlers


def _page_routes(r: Resource) -> list[Any]:
    read, write = requires(r.read), requires(r.write)
    item = f"{r.page_path}/{{{r.id_param}:int}}"
    done = r.after_saving or r.page_path
    editable = r.update_fields or r.form_fields
    Req = Request[Any, Any, Any]

    def page(*, request: Req, db: Session) -> Template:
        return r.render(request, db, FormState())

    def create_page(*, request: Req, db: Session, data: dict[str, Any]) -> Response[Any]:
        values = form_values(data, r.form_fields, r.int_fields)
        return submit(lambda: r.create(db, **values), done=done,
                      refused=lambda errors: r.render(request, db, FormState(values=values, errors=errors, status=400)))

    def edit_page(*, request: Req, db: Session, **ids: int) -> Template:
        row = r.access(db, ids[r.id_param], for_write=True)
        return r.render(request, db, FormState(editing=row, values=r.edit_values(row)))

    def update_page(*, request: Req, db: Session, data: dict[str, Any], **ids: int) -> Response[Any]:
        row = r.access(db, ids[r.id_param], for_write=True)
        values = form_values(data, editable, r.int_fields, only_sent=True)
        shown = {**r.edit_values(row), **values}
        return submit(lambda: r.update(db, row, **values), done=done,
                      refused=lambda errors: r.render(request, db, FormState(editing=row, values=shown, errors=errors,
                                                                              status=400)))

    handlers = [
        post(r.page_path, opt={**write, "probe": r.probe_create}, include_in_schema=False, sync_to_thread=True)(
            _handler(create_page, f"{r.plural}_create_page", {"request": Req, "db": Session, "data": Form},
                     Response[Any])),
        get(item, opt=write, include_in_schema=False, sync_to_thread=True)(
            _handler(edit_page, f"{r.plural}_edit_page", {"request": Req, "db": Session, r.id_param: int}, Template)),
        post(item, opt={**write, "probe": r.probe_update}, include_in_schema=False, sync_to_thread=True)(
            _handler(update_page, f"{r.plural}_update_page",
                     {"request": Req, "db": Session, r.id_param: int, "data": Form}, Response[Any])),
    ]
    if r.list_page:
        handlers.append(get(r.page_path, opt=read, include_in_schema=False, sync_to_thread=True)(
            _handler(page, f"{r.plural}_page", {"request": Req, "db": Session}, Template)))
    return handlers
