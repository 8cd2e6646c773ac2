"""What every page template can use: labels, masking, the navigation."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment

from baoxue.platform.clock import CHINA
from baoxue.platform.permissions import DUTY_LABELS, Permission, ROLE_LABELS

NAV = (
    # (label, href, permission needed)
    ("首页", "/", None),
    ("学校与班级", "/admin/schools", Permission.STRUCTURE_READ),
    ("村委会", "/admin/villages", Permission.STRUCTURE_READ),
    ("部门", "/admin/departments", Permission.STRUCTURE_READ),
    ("人员与角色", "/admin/people", Permission.PEOPLE_READ),
    ("学生", "/students", Permission.STUDENT_READ),
    ("批量导入", "/admin/import", Permission.STRUCTURE_WRITE),
    ("操作日志", "/audit", Permission.AUDIT_READ),
)


def nav_for(actor: Any) -> list[tuple[str, str]]:
    if actor is None:
        return []
    return [(label, href) for label, href, perm in NAV if perm is None or actor.can(perm)]


def mask_id_number(value: str | None) -> str:
    """Lists show 5201**********123X: enough to tell two children apart, not enough to misuse."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str:
    if not value or len(value) < 7:
        return value or ""
    return value[:3] + "****" + value[-4:]


def local_time(value: Any) -> str:
    if value is None:
        return ""
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


JOB_LABELS = {"figures:nightly": "每日统计", "figures:manual": "手动重算统计"}


def job_label(key: str) -> str:
    """'figures:nightly:2026-11-25' → '每日统计 2026-11-25'."""
    prefix, _, rest = key.rpartition(":")
    return f"{JOB_LABELS[prefix]} {rest}" if prefix in JOB_LABELS else key


def install_globals(env: Environment) -> None:
    env.globals.update(nav_for=nav_for, ROLE_LABELS=ROLE_LABELS, DUTY_LABELS=DUTY_LABELS)
    env.filters.update(mask_id=mask_id_number, mask_phone=mask_phone, local_time=local_time, job_label=job_label)
