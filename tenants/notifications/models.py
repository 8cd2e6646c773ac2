"""A person's notifications, and each one's delivery to an outside channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from baoxue.platform.clock import utcnow
from baoxue.platform.db import Base, TownshipOwned, township_fk


class Notification(TownshipOwned, Base):
    """One event told to one membership. `key` names the event (`referrals:12:3`): a repeated,
    retried or redelivered event finds its row and adds nothing."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("township_id", "key", "membership_id"),
        township_fk("membership_id", "memberships"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(30))  # flows.Kind
    text: Mapped[str] = mapped_column(String(200))
    href: Mapped[str] = mapped_column(String(300), default="")  # where it leads, in the page
    key: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class NotificationDelivery(TownshipOwned, Base):
    """A notification's delivery to one outside channel: recorded queued with the notification,
    marked sent the moment the channel took it, so a retry or a redelivery never sends it twice."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("township_id", "notification_id", "channel"),
        township_fk("notification_id", "notifications"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(String(20))  # flows.Channel
    state: Mapped[str] = mapped_column(String(20))  # flows.DeliveryState
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
