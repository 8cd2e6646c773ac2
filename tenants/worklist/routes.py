"""The worklist page, its count in the menu, and the API a phone app or another system reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import SIGNED_IN, actor_of
from baoxue.platform.clock import clock
from baoxue.tenants.worklist import service
from baoxue.tenants.worklist.models import WorkItem


@dataclass
class WorkItemOut:
    id: int
    kind: str
    title: str
    href: str
    due_on: date
    overdue: bool
    subject_type: str
    subject_id: int


def _out(item: WorkItem) -> WorkItemOut:
    return WorkItemOut(id=item.id, kind=item.kind, title=item.title, href=item.href, due_on=item.due_on,
                       overdue=item.due_on < clock.today(), subject_type=item.subject_type,
                       subject_id=item.subject_id)


@get("/api/worklist", opt=SIGNED_IN, summary="My open work items, soonest due first", sync_to_thread=True)
def worklist_api(request: Request[Any, Any, Any], db: Session) -> list[WorkItemOut]:
    found = service.items_for(db, actor_of(request))
    return [_out(i) for i in (*found.overdue, *found.today, *found.this_week, *found.later)]


@get("/worklist", opt=SIGNED_IN, include_in_schema=False, sync_to_thread=True)
def worklist_page(request: Request[Any, Any, Any], db: Session) -> Template:
    actor = actor_of(request)
    return Template("worklist/list.html", context={"worklist": service.items_for(db, actor),
                                                   "below": service.overdue_below(db, actor)})


@get("/worklist/count", opt=SIGNED_IN, include_in_schema=False, sync_to_thread=True)
def worklist_count(request: Request[Any, Any, Any], db: Session) -> Template:
    """The menu's badge: what is due by the end of this week (an htmx fragment)."""
    return Template("worklist/count.html", context={"count": service.count_for(db, actor_of(request))})


routes = [worklist_api, worklist_page, worklist_count]
