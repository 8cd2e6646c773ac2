"""Task test helpers: the demo's units as assignee keys, a tiny PDF, and audit recipes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from baoxue.platform.clock import clock
from tests.tenants.referrals.helpers import acting
from tests.tenants.status_changes.helpers import login_actor, school_ids

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def school_key(settings: Any, township_id: int, school: str = "mid") -> str:
    return f"school:{school_ids(settings, township_id)[school]}"


def village_key(settings: Any, username: str) -> str:
    return f"village:{login_actor(settings, username).membership.unit_id}"


def member_key(settings: Any, username: str) -> str:
    return f"member:{login_actor(settings, username).membership.id}"


def assign(session: Any, settings: Any, assignees: list[str], *, days: int = 5, evidence: tuple[str, ...] = ("note",),
           count_label: str = "", title: str = "测试任务", by: str = "bd_office") -> Any:
    from baoxue.tenants.tasks import service

    return service.do_assign_task(session, acting(session, settings, by), title=title, evidence=evidence,
                                  count_label=count_label, deadline=clock.today() + timedelta(days=days),
                                  assignees=assignees)


def copy_of(session: Any, task: Any, assignee: str) -> Any:
    from sqlalchemy import select

    from baoxue.tenants.tasks.models import TaskCopy

    return session.scalars(select(TaskCopy).where(TaskCopy.task_id == task.id, TaskCopy.assignee == assignee)).one()


def audit_recipes() -> dict[str, tuple[Any, Any]]:
    from baoxue.tenants.tasks import service
    from baoxue.tenants.tasks.events import Event

    def assigned(w: Any) -> Any:
        return assign(w.session, w.settings, [school_key(w.settings, w.township_id)])

    def _copy(w: Any) -> Any:
        task = assigned(w)
        acting(w.session, w.settings, "bd_office")
        return copy_of(w.session, task, school_key(w.settings, w.township_id))

    def stepped(w: Any) -> Any:
        copy = _copy(w)
        return service.do_task_step(w.session, acting(w.session, w.settings, "bd_mid_principal"), copy.id, "progress",
                                    "进展。")

    def filed(w: Any) -> Any:
        copy = _copy(w)
        return service.do_add_evidence_file(w.session, acting(w.session, w.settings, "bd_mid_principal"), copy.id,
                                            PDF, "材料.pdf", w.settings)

    def attached(w: Any) -> Any:
        copy = _copy(w)
        return service.do_attach_record(w.session, acting(w.session, w.settings, "bd_mid_principal"), copy.id,
                                        label="会议记录", href="/tasks")

    def downloaded(w: Any) -> Any:
        evidence = filed(w)
        return service.do_download_evidence(w.session, evidence.copy_id, evidence.id, w.settings)

    def template(w: Any) -> Any:
        return service.do_save_template(w.session, acting(w.session, w.settings, "bd_office"), {
            "title": "月报", "recurrence": "monthly", "day_of_month": "2", "deadline_days": "5", "evidence": ["note"],
            "assignees": [school_key(w.settings, w.township_id)], "active": "1"})

    return {
        "service.do_assign_task": (assigned, Event.ASSIGNED),
        "service.do_task_step": (stepped, Event.STEP),
        "service.do_add_evidence_file": (filed, Event.EVIDENCE_ADDED),
        "service.do_attach_record": (attached, Event.EVIDENCE_ADDED),
        "service.do_download_evidence": (downloaded, Event.EVIDENCE_DOWNLOADED),
        "service.do_save_template": (template, Event.TEMPLATE_SAVED),
    }
