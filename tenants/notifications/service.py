"""Notifications: tell people of an event (`send`), read one's own, mark them read.

`send(session, key=..., to=[Owner, ...], kind=..., text=..., href=...)` is the one call other
concepts make, inside their own transaction, after their own work: it resolves the owners (a
membership, or a role in a unit, "" for anyone there) to the township's active memberships in
one query, adds one row per membership unless that membership already has the event's key (a
repeat, a retry or a redelivered job adds nothing; a concurrent duplicate loses at the unique
key and is skipped), writes as a consequence of the actor's decision (`consequences`), and, if an
outside channel is configured, records each new row's delivery and its job in the same
transaction (the outbox: the job is sent only after the outermost commit). It never commits.

Reads are the person's own (the policy narrows to the request's membership): the header's
count, the list, newest first. Marking read is the person's own bookkeeping, not the township's
work: it is not audited (see events.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import clock
from baoxue.platform.db import township_id_of
from baoxue.platform.errors import InvalidInput, not_found
from baoxue.platform.permissions import Role, UnitKind
from baoxue.platform.scoping import consequences
from baoxue.platform.settings import Settings, get_settings
from baoxue.tenants.notifications.events import Event
from baoxue.tenants.notifications.flows import Channel, DeliveryState, Kind
from baoxue.tenants.notifications.models import Notification, NotificationDelivery
from baoxue.tenants.notifications.policy import access_notification
from baoxue.tenants.tenancy.models import Membership, User
from baoxue.tenants.worklist.models import WorkItem
from baoxue.tenants.worklist.service import Owner

__all__ = ["Kind", "Message", "Owner", "send", "send_many"]

MAX_TEXT = 200
MAX_HREF = 300
MAX_KEY = 120
KEY_CHUNK = 1000  # event keys per read of the rows that already exist
OVERDUE_LOOKBACK_DAYS = 7  # the sweep tells of items that fell overdue this past week, not of old ones

_MEMBERSHIPS = Membership.__table__
_USERS = User.__table__
_UNIT_COLUMN = {UnitKind.SCHOOL: "school_id", UnitKind.VILLAGE: "village_id", UnitKind.DEPARTMENT: "department_id"}


# --- telling -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Message:
    """One event to tell: its idempotency key, whom, what, and where it leads."""

    key: str
    to: tuple[Owner, ...]
    kind: Kind | str
    text: str
    href: str = ""


@dataclass(frozen=True)
class _Recipient:
    membership_id: int
    user_id: int
    role: str
    unit_kind: UnitKind
    unit_id: int | None
    email: str


def send(session: Session, *, key: str, to: Iterable[Owner], kind: Kind | str, text: str, href: str) -> int:
    """Tell `to` of the event `key`; returns how many new notifications it made (0 on a repeat)."""
    return send_many(session, [Message(key, tuple(to), kind, text, href)])


def send_many(session: Session, messages: Sequence[Message]) -> int:
    """`send` for many events at once (the overdue sweep): one read of the recipients, one of
    the rows that exist, one insert."""
    wanted = [_checked(m) for m in messages if m.to]
    if not wanted:
        return 0
    township_id = township_id_of(session)
    with consequences(session):  # telling others is what the actor's decision entails
        recipients = _recipients(session, township_id, {owner for m in wanted for owner in m.to})
        if not recipients:
            return 0
        existing = _existing(session, {m.key for m in wanted})
        rows: dict[tuple[str, int], dict[str, Any]] = {}
        now = clock.now()
        for message in wanted:
            for owner in message.to:
                for person in recipients:
                    pair = (message.key, person.membership_id)
                    if pair in existing or pair in rows or not _owns(owner, person):
                        continue
                    rows[pair] = {"township_id": township_id, "membership_id": person.membership_id,
                                  "user_id": person.user_id, "kind": str(message.kind), "text": message.text,
                                  "href": message.href, "key": message.key, "created_at": now}
        made = _insert(session, list(rows.values()))
        _queue_deliveries(session, township_id, made, {r.membership_id: r for r in recipients})
    return len(made)


def _checked(message: Message) -> Message:
    """A caller's mistake (an unknown kind, an over-long key) is a programming error, not a user's."""
    kind = Kind(message.kind)
    key = str(message.key).strip()
    if not key or len(key) > MAX_KEY:
        raise ValueError(f"a notification key is 1–{MAX_KEY} characters: {key!r}")
    text = " ".join(str(message.text).split())
    text = text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"
    href = str(message.href or "")
    return Message(key, tuple(message.to), kind, text, href if _inside(href) else "")


def _inside(href: str) -> bool:
    """A link into this site (a path), never another site's."""
    return len(href) <= MAX_HREF and href.startswith("/") and not href.startswith("//") and "\\" not in href


def _recipients(session: Session, township_id: int, owners: set[Owner]) -> list[_Recipient]:
    """The active memberships (of active people) any owner names: one query."""
    m, u = _MEMBERSHIPS, _USERS
    wanted = [c for c in (_condition(owner) for owner in owners) if c is not None]
    if not wanted:
        return []
    rows = session.execute(
        select(m.c.id, m.c.user_id, m.c.role, m.c.school_id, m.c.village_id, m.c.department_id, u.c.email)
        .join(u, u.c.id == m.c.user_id)
        .where(m.c.township_id == township_id, m.c.is_active.is_(True), u.c.is_active.is_(True), or_(*wanted))
        .order_by(m.c.id))
    found = []
    for membership_id, user_id, role, school_id, village_id, department_id, email in rows:
        unit_kind = Role(role).unit_kind
        unit_id = {UnitKind.SCHOOL: school_id, UnitKind.VILLAGE: village_id,
                   UnitKind.DEPARTMENT: department_id}.get(unit_kind)
        found.append(_Recipient(membership_id, user_id, role, unit_kind, unit_id, email or ""))
    return found


def _roles_of(unit_kind: UnitKind) -> list[str]:
    return [r.value for r in Role if r.unit_kind == unit_kind]


def _condition(owner: Owner) -> Any:
    m = _MEMBERSHIPS
    if owner.membership_id is not None:
        return m.c.id == owner.membership_id
    kind = UnitKind(owner.unit_kind)
    roles = [owner.role] if owner.role else _roles_of(kind)
    if owner.role and owner.role not in _roles_of(kind):
        return None  # a role that is never held in such a unit: nobody
    column = _UNIT_COLUMN.get(kind)
    if column is None:
        return m.c.role.in_(roles)
    if owner.unit_id is None:
        return None
    return and_(m.c.role.in_(roles), m.c[column] == owner.unit_id)


def _owns(owner: Owner, person: _Recipient) -> bool:
    """Does this owner name this person (the query's condition, for one message of several)?"""
    if owner.membership_id is not None:
        return person.membership_id == owner.membership_id
    if person.unit_kind != UnitKind(owner.unit_kind) or (owner.role and person.role != owner.role):
        return False
    return person.unit_kind == UnitKind.TOWNSHIP or person.unit_id == owner.unit_id


def _existing(session: Session, keys: set[str]) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    ordered = sorted(keys)
    for start in range(0, len(ordered), KEY_CHUNK):
        found.update((key, membership_id) for key, membership_id in session.execute(
            select(Notification.key, Notification.membership_id).where(
                Notification.key.in_(ordered[start:start + KEY_CHUNK]))))
    return found


def _insert(session: Session, rows: list[dict[str, Any]]) -> list[Notification]:
    """The rows in one flush; on PostgreSQL inside a savepoint, so that a concurrent duplicate
    (another transaction told the same person of the same event this instant) is skipped, row by
    row, instead of failing the caller's transaction. SQLite has one writer at a time."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        made = [Notification(**row) for row in rows]
        session.add_all(made)
        session.flush()
        return made
    try:
        with session.begin_nested():
            made = [Notification(**row) for row in rows]
            session.add_all(made)
            session.flush()
        return made
    except IntegrityError:
        pass
    made = []
    for row in rows:
        try:
            with session.begin_nested():
                one = Notification(**row)
                session.add(one)
                session.flush()
            made.append(one)
        except IntegrityError:
            continue  # told already, by the other transaction
    return made


def outside_channels(settings: Settings | None = None) -> list[Channel]:
    """The channels the deployment configured (none: the page only)."""
    settings = settings or get_settings()
    channels = []
    if settings.notify_smtp_host and settings.notify_smtp_from:
        channels.append(Channel.EMAIL)
    if settings.notify_webhook_url:
        channels.append(Channel.WEBHOOK)
    return channels


def _queue_deliveries(session: Session, township_id: int, made: list[Notification],
                      people: dict[int, _Recipient]) -> None:
    """Each new notification's deliveries (e-mail only to people with an address) and its job,
    in the caller's transaction; no channel, nothing queued."""
    channels = outside_channels()
    if not channels or not made:
        return
    from baoxue.platform.jobs import request_job
    from baoxue.tenants.notifications.tasks import deliver_key, deliver_notification

    queued = []
    for notification in made:
        person = people[notification.membership_id]
        wanted = [c for c in channels if c != Channel.EMAIL or person.email]
        for channel in wanted:
            session.add(NotificationDelivery(township_id=township_id, notification_id=notification.id,
                                             channel=channel.value, state=DeliveryState.QUEUED.value))
        if wanted:
            queued.append(notification.id)
    session.flush()
    for notification_id in queued:
        request_job(session, township_id, deliver_notification, deliver_key(notification_id))


# --- the overdue sweep -------------------------------------------------------------------------

def notify_overdue(session: Session, today: date | None = None) -> int:
    """Tell the owners of worklist items that fell overdue (once per item, by its key): one read
    of the items, then one `send_many`. The township's job (the whole township's scope)."""
    today = today or clock.today()
    items = session.scalars(select(WorkItem).where(
        WorkItem.closed_at.is_(None), WorkItem.due_on < today,
        WorkItem.due_on >= today - timedelta(days=OVERDUE_LOOKBACK_DAYS)).order_by(WorkItem.id))
    messages = [Message(f"overdue:{item.id}", (_owner_of(item),), Kind.OVERDUE,
                        f"已逾期（{item.due_on:%m月%d日}到期）：{item.title}", item.href) for item in items]
    return send_many(session, messages)


def _owner_of(item: WorkItem) -> Owner:
    return Owner(UnitKind(item.owner_unit_kind), item.owner_unit_id, item.owner_role,
                 membership_id=item.owner_membership_id)


# --- reading one's own ---------------------------------------------------------------------------

def _own(actor: Any) -> Any:
    """The reader's own rows (the policy says the same; said here too, so a read is never wider)."""
    membership_id = getattr(actor, "membership_id", None)
    return Notification.membership_id == membership_id if membership_id is not None else false()


def unread_count(session: Session, actor: Any) -> int:
    """The header's number (one query)."""
    return session.scalar(select(func.count(Notification.id)).where(
        _own(actor), Notification.read_at.is_(None))) or 0


def notifications_of(session: Session, actor: Any, *, unread_only: bool = False, limit: int = 100) -> list[Notification]:
    """The reader's notifications, newest first (one query)."""
    query = select(Notification).where(_own(actor))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def mark_read(session: Session, actor: Any, notification_id: int) -> Notification:
    """One of the reader's own notifications, read (again is nothing); another's is the 404."""
    notification = access_notification(session, notification_id, for_write=True)
    if notification.membership_id != getattr(actor, "membership_id", None):
        raise not_found()
    if notification.read_at is None:
        notification.read_at = clock.now()
        session.flush()
    return notification


def mark_all_read(session: Session, actor: Any) -> int:
    """Every unread notification of the reader's, read; returns how many."""
    result = session.execute(update(Notification).where(_own(actor), Notification.read_at.is_(None))
                             .values(read_at=clock.now()), execution_options={"synchronize_session": False})
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- where e-mail goes ---------------------------------------------------------------------------

EMAIL = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MAX_EMAIL = 120


def email_of(session: Session, actor: Any) -> str:
    return session.scalar(select(_USERS.c.email).where(_USERS.c.id == actor.user_id)) or ""


def do_set_email(session: Session, actor: Any, email: str) -> str:
    """The address the reader's notifications are e-mailed to ("" stops e-mail); audited."""
    wanted = str(email or "").strip()
    if wanted and (len(wanted) > MAX_EMAIL or not EMAIL.match(wanted)):
        raise InvalidInput({"email": "请填写正确的电子邮箱地址，例如 wangfang@163.com；不需要邮件通知请留空。"})
    user = session.get(User, actor.user_id)
    if user is None:
        raise not_found()
    before = user.email or ""
    if before == wanted:
        return wanted
    user.email = wanted or None
    session.flush()
    audit.record(session, Event.EMAIL_CHANGED, entity=user, changes=audit.diff({"email": before}, {"email": wanted}))
    return wanted
