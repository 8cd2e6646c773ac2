"""Cases, their append-only timeline, home visits, photos and the enforcement chain's notices.

A `Case` is one child's file while they are at risk of leaving (DOMAIN.md §6): its stage, who
answers for it on both lines (§3), and, once closed, how and on what evidence. Everything done
on it is a `CaseEntry` in order, never edited (a mistake is corrected by a later entry that
says so). A `HomeVisit` is a visit or call to a family, with or without a case (class teachers
visit every family; the register counts both); its visitors are `VisitVisitor` rows, so the
register counts each person's visits. `Photo` is an uploaded picture (stripped, downscaled)
attached to a visit or a case. A `Notice` is a document of the enforcement chain, numbered in
the township's series, with its service receipt (送达回证) once served.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, TownshipOwned, township_fk

OPEN_CASE_SQL = "stage <> 'closed'"


class Case(TownshipOwned, Base):
    __tablename__ = "cases"
    __table_args__ = (
        # One open case per child (the migration's partial unique index).
        Index("uq_cases_open", "township_id", "student_id", unique=True,
              postgresql_where=text(OPEN_CASE_SQL), sqlite_where=text(OPEN_CASE_SQL)),
        township_fk("student_id", "students"),
        township_fk("school_id", "schools"),
        township_fk("class_id", "school_classes"),
        township_fk("village_id", "villages"),
        township_fk("previous_case_id", "cases"),
        township_fk("return_class_id", "school_classes"),
        township_fk("class_teacher_membership_id", "memberships"),
        township_fk("principal_membership_id", "memberships"),
        township_fk("village_cadre_membership_id", "memberships"),
        township_fk("township_cadre_membership_id", "memberships"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(index=True)
    student_name: Mapped[str] = mapped_column(String(40))  # as on the day it opened: the file's title
    school_id: Mapped[int] = mapped_column(index=True)
    class_id: Mapped[int | None] = mapped_column(default=None)
    village_id: Mapped[int | None] = mapped_column(default=None)  # where the child lives: the village's line
    stage: Mapped[str] = mapped_column(String(20), default="identified")  # flows.Stage
    opened_via: Mapped[str] = mapped_column(String(20), default="manual")  # manual | attendance | census
    opened_by: Mapped[int] = mapped_column()  # users.id
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_absent_on: Mapped[date | None] = mapped_column(Date, default=None)
    reason_code: Mapped[str] = mapped_column(String(30), default="")  # flows.REASONS
    reason_text: Mapped[str] = mapped_column(Text, default="")
    whereabouts: Mapped[str] = mapped_column(Text, default="")  # working where, with whom, in which city
    previous_case_id: Mapped[int | None] = mapped_column(default=None)  # a relapse: the case before
    # Who answers for the case: the education line and the government line (包村干部).
    class_teacher_membership_id: Mapped[int | None] = mapped_column(default=None)
    principal_membership_id: Mapped[int | None] = mapped_column(default=None)
    village_cadre_membership_id: Mapped[int | None] = mapped_column(default=None)
    township_cadre_membership_id: Mapped[int | None] = mapped_column(default=None)
    # Closing: how, on what evidence (flows.CLOSINGS says what each needs).
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closing: Mapped[str] = mapped_column(String(20), default="")
    closing_evidence: Mapped[str] = mapped_column(Text, default="")
    closing_document_key: Mapped[str] = mapped_column(String(120), default="")
    return_date: Mapped[date | None] = mapped_column(Date, default=None)
    return_class_id: Mapped[int | None] = mapped_column(default=None)
    priority_household: Mapped[str] = mapped_column(String(20), default="")  # 脱贫户 / 低保户: aid first (census)
    watch_until: Mapped[date | None] = mapped_column(Date, default=None)  # 辍返生: follow-up visits until


class CaseEntry(TownshipOwned, Base):
    """One line of a case's timeline: never updated, never deleted."""

    __tablename__ = "case_entries"
    __table_args__ = (
        township_fk("case_id", "cases"),
        township_fk("corrects_entry_id", "case_entries"),
        township_fk("visit_id", "home_visits"),
        township_fk("notice_id", "notices"),
        UniqueConstraint("township_id", "case_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(index=True)
    number: Mapped[int] = mapped_column()  # 1, 2, 3 ... in the case
    kind: Mapped[str] = mapped_column(String(30))  # flows.EntryKind
    occurred_at: Mapped[datetime] = mapped_column()  # when it happened (a visit's date and time)
    summary: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    visit_id: Mapped[int | None] = mapped_column(default=None)
    notice_id: Mapped[int | None] = mapped_column(default=None)
    corrects_entry_id: Mapped[int | None] = mapped_column(default=None)
    recorded_by: Mapped[int] = mapped_column()  # users.id
    actor_name: Mapped[str] = mapped_column(String(64))  # 王老师（班主任）
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class HomeVisit(TownshipOwned, Base):
    __tablename__ = "home_visits"
    __table_args__ = (
        township_fk("student_id", "students"),
        township_fk("school_id", "schools"),
        township_fk("case_id", "cases"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(index=True)
    school_id: Mapped[int] = mapped_column(index=True)
    case_id: Mapped[int | None] = mapped_column(default=None, index=True)
    attempt: Mapped[int | None] = mapped_column(SmallInteger, default=None)  # 第N次劝返, on a case
    visited_at: Mapped[datetime] = mapped_column()
    mode: Mapped[str] = mapped_column(String(20))  # flows.VISIT_MODES: 上门 / 电话 / 到校面谈 / 线上
    met: Mapped[str] = mapped_column(String(200), default="")  # people met and their relation
    found: Mapped[str] = mapped_column(Text, default="")
    reason_code: Mapped[str] = mapped_column(String(30), default="")
    reason_text: Mapped[str] = mapped_column(Text, default="")
    agreed: Mapped[str] = mapped_column(Text, default="")
    next_visit_on: Mapped[date | None] = mapped_column(Date, default=None)
    signature_key: Mapped[str] = mapped_column(String(120), default="")  # the guardian's, drawn on screen
    recorded_by: Mapped[int] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class VisitVisitor(TownshipOwned, Base):
    __tablename__ = "visit_visitors"
    __table_args__ = (
        township_fk("visit_id", "home_visits"),
        township_fk("membership_id", "memberships"),
        UniqueConstraint("township_id", "visit_id", "membership_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(index=True)
    membership_id: Mapped[int] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(64))  # as shown then: 王老师（班主任）


class Photo(TownshipOwned, Base):
    """A picture, EXIF stripped, with a downscaled copy; served only through its record's check."""

    __tablename__ = "photos"
    __table_args__ = (
        township_fk("visit_id", "home_visits"),
        township_fk("case_id", "cases"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(default=None, index=True)
    visit_id: Mapped[int | None] = mapped_column(default=None, index=True)
    key: Mapped[str] = mapped_column(String(120))  # platform/files.py
    small_key: Mapped[str] = mapped_column(String(120))
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    caption: Mapped[str] = mapped_column(String(200), default="")
    uploaded_by: Mapped[int] = mapped_column()
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notice(TownshipOwned, Base):
    """A document of the enforcement chain, and its service receipt (送达回证) once served."""

    __tablename__ = "notices"
    __table_args__ = (
        township_fk("case_id", "cases"),
        UniqueConstraint("township_id", "series", "year", "serial"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(30))  # flows.NoticeKind
    series: Mapped[str] = mapped_column(String(30))  # 义劝通字
    year: Mapped[int] = mapped_column(SmallInteger)
    serial: Mapped[int] = mapped_column()  # 第7号
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by: Mapped[int] = mapped_column()
    deadline_days: Mapped[int] = mapped_column(SmallInteger)  # counted from the date of service
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the PDF says, as drafted
    pdf_key: Mapped[str] = mapped_column(String(120), default="")
    served_at: Mapped[datetime | None] = mapped_column(default=None)
    served_to: Mapped[str] = mapped_column(String(64), default="")  # person served, and relation
    served_place: Mapped[str] = mapped_column(String(200), default="")
    served_manner: Mapped[str] = mapped_column(String(20), default="")  # 直接送达 / 留置送达 / ...
    server_names: Mapped[str] = mapped_column(String(200), default="")  # who served it (signatures)
    receipt_key: Mapped[str] = mapped_column(String(120), default="")  # the signed receipt, photographed
    deadline_on: Mapped[date | None] = mapped_column(Date, default=None)  # served date + deadline_days
