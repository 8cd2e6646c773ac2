"""A case's timeline: entries appended in order, never changed.

Everything done on a case (a call, a visit, a report, a notice issued or served, the return,
the closing) is one `CaseEntry`, numbered 1, 2, 3 ... in its case. Nothing updates or deletes an
entry (on PostgreSQL the runtime role may not); a mistake is corrected by a later entry of kind
`correction` that names the one it corrects. A closed case takes no more entries, with one
exception: a child who returned is watched (辍返生), and the follow-up visits of the watch are
the end of the same trail (DOMAIN.md §6 step 9), so a returned case takes `follow_up` entries
until its `watch_until`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform.clock import clock
from baoxue.platform.errors import Conflict
from baoxue.tenants.cases.flows import Closing, EntryKind, Stage
from baoxue.tenants.cases.models import Case, CaseEntry

CLOSED_CASE = "此个案已结案，记录不能再修改或补充；如学生再次辍学，请新建个案（会关联本案）。"


def add_entry(session: Session, case: Case, kind: EntryKind, actor: Any, *, occurred_at: datetime | None = None,
              summary: str = "", details: dict[str, Any] | None = None, visit_id: int | None = None,
              notice_id: int | None = None, corrects: CaseEntry | None = None) -> CaseEntry:
    """Append one entry to an open case (the closing entry is the last one a case takes)."""
    if case.stage == Stage.CLOSED and kind != EntryKind.CLOSED and not (kind == EntryKind.FOLLOW_UP
                                                                       and under_watch(case)):
        raise Conflict(detail=CLOSED_CASE)
    number = (session.scalar(select(func.max(CaseEntry.number)).where(CaseEntry.case_id == case.id)) or 0) + 1
    entry = CaseEntry(township_id=case.township_id, case_id=case.id, number=number, kind=kind.value,
                      occurred_at=occurred_at or clock.now(), summary=summary, details=_plain(details or {}),
                      visit_id=visit_id, notice_id=notice_id,
                      corrects_entry_id=corrects.id if corrects is not None else None,
                      recorded_by=actor.user_id, actor_name=actor.signed_as, recorded_at=clock.now())
    session.add(entry)
    session.flush()
    return entry


def _plain(value: Any) -> Any:
    """Details as JSON keeps them: dates as ISO text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def under_watch(case: Case, day: date | None = None) -> bool:
    """A returned child still watched (辍返生): follow-up visits are due until `watch_until`."""
    return (case.stage == Stage.CLOSED and case.closing == Closing.RETURNED and case.watch_until is not None
            and case.watch_until >= (day or clock.today()))


def entries_of(session: Session, case_id: int) -> list[CaseEntry]:
    return list(session.scalars(select(CaseEntry).where(CaseEntry.case_id == case_id).order_by(CaseEntry.number)))
