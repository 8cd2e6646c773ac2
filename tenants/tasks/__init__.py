"""Tasks (任务): the leading group's office assigns work to villages, schools, departments or named
people, each assignee its own copy to finish; the assignee reports progress and submits its
evidence, the office accepts it or sends it back. Recurring templates (every month, every March
and September) make their tasks by themselves, once per period."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(name="tasks", label="工作任务", requires=("worklist", "tenancy"),
                  nav=(NavEntry("工作任务", "/tasks", Permission.TASK_READ, order=40),))
