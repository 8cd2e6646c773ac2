"""Who reads and writes tasks, and the `access_*` helpers.

The township (its leading group, office, system) reads and writes every task. A school, a
village or a department reads the copies given to it and to its people, and the tasks behind
them; it writes only its copies (progress, evidence, submission). Which side may take which
step is the service's (flows.Side). Templates are the township's.
"""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.scoping import Criteria, Policy, Scope, TownshipStructure, nothing
from baoxue.tenants.tasks.models import Task, TaskCopy, TaskEvidence, TaskStep, TaskTemplate


class TaskCopyPolicy(Policy, model=TaskCopy):
    def read(self, scope: Scope) -> Criteria:
        if scope.whole_township:
            return None
        kind, unit_id = scope.unit_kind.value, scope.unit_id
        return lambda c: and_(c.unit_kind == kind, c.unit_id == unit_id)

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


class TaskPolicy(Policy, model=Task):
    def read(self, scope: Scope) -> Criteria:
        if scope.whole_township:
            return None
        return lambda c: c.id.in_(select(TaskCopy.task_id))

    def write(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else nothing()


class TaskStepPolicy(Policy, model=TaskStep):
    def read(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else (lambda c: c.copy_id.in_(select(TaskCopy.id)))

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


class TaskEvidencePolicy(Policy, model=TaskEvidence):
    def read(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else (lambda c: c.copy_id.in_(select(TaskCopy.id)))

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)


class TaskTemplatePolicy(TownshipStructure, model=TaskTemplate):
    """Recurring templates: the township's; everyone may read what recurs."""


def access_task(session: Session, task_id: int, *, for_write: bool = False) -> Task:
    return access(session, Task, task_id, for_write=for_write)


def access_copy(session: Session, copy_id: int, *, for_write: bool = False) -> TaskCopy:
    return access(session, TaskCopy, copy_id, for_write=for_write)


def access_template(session: Session, template_id: int, *, for_write: bool = False) -> TaskTemplate:
    return access(session, TaskTemplate, template_id, for_write=for_write)
