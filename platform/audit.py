"""The audit trail: append-only, written in the same transaction as the change it records.

On PostgreSQL the application role may only SELECT and INSERT this table (see the migration),
so not even a bug in the application can rewrite history.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, tenant_of


class EventEnum(StrEnum):
    """A concept's audit events: `NAME = "concept:thing:verb", "中文说明"`.

    The code is what is stored and filtered on; the label is what the audit page says.
    """

    label: str

    def __new__(cls, value: str, label: str = "") -> EventEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value
        return member


class AuditEvent(Base):
    """Not `TownshipOwned`: a login failure has no township. Its RLS policy is its own."""

    __tablename__ = "audit_events"
    # INSERT ... RETURNING would need the row to pass the *read* policy too, and a login
    # failure (no township) never does; SQLAlchemy then takes the id from the sequence first.
    __table_args__ = {"implicit_returning": False}

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    membership_id: Mapped[int | None] = mapped_column()
    role: Mapped[str] = mapped_column(String(32), default="")
    event: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(40), default="")
    entity_id: Mapped[str] = mapped_column(String(40), default="")
    outcome: Mapped[str] = mapped_column(String(12), default="ok")  # ok | denied | failed
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str] = mapped_column(String(40), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")


def record(
    session: Session,
    event: EventEnum,
    *,
    entity: Any = None,
    entity_type: str = "",
    entity_id: Any = "",
    changes: dict[str, Any] | None = None,
    outcome: str = "ok",
    township_id: int | None = None,
    user_id: int | None = None,
) -> AuditEvent:
    """Add one audit row to the session's transaction. The actor comes from the session.

    `event` is a member of a concept's `Event` enum: what is audited is listed in one place.
    """
    if not isinstance(event, EventEnum):
        raise TypeError(f"audit events are EventEnum members, not {event!r}")
    context = tenant_of(session)
    actor = context.extra.get("actor")
    if entity is not None:
        entity_type = entity_type or entity.__tablename__
        entity_id = entity_id or getattr(entity, "id", "")
    row = AuditEvent(
        township_id=township_id if township_id is not None else context.township_id,
        user_id=user_id if user_id is not None else context.user_id,
        membership_id=getattr(actor, "membership_id", None),
        role=str(getattr(actor, "role", "") or ""),
        event=event,
        entity_type=entity_type,
        entity_id=str(entity_id or ""),
        outcome=outcome,
        changes=_jsonable(changes or {}),
        request_id=context.extra.get("request_id", ""),
        ip=context.extra.get("ip", ""),
    )
    session.add(row)
    return row


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The changed fields as {"field": [old, new]}."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def events_in_township(session: Session, *, event_prefix: str = "", outcome: str = "",
                       user_id: int | None = None, limit: int = 200, offset: int = 0) -> list[AuditEvent]:
    township_id = tenant_of(session).township_id
    query = select(AuditEvent).where(AuditEvent.township_id == township_id)
    if event_prefix:
        query = query.where(AuditEvent.event.startswith(event_prefix))
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)
    if user_id:
        query = query.where(AuditEvent.user_id == user_id)
    # Newest first by when it happened (rows written together keep the order they were written in).
    query = query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))
