"""Chinese words for the codes people would otherwise see: fields, their values, records, events.

One map for the whole app, extended by every concept: the shell's own entries are below, and
each concept's `schemas.py` may declare `FIELDS` (field code → `Field` or a plain label) and
`ENTITIES` (table name → `Entity`). The error page and problem details name a field by its
label ("页码", not `page`); the audit page names events, records and changed fields with them.
A later concept's entry for the same code replaces an earlier one: keep codes' meanings stable.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.permissions import DUTY_LABELS, ROLE_LABELS


@dataclass(frozen=True)
class Field:
    label: str
    # Stored values and what they mean: role "class_teacher" → "班主任".
    values: Mapping[Any, str] = field(default_factory=dict)
    # The table (an `Entity`) whose ids this field holds: its names are looked up, not shown as ids.
    entity: str = ""


# An entity's names: {id (as stored in the audit trail, a string): name}, in one query for all ids.
Names = Callable[[Session, Collection[str]], dict[str, str]]


@dataclass(frozen=True)
class Entity:
    label: str  # what kind of record: 学校, 班级
    names: Names | None = None  # None: the id says enough (or there is nothing to look up)
    # Who may read the names (else only "学生 #12"): a name must not reach a role that cannot
    # read the record itself (the administrator may read the trail, not the children).
    permission: str | None = None


def numeric_ids(ids: Collection[str]) -> list[int]:
    """The ids of a `Names` call that can be row ids (the trail keeps every id as text)."""
    return sorted({int(i) for i in ids if str(i).isdigit()})


def names_from(model: Any, column: Any) -> Names:
    """Names of rows of `model` read through the caller's session (the scope applies)."""

    def names(session: Session, ids: Collection[str]) -> dict[str, str]:
        wanted = numeric_ids(ids)
        if not wanted:
            return {}
        rows = session.execute(select(model.id, column).where(model.id.in_(wanted)))
        return {str(row_id): name for row_id, name in rows}

    return names


def _job_names(_session: Session, keys: Collection[str]) -> dict[str, str]:
    from baoxue.platform.templating import job_label

    return {key: job_label(key) for key in keys}


PLATFORM_FIELDS: dict[str, Field | str] = {
    "q": "查询内容",
    "page": "页码",
    "job_id": "后台任务",
    "username": "用户名",
    "password": "密码",
    "current_password": "当前密码",
    "new_password": "新密码",
    "confirm_password": "确认新密码",
    "display_name": "姓名",
    "phone": "手机号",
    "next": "登录后前往的页面",
    "name": "名称",
    "code": "编码",
    "title": "职务",
    "role": Field("角色", values=ROLE_LABELS),
    "duty_code": Field("部门职能", values=DUTY_LABELS),
    "user_id": Field("人员", entity="users"),
    "membership_id": Field("身份", entity="memberships"),
    "is_active": Field("是否在用", values={True: "在用", False: "已停用"}),
    "event": "事件",
    "outcome": Field("结果", values={"ok": "成功", "denied": "被拒绝", "failed": "失败"}),
    "rows": "条数",
    "by": "操作方式",
    "file": "文件",
    "key": "编号",
    # The fields of one kind of record, as "<table>.<field>": they win over the plain code.
    "route.method": Field("方式", values={"GET": "打开", "HEAD": "打开", "POST": "提交", "PUT": "修改",
                                          "PATCH": "修改", "DELETE": "删除"}),
    "route.path": "地址",
    "route.status": Field("原因", values={401: "未登录", 403: "没有权限", 404: "不存在或无权查看"}),
    "memberships.from": Field("原身份", entity="memberships"),
    "memberships.to": Field("新身份", entity="memberships"),
}

PLATFORM_ENTITIES: dict[str, Entity] = {
    "route": Entity("页面或接口"),
    "job_runs": Entity("后台任务", names=_job_names),
    "import": Entity("批量导入"),
}


@cache
def fields() -> dict[str, Field]:
    from baoxue.platform.concepts import all_concepts

    merged: dict[str, Field | str] = dict(PLATFORM_FIELDS)
    for concept in all_concepts():
        merged.update(concept.fields)
    return {code: f if isinstance(f, Field) else Field(f) for code, f in merged.items()}


@cache
def entities() -> dict[str, Entity]:
    from baoxue.platform.concepts import all_concepts

    merged = dict(PLATFORM_ENTITIES)
    for concept in all_concepts():
        merged.update(concept.entities)
    return merged


def field_of(code: str, entity_type: str = "") -> Field | None:
    """The field `code` of a record of `entity_type` (its own entry first), or None if unknown."""
    known = fields()
    return known.get(f"{entity_type}.{code}") if entity_type and f"{entity_type}.{code}" in known else known.get(code)


def label(code: str, entity_type: str = "") -> str:
    """The Chinese name of a field code; an unknown code stays as it is (a test lists them all)."""
    found = field_of(code, entity_type)
    return found.label if found else code


@cache
def event_labels() -> dict[str, str]:
    """Every audit event's code → its Chinese label: the shell's and every concept's."""
    from baoxue.platform.concepts import all_concepts
    from baoxue.platform.events import Event as PlatformEvent

    enums = [PlatformEvent, *(c.events for c in all_concepts() if c.events)]
    return {str(member): getattr(member, "label", str(member)) for enum in enums for member in enum}
