"""What a township publishes to its county: one row per period, aggregates only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.db import Base


class PublishedFigures(Base):
    """Not `TownshipOwned`: a county viewer reads it with no township scope, so the scope
    listener must not demand one. `service.py` is its only reader and writer, and names the
    township (writing) or the county (reading) in every statement; on PostgreSQL the policies of
    migration 0010 say the same."""

    __tablename__ = "published_figures"
    __table_args__ = (UniqueConstraint("township_id", "period", name="uq_published_figures_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id"), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"))
    period: Mapped[str] = mapped_column(String(24))
    township_name: Mapped[str] = mapped_column(String(80))
    published_at: Mapped[datetime] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
