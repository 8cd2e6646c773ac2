"""The audit trail in words: who did what to which record, and what changed from what to what.

The trail stores codes (`tenancy:class:updated`, `school_classes` 12, `{"grade": [7, 8]}`); the
page says "张三（系统管理员）修改班级 七年级（1）班：年级 七年级 → 八年级". Every name comes from
`baoxue.platform.labels`; the records a page mentions (its rows' records, people, and ids inside
the changes) are looked up with one query per kind of record, whatever the number of rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.audit import AuditEvent
from baoxue.platform.labels import Field, entities, event_labels, field_of, label
from baoxue.platform.permissions import ROLE_LABELS
from baoxue.platform.templating import as_moment, local_time

OUTCOMES = {"ok": "成功", "denied": "被拒绝", "failed": "失败"}
EMPTY = "（空）"


@dataclass(frozen=True)
class Change:
    label: str
    after: str
    before: str | None = None  # None: a value the record was given, not a change of one


@dataclass(frozen=True)
class AuditRow:
    when: str  # China's clock
    who: str
    role: str
    what: str
    outcome: str
    outcome_code: str
    record_kind: str
    record_name: str
    changes: list[Change]
    request_id: str


def _is_change(key: str, value: Any) -> bool:
    """`audit.diff` stores a change as [old, new]; a list of ids (`class_ids`) is a value."""
    return isinstance(value, list) and len(value) == 2 and not key.endswith("_ids")


def _ids_in(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values if isinstance(v, int | str) and not isinstance(v, bool) and str(v)]


def _wanted_names(events: list[AuditEvent]) -> dict[str, set[str]]:
    """Every record the page will name, by kind: the rows' records, their people, ids in changes."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.entity_id:
            wanted[e.entity_type].add(e.entity_id)
        if e.user_id:
            wanted["users"].add(str(e.user_id))
        for key, value in (e.changes or {}).items():
            found = field_of(key, e.entity_type)
            if found is not None and found.entity:
                wanted[found.entity].update(_ids_in(value))
    return wanted


def lookup_names(session: Session, actor: Any, events: list[AuditEvent]) -> dict[str, dict[str, str]]:
    """{kind: {id: name}}: one query per kind of record; kinds the actor may not read stay unnamed."""
    known = entities()
    names: dict[str, dict[str, str]] = {}
    for kind, ids in _wanted_names(events).items():
        entity = known.get(kind)
        if entity is None or entity.names is None or not ids:
            continue
        if entity.permission is not None and not actor.can(entity.permission):
            continue
        names[kind] = entity.names(session, ids)
    return names


def _named(kind: str, value: Any, names: dict[str, dict[str, str]]) -> str:
    entity = entities().get(kind)
    return names.get(kind, {}).get(str(value)) or f"{entity.label if entity else ''}#{value}"


def _show(found: Field | None, value: Any, names: dict[str, dict[str, str]]) -> str:
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, list):
        return "、".join(_show(found, v, names) for v in value)
    if found is not None and found.entity:
        return _named(found.entity, value, names)
    if isinstance(value, dict):
        return "；".join(f"{label(k)} {_show(field_of(k), v, names)}" for k, v in value.items())
    if found is not None and value in found.values:
        return found.values[value]
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str) and as_moment(value) is not None and "T" in value:
        return local_time(value)
    return str(value)


def _changes(e: AuditEvent, names: dict[str, dict[str, str]]) -> list[Change]:
    out = []
    for key, value in (e.changes or {}).items():
        found = field_of(key, e.entity_type)
        name = label(key, e.entity_type)
        if _is_change(key, value):
            out.append(Change(name, _show(found, value[1], names), _show(found, value[0], names)))
        else:
            out.append(Change(name, _show(found, value, names)))
    return out


def describe(session: Session, actor: Any, events: list[AuditEvent]) -> list[AuditRow]:
    names = lookup_names(session, actor, events)
    events_by_code = event_labels()
    known = entities()
    rows = []
    for e in events:
        entity = known.get(e.entity_type)
        rows.append(AuditRow(
            when=local_time(e.occurred_at),
            who=names.get("users", {}).get(str(e.user_id), "") if e.user_id else "",
            role=ROLE_LABELS.get(e.role, "") if e.role else "",  # type: ignore[call-overload]
            what=events_by_code.get(e.event, "其他操作"),
            outcome=OUTCOMES.get(e.outcome, e.outcome), outcome_code=e.outcome,
            record_kind=entity.label if entity else ("记录" if e.entity_type else ""),
            record_name=(names.get(e.entity_type, {}).get(e.entity_id) or e.entity_id) if e.entity_id else "",
            changes=_changes(e, names),
            request_id=e.request_id,
        ))
    return rows


def event_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The audit filter's options, grouped as the concepts are: [(group, [(code, label), ...])]."""
    from baoxue.platform.concepts import all_concepts
    from baoxue.platform.events import Event as PlatformEvent

    groups = [("登录与访问", list(PlatformEvent))]
    groups += [(c.label, list(c.events)) for c in all_concepts() if c.events]
    return [(group, [(str(m), getattr(m, "label", str(m))) for m in members]) for group, members in groups]


def people_in_township(session: Session) -> dict[int, str]:
    """{user id: name} of the township's people (members, active or not), for the trail's filter."""
    from baoxue.tenants.tenancy.models import Membership, User

    return dict(session.execute(
        select(User.id, User.display_name).join(Membership, Membership.user_id == User.id)
        .distinct().order_by(User.display_name)).all())
