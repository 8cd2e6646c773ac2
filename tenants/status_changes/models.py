"""A status change is a request that moves through its approvals (DOMAIN.md §7, §13).

`StatusChange` is the request (what, for whom, from where to where, its state); each approval
or record on the way is a `StatusStep` (who, when, the opinion, approved or refused). Which
steps a kind needs, and who takes each, is `baoxue.tenants.status_changes.flows`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, TownshipOwned, township_fk

OPEN_SQL = "state IN ('pending', 'in_transfer')"


class StatusChange(TownshipOwned, Base):
    __tablename__ = "status_changes"
    __table_args__ = (
        # One open change per child (the migration's partial unique index).
        Index("uq_status_changes_open", "township_id", "student_id", unique=True,
              postgresql_where=text(OPEN_SQL), sqlite_where=text(OPEN_SQL)),
        township_fk("student_id", "students"),
        township_fk("school_id", "schools"),
        township_fk("to_school_id", "schools"),
        township_fk("central_school_id", "schools"),
        township_fk("class_id", "school_classes"),
        township_fk("to_class_id", "school_classes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # flows.Kind
    student_id: Mapped[int] = mapped_column(index=True)
    # Copied from the record when the request is made: the request is a document of that day,
    # and the central school files it without reading the child's record.
    student_name: Mapped[str] = mapped_column(String(40))
    school_id: Mapped[int] = mapped_column(index=True)  # the school whose roll it changes
    class_id: Mapped[int | None] = mapped_column(default=None)  # the child's class when requested
    to_school_id: Mapped[int | None] = mapped_column(default=None)  # a transfer inside the township
    to_class_id: Mapped[int | None] = mapped_column(default=None)  # repetition, arrival: the new class
    central_school_id: Mapped[int | None] = mapped_column(default=None)  # files it (中心校)
    destination: Mapped[str] = mapped_column(String(200), default="")  # outside the township: where
    reason: Mapped[str] = mapped_column(Text, default="")
    document_key: Mapped[str] = mapped_column(String(120), default="")  # certificate (platform/files.py)
    document_name: Mapped[str] = mapped_column(String(120), default="")
    state: Mapped[str] = mapped_column(String(20), default="pending")  # flows.State
    next_step: Mapped[str] = mapped_column(String(30), default="")  # the step awaited, "" when done
    effective_on: Mapped[date | None] = mapped_column(Date, default=None)
    requested_by: Mapped[int] = mapped_column()  # users.id
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class StatusStep(TownshipOwned, Base):
    __tablename__ = "status_steps"
    __table_args__ = (
        township_fk("change_id", "status_changes"),
        UniqueConstraint("township_id", "change_id", "step"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(index=True)
    step: Mapped[str] = mapped_column(String(30))  # flows.Step
    approved: Mapped[bool] = mapped_column()
    opinion: Mapped[str] = mapped_column(Text, default="")  # required when refused
    user_id: Mapped[int] = mapped_column()
    actor_name: Mapped[str] = mapped_column(String(64))  # as shown then: 王校长（校长）
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
