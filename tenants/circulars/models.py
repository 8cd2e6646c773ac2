"""A circular (通报) and the units it names."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.db import Base, TownshipOwned, township_fk


class Circular(TownshipOwned, Base):
    __tablename__ = "circulars"
    # The number is unique per township and year (drafts have none yet: NULLs never collide).
    __table_args__ = (UniqueConstraint("township_id", "year", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(20))  # draft | issued
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    # Who drafted it: the township (office) or the party-government office (a department).
    drafted_by_unit_kind: Mapped[str] = mapped_column(String(20))
    drafted_by_unit_id: Mapped[int | None] = mapped_column(default=None)
    drafted_by_user_id: Mapped[int | None] = mapped_column(default=None)
    drafted_by_name: Mapped[str] = mapped_column(String(64), default="")
    drafted_at: Mapped[datetime] = mapped_column()
    year: Mapped[int | None] = mapped_column(default=None)  # of the number, once issued
    serial: Mapped[int | None] = mapped_column(default=None)
    number: Mapped[str] = mapped_column(String(60), default="")  # 板当府通〔2026〕3号
    issuer: Mapped[str] = mapped_column(String(80), default="")  # 板当镇人民政府 (as printed)
    issued_by_user_id: Mapped[int | None] = mapped_column(default=None)
    issued_by_name: Mapped[str] = mapped_column(String(64), default="")
    issued_at: Mapped[datetime | None] = mapped_column(default=None)
    pdf_key: Mapped[str] = mapped_column(String(200), default="")


class CircularUnit(TownshipOwned, Base):
    """A unit the circular names, with what it is named for (as the draft found it)."""

    __tablename__ = "circular_units"
    __table_args__ = (
        UniqueConstraint("township_id", "circular_id", "unit_kind", "unit_id"),
        township_fk("circular_id", "circulars"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(index=True)
    unit_kind: Mapped[str] = mapped_column(String(20))  # school | village | department
    unit_id: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(80))  # as printed
    reason: Mapped[str] = mapped_column(String(300), default="")  # 2 项任务逾期、1 张转介单逾期
