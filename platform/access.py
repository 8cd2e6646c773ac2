"""Fetch-and-authorize in one step: what every route uses to reach one row.

`access(session, Student, id, for_write=True)` returns the row if the session's scope may read
it (or write it), else raises the one 404: "missing", "another township's" and "not yours"
look the same from outside. Each concept names its own `access_<thing>` in its `policy.py`
on top of this, adding what is particular to the thing (an audited unmasking, a duty).
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.db import tenant_of
from baoxue.platform.errors import not_found
from baoxue.platform.scoping import for_write as _for_write

M = TypeVar("M")


def get_in_township(session: Session, model: type[M], object_id: int, *, for_write: bool = False) -> M | None:
    """The one raw lookup by id: names the township; the scope listener narrows it further."""
    township_id = tenant_of(session).township_id
    query = select(model).where(model.id == object_id, model.township_id == township_id)  # type: ignore[attr-defined]
    if for_write:
        query = _for_write(query)
    return session.scalars(query).first()


def access(session: Session, model: type[M], object_id: Any, *, for_write: bool = False) -> M:
    """The row in scope, or the one 404."""
    if not isinstance(object_id, int) or isinstance(object_id, bool):
        raise not_found()
    found = get_in_township(session, model, object_id, for_write=for_write)
    if found is None:
        raise not_found()
    return found
