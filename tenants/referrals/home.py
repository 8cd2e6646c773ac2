"""The first screen's reminders of referral tickets: a department's inbox, a referrer's answers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform.concepts import Todo
from baoxue.platform.permissions import Permission, UnitKind
from baoxue.tenants.referrals.flows import State
from baoxue.tenants.referrals.models import Referral


def todos(session: Session, actor: Any) -> list[Todo]:
    """One grouped count of the tickets the reader holds, by state."""
    m = actor.membership
    if m is None or not actor.can(Permission.REFERRAL_READ):
        return []
    counts = dict(session.execute(select(Referral.state, func.count(Referral.id)).group_by(Referral.state)).all())
    if m.unit_kind == UnitKind.DEPARTMENT:
        waiting, working = counts.get(State.OPENED.value, 0), counts.get(State.ACCEPTED.value, 0) + counts.get(
            State.IN_PROGRESS.value, 0)
        if not waiting and not working:
            return [Todo("目前没有转介给本部门、尚未办结的事项。", "/referrals")]
        return [Todo(f"转介给本部门的事项：{waiting} 件待受理，{working} 件办理中。请在期限内办理并写明结果。", "/referrals")]
    resolved = counts.get(State.RESOLVED.value, 0)
    return [Todo(f"有 {resolved} 张转介单部门已办结，请确认办理结果（或重新办理）。", "/referrals?ticket_state=resolved")] \
        if resolved and actor.can(Permission.REFERRAL_OPEN) else []
