"""A task, each assignee's copy of it, the copy's steps and evidence, and recurring templates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.db import Base, TownshipOwned, township_fk


class TaskTemplate(TownshipOwned, Base):
    __tablename__ = "task_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    instructions: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(String(40), default="note")  # comma-separated flows.Evidence
    count_label: Mapped[str] = mapped_column(String(40), default="")
    recurrence: Mapped[str] = mapped_column(String(20))  # flows.Recurrence
    day_of_month: Mapped[int] = mapped_column(SmallInteger)  # the day of the month the task is given
    deadline_days: Mapped[int] = mapped_column(SmallInteger)  # days from then to its deadline
    assignees: Mapped[str] = mapped_column(Text)  # comma-separated "school:3", "village:2", "member:9"
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_user_id: Mapped[int | None] = mapped_column(default=None)
    created_by_membership_id: Mapped[int | None] = mapped_column(default=None)  # who accepts its tasks
    created_by_name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column()


class Task(TownshipOwned, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("township_id", "template_id", "period"),  # a template's task, once per period
        township_fk("template_id", "task_templates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    instructions: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(String(40), default="note")
    count_label: Mapped[str] = mapped_column(String(40), default="")
    deadline: Mapped[date] = mapped_column(Date)
    assigned_by_user_id: Mapped[int | None] = mapped_column(default=None)
    assigned_by_membership_id: Mapped[int | None] = mapped_column(default=None)  # whose review list
    assigned_by_name: Mapped[str] = mapped_column(String(64), default="")
    template_id: Mapped[int | None] = mapped_column(default=None)
    period: Mapped[str | None] = mapped_column(String(10), default=None)  # "2027-03" for a template's task
    source_label: Mapped[str] = mapped_column(String(120), default="")  # 领导小组第3次会议决定
    source_href: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column()

    @property
    def evidence_kinds(self) -> tuple[str, ...]:
        return tuple(e for e in self.evidence.split(",") if e)


class TaskCopy(TownshipOwned, Base):
    """One assignee's copy of a task: its own state, evidence and history."""

    __tablename__ = "task_copies"
    __table_args__ = (
        UniqueConstraint("township_id", "task_id", "assignee"),
        township_fk("task_id", "tasks"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(index=True)
    assignee: Mapped[str] = mapped_column(String(30))  # "school:3", "member:9"
    unit_kind: Mapped[str] = mapped_column(String(20))  # the unit it sits in (a member's own unit)
    unit_id: Mapped[int | None] = mapped_column(default=None)
    membership_id: Mapped[int | None] = mapped_column(default=None)  # a named person's
    assignee_name: Mapped[str] = mapped_column(String(64))  # 板当中学, 王芳（板当中学班主任）
    state: Mapped[str] = mapped_column(String(20))
    progress: Mapped[str] = mapped_column(Text, default="")  # the latest progress reported
    note: Mapped[str] = mapped_column(Text, default="")  # the written account submitted
    count_value: Mapped[int | None] = mapped_column(default=None)
    sent_back_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_by_user_id: Mapped[int | None] = mapped_column(default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)


class TaskStep(TownshipOwned, Base):
    __tablename__ = "task_steps"
    __table_args__ = (
        UniqueConstraint("township_id", "copy_id", "number"),
        township_fk("copy_id", "task_copies"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(index=True)
    number: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(String(20))  # flows.ACTION_LABELS
    state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(default=None)
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    occurred_at: Mapped[datetime] = mapped_column()


class TaskEvidence(TownshipOwned, Base):
    """A file uploaded to a copy, or another record named as its evidence (a meeting's minutes)."""

    __tablename__ = "task_evidence"
    __table_args__ = (township_fk("copy_id", "task_copies"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(index=True)
    label: Mapped[str] = mapped_column(String(120))
    file_key: Mapped[str | None] = mapped_column(String(200), default=None)
    href: Mapped[str] = mapped_column(String(200), default="")  # another record's page
    added_by_name: Mapped[str] = mapped_column(String(64), default="")
    added_at: Mapped[datetime] = mapped_column()
