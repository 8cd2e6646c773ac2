"""The worklist: what each record needs done (`reconcile`) and what each person sees (`items_for`).

A concept never opens or closes an item by hand. After each action on a record it calls
`reconcile(session, record_type, record_id, wanted)` with the `Due`s the record needs now;
items no longer wanted close themselves, new ones open, changed ones move. So an item closes
exactly when the record's work is done, and never by a separate click.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from baoxue.platform.clock import clock
from baoxue.platform.db import tenant_of
from baoxue.platform.permissions import ROLE_LABELS, Role, UnitKind
from baoxue.platform.scoping import for_write
from baoxue.tenants.tenancy.models import Membership, User
from baoxue.tenants.worklist.models import WorkItem

CHUNK = 2000  # records per read of their items (an IN list a database takes comfortably)


@dataclass(frozen=True)
class Owner:
    """A membership, or whoever holds `role` in the unit ("" = anyone there)."""

    unit_kind: UnitKind
    unit_id: int | None
    role: str = ""
    membership_id: int | None = None


@dataclass(frozen=True)
class Due:
    kind: str  # "<concept>:<work>": one open item of a kind per record
    title: str
    href: str
    owner: Owner
    due_on: date
    shows_from: date | None = None  # None: at once


def reconcile(session: Session, subject_type: str, subject_id: int, wanted: Iterable[Due]) -> None:
    """Make the record's open items exactly `wanted`: open, move or close (never delete)."""
    reconcile_many(session, subject_type, {subject_id: wanted})


def reconcile_many(session: Session, subject_type: str, wanted: Mapping[int, Iterable[Due]]) -> None:
    """`reconcile` for many records of one type at once: one read of their open items (a
    township's daily job reconciles thousands of records; never a query per record)."""
    now = clock.now()
    ids = list(wanted)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        # Read as a writer: the record's items may be on other units' lists (a transfer's on the
        # central school's), and whoever acts on the record closes them.
        open_items: dict[int, dict[str, WorkItem]] = {}
        for item in session.scalars(for_write(select(WorkItem).where(
                WorkItem.subject_type == subject_type, WorkItem.subject_id.in_(chunk),
                WorkItem.closed_at.is_(None)))):
            open_items.setdefault(item.subject_id, {})[item.kind] = item
        for subject_id in chunk:
            _match(session, subject_type, subject_id, open_items.get(subject_id, {}), wanted[subject_id], now)
    session.flush()


def _match(session: Session, subject_type: str, subject_id: int, open_items: dict[str, WorkItem],
           wanted: Iterable[Due], now: Any) -> None:
    wanted_by_kind = {due.kind: due for due in wanted}
    for kind, item in open_items.items():
        if kind not in wanted_by_kind:
            item.closed_at = now
    for kind, due in wanted_by_kind.items():
        item = open_items.get(kind)
        if item is None:
            item = WorkItem(township_id=tenant_of(session).township_id, kind=kind, subject_type=subject_type,
                            subject_id=subject_id, opened_at=now)
            session.add(item)
        _describe(item, due)


def _describe(item: WorkItem, due: Due) -> None:
    item.title, item.href, item.due_on = due.title, due.href, due.due_on
    item.shows_from = due.shows_from or min(due.due_on, clock.today())
    item.owner_unit_kind, item.owner_unit_id = due.owner.unit_kind.value, due.owner.unit_id
    item.owner_role, item.owner_membership_id = due.owner.role, due.owner.membership_id


@dataclass(frozen=True)
class Worklist:
    overdue: list[WorkItem]
    today: list[WorkItem]
    this_week: list[WorkItem]
    later: list[WorkItem]

    @property
    def count(self) -> int:
        """What the header shows: what is due by the end of this week."""
        return len(self.overdue) + len(self.today) + len(self.this_week)

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.today or self.this_week or self.later)


def _mine(actor: Any) -> Any:
    """Open items shown today whose owner is this membership, or its role in its unit."""
    m = actor.membership
    unit_kind, unit_id = m.unit_kind, m.unit_id
    return and_(
        WorkItem.closed_at.is_(None), WorkItem.shows_from <= clock.today(),
        WorkItem.owner_unit_kind == unit_kind.value,
        WorkItem.owner_unit_id.is_(None) if unit_id is None else WorkItem.owner_unit_id == unit_id,
        or_(WorkItem.owner_membership_id == m.id,
            and_(WorkItem.owner_membership_id.is_(None), WorkItem.owner_role.in_(("", m.role.value)))),
    )


def items_for(session: Session, actor: Any, *, limit: int = 200) -> Worklist:
    """The actor's open items: overdue first, then due today, this week, later (one query)."""
    if actor.membership is None:
        return Worklist([], [], [], [])
    items = list(session.scalars(select(WorkItem).where(_mine(actor))
                                 .order_by(WorkItem.due_on, WorkItem.id).limit(limit)))
    today = clock.today()
    week_end = today + timedelta(days=6 - today.weekday())
    return Worklist(overdue=[i for i in items if i.due_on < today], today=[i for i in items if i.due_on == today],
                    this_week=[i for i in items if today < i.due_on <= week_end],
                    later=[i for i in items if i.due_on > week_end])


def count_for(session: Session, actor: Any) -> int:
    """The header's number: the actor's items due by the end of this week (one query)."""
    if actor.membership is None:
        return 0
    today = clock.today()
    week_end = today + timedelta(days=6 - today.weekday())
    return session.scalar(select(func.count(WorkItem.id)).where(_mine(actor), WorkItem.due_on <= week_end)) or 0


def items_about(session: Session, subject_type: str, subject_id: int) -> list[WorkItem]:
    """Every item a record has had, open and closed (its page shows what is awaited)."""
    return list(session.scalars(select(WorkItem).where(
        WorkItem.subject_type == subject_type, WorkItem.subject_id == subject_id).order_by(WorkItem.id)))


# Who sees the overdue items of the people below them: a school's leaders those of the school,
# the township's leading group and office those of every school and village.
SUPERVISING = {Role.PRINCIPAL: UnitKind.SCHOOL, Role.ACADEMIC_OFFICE: UnitKind.SCHOOL,
               Role.LEADER: UnitKind.TOWNSHIP, Role.OFFICE_STAFF: UnitKind.TOWNSHIP}


@dataclass(frozen=True)
class Overdue:
    item: WorkItem
    owner: str  # 王老师（班主任）, or the role of the unit when no one is named


def overdue_below(session: Session, actor: Any, *, limit: int = 50) -> list[Overdue]:
    """Overdue items of others that this person answers for (their superior's view)."""
    m = actor.membership
    if m is None or SUPERVISING.get(m.role) is None:
        return []
    query = select(WorkItem).where(WorkItem.closed_at.is_(None), WorkItem.due_on < clock.today(),
                                   ~_mine(actor))
    if SUPERVISING[m.role] == UnitKind.SCHOOL:
        query = query.where(WorkItem.owner_unit_kind == UnitKind.SCHOOL.value, WorkItem.owner_unit_id == m.unit_id)
    else:
        query = query.where(WorkItem.owner_unit_kind.in_((UnitKind.SCHOOL.value, UnitKind.VILLAGE.value)))
    return _with_owners(session, list(session.scalars(query.order_by(WorkItem.due_on, WorkItem.id).limit(limit))))


def overdue_of_unit(session: Session, unit_kind: UnitKind, unit_id: int, *, limit: int = 200) -> list[Overdue]:
    """A school's or a village's overdue items, as the reader's scope lets them be read (the
    dashboard's number, followed down to each item and its record)."""
    query = select(WorkItem).where(WorkItem.closed_at.is_(None), WorkItem.due_on < clock.today(),
                                   WorkItem.owner_unit_kind == unit_kind.value, WorkItem.owner_unit_id == unit_id)
    return _with_owners(session, list(session.scalars(query.order_by(WorkItem.due_on, WorkItem.id).limit(limit))))


def overdue_by_unit_and_kind(session: Session) -> dict[tuple[str, int | None], dict[str, int]]:
    """Open items past their day, counted by owning unit and kind, as the reader's scope reads
    them (one grouped query): what a circular or an agenda says a unit is behind on."""
    rows = session.execute(select(WorkItem.owner_unit_kind, WorkItem.owner_unit_id, WorkItem.kind,
                                  func.count(WorkItem.id))
                           .where(WorkItem.closed_at.is_(None), WorkItem.due_on < clock.today())
                           .group_by(WorkItem.owner_unit_kind, WorkItem.owner_unit_id, WorkItem.kind)).all()
    found: dict[tuple[str, int | None], dict[str, int]] = {}
    for unit_kind, unit_id, kind, n in rows:
        found.setdefault((unit_kind, unit_id), {})[kind] = n
    return found


def _with_owners(session: Session, items: list[WorkItem]) -> list[Overdue]:
    names = _owner_names(session, {i.owner_membership_id for i in items if i.owner_membership_id})
    return [Overdue(i, names.get(i.owner_membership_id or 0) or ROLE_LABELS.get(Role(i.owner_role), "")
                    if i.owner_role else names.get(i.owner_membership_id or 0, "")) for i in items]


def _owner_names(session: Session, membership_ids: set[int]) -> dict[int, str]:
    if not membership_ids:
        return {}
    m, u = Membership.__table__, User.__table__
    rows = session.execute(select(m.c.id, u.c.display_name, m.c.role).join(u, u.c.id == m.c.user_id).where(
        m.c.township_id == tenant_of(session).township_id, m.c.id.in_(sorted(membership_ids))))
    return {i: f"{name}（{ROLE_LABELS.get(Role(role), role)}）" for i, name, role in rows}
