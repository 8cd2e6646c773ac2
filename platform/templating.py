"""What every page template can use: labels, masking, the navigation."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jinja2 import Environment
from litestar.response import Template

from baoxue.platform.clock import CHINA, clock
from baoxue.platform.concepts import NavEntry, all_schedules, navigation
from baoxue.platform.permissions import DUTY_LABELS, Permission, ROLE_LABELS

def nav_for(actor: Any) -> list[NavEntry]:
    """The menu: every concept's entries (and the shell's audit page) the actor may open."""
    if actor is None:
        return []
    entries = [*navigation(), NavEntry("操作日志", "/audit", Permission.AUDIT_READ, order=900),
               NavEntry("后台任务", "/admin/jobs", Permission.JOBS_READ, order=910)]
    entries.sort(key=lambda e: e.order)
    return [e for e in entries if e.permission is None or actor.can(e.permission)]


def page(request: Any, name: str, context: dict[str, Any], *, status: int = 200,
         fragment: str = "") -> Template:
    """A page, or one named fragment of it when htmx asks (`fragment` picks which).

    One template serves both: it renders only the block named by `fragment` when it is set.
    The answer differs by the HX-Request header, so caches are told so.
    """
    wanted = fragment if getattr(request, "htmx", None) else ""
    response = Template(name, context={**context, "fragment": wanted}, status_code=status)
    response.headers["Vary"] = "HX-Request"
    return response


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
    """A moment as China's wall clock shows it (stored times are UTC; a naive one is UTC too)."""
    moment = as_moment(value)
    return "" if moment is None else moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def as_moment(value: Any) -> datetime | None:
    """An aware datetime from a datetime or an ISO string (the audit trail keeps them as text)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def is_future(value: Any) -> bool:
    """`{% if user.locked_until is future %}`: by the one clock, so tests can hold time still."""
    moment = as_moment(value)
    return moment is not None and moment > clock.now()


def upload_limit_mb(request: Any) -> int | None:
    """The body limit of the route a request went to, in whole MB (rounded down), if it has one."""
    handler = request.scope.get("route_handler")
    limit = handler.resolve_request_max_body_size() if handler is not None else None
    return max(1, limit // (1024 * 1024)) if limit else None


def back_path(request: Any) -> str:
    """Where the person came from, on this site: the page with the form that failed, or ""."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.path.startswith("/") and referer.netloc == request.url.netloc:
        return urlunsplit(("", "", referer.path, referer.query, ""))
    return request.url.path if request.method != "GET" else ""


MANUAL_JOB_LABELS = {"figures:manual": "手动重算统计", "census:asked": "手动比对"}


@cache
def _job_labels() -> tuple[tuple[str, str], ...]:
    """(key prefix, label): every schedule's that has a label, and the jobs asked for by hand;
    the longest prefix first."""
    labels = {s.name: s.label for s in all_schedules() if s.label} | MANUAL_JOB_LABELS
    return tuple(sorted(labels.items(), key=lambda item: -len(item[0])))


def job_label(key: str) -> str:
    """'figures:nightly:2026-11-25' → '每日统计 2026-11-25'."""
    for prefix, label in _job_labels():
        if key.startswith(prefix + ":"):
            return f"{label} {key[len(prefix) + 1:]}"
    return key


def install_globals(env: Environment) -> None:
    env.globals.update(nav_for=nav_for, ROLE_LABELS=ROLE_LABELS, DUTY_LABELS=DUTY_LABELS,
                       upload_limit_mb=upload_limit_mb, back_path=back_path)
    env.filters.update(mask_id=mask_id_number, mask_phone=mask_phone, local_time=local_time, job_label=job_label)
    env.tests.update(future=is_future)
