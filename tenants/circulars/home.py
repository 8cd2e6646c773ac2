"""The first screen's reminders: a circular that named the reader's unit; for the party-government
office, the units behind that it supervises."""

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
    return _to_supervise(session, actor) + [Todo(f"乡镇通报第{n.circular.serial}号（{n.circular.number}）点名了本单位：{n.unit.reason or n.circular.title}，请整改。",
                 f"/circulars/{n.circular.id}")
            for n in naming_unit(session, m.unit_kind.value, m.unit_id, since=recent_since())]


def _to_supervise(session: Session, actor: Any) -> list[Todo]:
    """The party-government office supervises the units and circulates those that fail: how many
    are behind today (one grouped count of the township's overdue items; numbers, no rows)."""
    from baoxue.platform.scoping import township_facts
    from baoxue.tenants.circulars.service import may_issue
    from baoxue.tenants.worklist.service import overdue_by_unit_and_kind

    if not may_issue(actor):
        return []
    with township_facts(session):
        overdue = overdue_by_unit_and_kind(session)
    units = sum(1 for kinds in overdue.values() if kinds)
    if not units:
        return []
    items = sum(sum(kinds.values()) for kinds in overdue.values())
    return [Todo(f"全乡镇有 {units} 个单位存在逾期未办事项（共 {items} 项）：请督促整改，必要时起草通报。", "/circulars")]
