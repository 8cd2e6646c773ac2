"""What every page template can use: labels, masking, the navigation."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment

from baoxue.platform.clock import CHINA
from baoxue.platform.concepts import NavEntry, navigation
from baoxue.platform.permissions import DUTY_LABELS, Permission, ROLE_LABELS

def nav_for(actor: Any) -> list[tuple[str, str]]:
    """The menu: every concept's entries (and the shell's audit page) the actor may open."""
    if actor is None:
        return []
    entries = [*navigation(), NavEntry("操作日志", "/audit", Permission.AUDIT_READ, order=900)]
    entries.sort(key=lambda e: e.order)
    return [(e.label, e.href) for e in entries if e.permission is None or actor.can(e.permission)]


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
