"""The first screen's reminders of tasks: the assigner's submissions to accept and overdue
copies to follow up are worklist items; here, a unit's or a person's open tasks in a line."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform.clock import clock
from baoxue.platform.concepts import Todo
from baoxue.platform.permissions import CLASS_BOUND_ROLES, Permission, UnitKind
from baoxue.tenants.tasks.flows import WORKING, State
from baoxue.tenants.tasks.models import Task, TaskCopy


def todos(session: Session, actor: Any) -> list[Todo]:
    """One grouped count of the copies in the reader's scope."""
    m = actor.membership
    if m is None or not actor.can(Permission.TASK_READ):
        return []
    today = clock.today()
    open_states = [s.value for s in WORKING]
    if m.unit_kind == UnitKind.TOWNSHIP:
        overdue, submitted = session.execute(select(
            func.count(TaskCopy.id).filter(TaskCopy.state.in_(open_states), Task.deadline < today),
            func.count(TaskCopy.id).filter(TaskCopy.state == State.SUBMITTED.value),
        ).join(Task, Task.id == TaskCopy.task_id)).one()
        if not overdue and not submitted:
            return []
        return [Todo(f"工作任务：{submitted} 份待验收，{overdue} 份逾期未完成。", "/tasks?overdue=1" if overdue else "/tasks")]
    mine = select(func.count(TaskCopy.id), func.min(Task.deadline)).join(Task, Task.id == TaskCopy.task_id).where(
        TaskCopy.state.in_(open_states))
    if m.role in CLASS_BOUND_ROLES:  # a teacher's own tasks, not the school's
        mine = mine.where(TaskCopy.membership_id == m.id)
    count, first = session.execute(mine).one()
    if not count:
        return []
    when = f"最早的 {first:%m月%d日} 已逾期" if first < today else f"最早 {first:%m月%d日} 截止"
    return [Todo(f"有 {count} 项工作任务待完成，{when}。请按要求提交完成材料。", "/tasks")]
