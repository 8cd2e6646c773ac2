"""One model for "something a person or a unit must do by a date".

An item names its owner (a membership, or a role in a unit), its due date, the record it is
about (`subject_type`, `subject_id`) and the kind of work. Items are never opened or closed by
hand: the concept that owns the record says, after each of its actions, which items the record
needs now (`baoxue.tenants.worklist.service.reconcile`), and the worklist opens, moves and
closes items to match. Later concepts (escalation steps, case actions, tasks, referrals,
contracts) add their kinds of item here rather than lists of their own.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, TownshipOwned, township_fk


class WorkItem(TownshipOwned, Base):
    __tablename__ = "work_items"
    __table_args__ = (
        township_fk("owner_membership_id", "memberships"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))  # "<concept>:<work>", unique per subject while open
    subject_type: Mapped[str] = mapped_column(String(40))  # the table of the record it is about
    subject_id: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(200))  # what to do, in Chinese, naming the record
    href: Mapped[str] = mapped_column(String(200))  # where the work is done
    # The owner: one membership, or whoever holds `owner_role` in the unit (a role of "" = anyone there).
    owner_membership_id: Mapped[int | None] = mapped_column(default=None)
    owner_unit_kind: Mapped[str] = mapped_column(String(20), default="")
    owner_unit_id: Mapped[int | None] = mapped_column(default=None)
    owner_role: Mapped[str] = mapped_column(String(32), default="")
    shows_from: Mapped[date] = mapped_column(Date)  # not on anyone's list before this day
    due_on: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
