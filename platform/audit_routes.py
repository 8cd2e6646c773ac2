"""The township's audit trail: a page with filters, and the same through the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request, get
from litestar.response import Template
from sqlalchemy.orm import Session

from baoxue.platform.audit import AuditEvent, events_in_township
from baoxue.platform.audit_view import OUTCOMES, describe, event_choices, people_in_township
from baoxue.platform.auth import actor_of, requires
from baoxue.platform.labels import event_labels
from baoxue.platform.permissions import Permission

PAGE_SIZE = 100


@dataclass
class AuditEventOut:
    id: int
    occurred_at: datetime
    user_id: int | None
    membership_id: int | None
    role: str
    event: str
    event_label: str  # the event in Chinese, as the page shows it
    entity_type: str
    entity_id: str
    outcome: str
    changes: dict[str, Any]
    request_id: str


def _filtered(db: Session, event: str, outcome: str, user_id: int | None, page: int) -> list[AuditEvent]:
    return events_in_township(db, event_prefix=event.strip(), outcome=outcome.strip(), user_id=user_id,
                              limit=PAGE_SIZE, offset=max(page - 1, 0) * PAGE_SIZE)


@get("/audit", opt=requires(Permission.AUDIT_READ), include_in_schema=False, sync_to_thread=True)
def audit_page(request: Request[Any, Any, Any], db: Session, event: str = "", outcome: str = "",
               user_id: int | None = None, page: int = 1) -> Template:
    events = _filtered(db, event, outcome, user_id, page)
    people = people_in_township(db)
    filters = {k: v for k, v in {"event": event, "outcome": outcome, "user_id": user_id}.items() if v}
    return Template("audit/list.html", context={
        "rows": describe(db, actor_of(request), events), "names": people, "event_choices": event_choices(),
        "outcomes": OUTCOMES, "event": event, "outcome": outcome, "user_id": user_id, "filters": filters,
        "page": page, "has_more": len(events) == PAGE_SIZE,
    })


@get("/api/audit", opt=requires(Permission.AUDIT_READ), summary="The township's audit trail", sync_to_thread=True)
def audit_api(db: Session, event: str = "", outcome: str = "", user_id: int | None = None,
              page: int = 1) -> list[AuditEventOut]:
    labels = event_labels()
    return [AuditEventOut(id=e.id, occurred_at=e.occurred_at, user_id=e.user_id, membership_id=e.membership_id,
                          role=e.role, event=e.event, event_label=labels.get(e.event, e.event),
                          entity_type=e.entity_type, entity_id=e.entity_id, outcome=e.outcome, changes=e.changes,
                          request_id=e.request_id)
            for e in _filtered(db, event, outcome, user_id, page)]


routes = [audit_page, audit_api]
