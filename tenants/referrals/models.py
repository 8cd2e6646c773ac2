"""Referral tickets, their steps, and the township's routing table."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.db import Base, TownshipOwned, township_fk


class Referral(TownshipOwned, Base):
    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("township_id", "number"),
        UniqueConstraint("township_id", "key"),
        township_fk("department_id", "departments"),
        township_fk("case_id", "cases"),
        township_fk("student_id", "students"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column()  # 转介单第 N 号, per township
    kind: Mapped[str] = mapped_column(String(30))  # flows.DEFAULT_ROUTES
    department_id: Mapped[int] = mapped_column()
    case_id: Mapped[int | None] = mapped_column(default=None)
    student_id: Mapped[int | None] = mapped_column(default=None)
    from_unit_kind: Mapped[str] = mapped_column(String(20))  # school | village | township
    from_unit_id: Mapped[int | None] = mapped_column(default=None)
    referrer_user_id: Mapped[int | None] = mapped_column(default=None)
    referrer_membership_id: Mapped[int | None] = mapped_column(default=None)  # whose worklist the confirmation is on
    referrer_name: Mapped[str] = mapped_column(String(64), default="")  # 王芳（板当中学教导处）
    subject: Mapped[str] = mapped_column(String(120))  # what the ticket is about, in a line
    reason: Mapped[str] = mapped_column(Text, default="")  # what the referrer wrote
    grant_family: Mapped[bool] = mapped_column(Boolean, default=False)  # may the department read the family's circumstances
    grant_photos: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20))  # flows.State
    respond_by: Mapped[date] = mapped_column(Date)
    resolve_by: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[str] = mapped_column(Text, default="")
    key: Mapped[str | None] = mapped_column(String(80), default=None)  # a job's ticket: its idempotency key


class ReferralStep(TownshipOwned, Base):
    __tablename__ = "referral_steps"
    __table_args__ = (
        UniqueConstraint("township_id", "referral_id", "number"),
        township_fk("referral_id", "referrals"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(index=True)
    number: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(String(20))  # "open" or flows.STEPS
    state: Mapped[str] = mapped_column(String(20))  # the state it left the ticket in
    note: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(default=None)
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    occurred_at: Mapped[datetime] = mapped_column()


class ReferralRoute(TownshipOwned, Base):
    __tablename__ = "referral_routes"
    __table_args__ = (UniqueConstraint("township_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    duty_codes: Mapped[str] = mapped_column(String(120))  # comma-separated DutyCodes, first the usual one
    respond_days: Mapped[int] = mapped_column(SmallInteger)
    resolve_days: Mapped[int] = mapped_column(SmallInteger)
