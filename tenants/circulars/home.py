"""The first screen's reminder of a circular that named the reader's unit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from baoxue.platform.concepts import Todo
from baoxue.platform.permissions import CLASS_BOUND_ROLES, Permission, UnitKind


def todos(session: Session, actor: Any) -> list[Todo]:
    """Recent circulars naming the reader's school, village or department (one query). A teacher
    of a named school is not reminded: the school's leaders answer for its rectification."""
    from baoxue.tenants.circulars.service import naming_unit, recent_since

    m = actor.membership
    if (m is None or m.unit_kind == UnitKind.TOWNSHIP or m.role in CLASS_BOUND_ROLES
            or not actor.can(Permission.CIRCULAR_READ)):
        return []
    return [Todo(f"乡镇通报第{n.circular.serial}号（{n.circular.number}）点名了本单位：{n.unit.reason or n.circular.title}，请整改。",
                 f"/circulars/{n.circular.id}")
            for n in naming_unit(session, m.unit_kind.value, m.unit_id, since=recent_since())]
