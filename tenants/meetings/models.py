"""Meeting and publicity records, and the leading group meeting's agenda items and decisions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.db import Base, TownshipOwned, township_fk


class Meeting(TownshipOwned, Base):
    __tablename__ = "meetings"
    __table_args__ = (
        township_fk("previous_id", "meetings"),
        township_fk("task_copy_id", "task_copies"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # flows.KINDS
    unit_kind: Mapped[str] = mapped_column(String(20))  # the recording unit: school | village | department | township
    unit_id: Mapped[int | None] = mapped_column(default=None)
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(120), default="")
    attendees: Mapped[str] = mapped_column(Text, default="")
    agenda: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[str] = mapped_column(Text, default="")
    # Stored pictures (platform/photos.py): [{"key", "small_key", "width", "height"}].
    photos: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    task_copy_id: Mapped[int | None] = mapped_column(default=None)  # the task copy it was evidence for
    previous_id: Mapped[int | None] = mapped_column(default=None)  # a leading-group meeting's previous one
    recorded_by_user_id: Mapped[int | None] = mapped_column(default=None)
    recorded_by_name: Mapped[str] = mapped_column(String(64), default="")
    recorded_at: Mapped[datetime] = mapped_column()


class AgendaItem(TownshipOwned, Base):
    """One item of a leading-group meeting: what it was drawn from, and the decision taken on it."""

    __tablename__ = "meeting_items"
    __table_args__ = (
        UniqueConstraint("township_id", "meeting_id", "number"),
        township_fk("meeting_id", "meetings"),
        township_fk("task_id", "tasks"),
        township_fk("referral_id", "referrals"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(index=True)
    number: Mapped[int] = mapped_column()
    source_kind: Mapped[str] = mapped_column(String(20))  # flows.SOURCE_LABELS
    source_id: Mapped[int | None] = mapped_column(default=None)  # the case, ticket, unit or earlier item
    text: Mapped[str] = mapped_column(String(300))
    href: Mapped[str] = mapped_column(String(200), default="")
    decision: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by_name: Mapped[str] = mapped_column(String(64), default="")
    task_id: Mapped[int | None] = mapped_column(default=None)  # the task the decision assigned
    referral_id: Mapped[int | None] = mapped_column(default=None)  # the ticket the decision opened
