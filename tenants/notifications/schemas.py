"""What the notifications API reads and answers, and the Chinese names of its fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from baoxue.platform.labels import Entity, Field
from baoxue.tenants.notifications.flows import KIND_LABELS

_KINDS = {kind.value: label for kind, label in KIND_LABELS.items()}

FIELDS: dict[str, Field | str] = {
    "notification_id": Field("通知", entity="notifications"),
    "unread_only": Field("只看未读", values={True: "是", False: "否"}),
    "email": "电子邮箱",
    "notifications.kind": Field("通知类别", values=_KINDS),
    "users.email": "电子邮箱",
}

ENTITIES = {"notifications": Entity("通知")}


@dataclass
class NotificationOut:
    id: int
    kind: str
    kind_label: str
    text: str
    href: str
    created_at: datetime
    read_at: datetime | None
    unread: bool


@dataclass
class NotificationsOut:
    """The reader's unread count (the header's number) and their notifications, newest first."""

    unread: int
    items: list[NotificationOut] = field(default_factory=list)


@dataclass
class MarkedOut:
    marked: int
    unread: int


@dataclass
class EmailIn:
    email: str = ""


@dataclass
class EmailOut:
    email: str
