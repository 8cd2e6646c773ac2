"""Status changes (学籍变动): transfers, suspension, resumption, repetition, graduation, death."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(
    name="status_changes",
    label="学籍变动",
    requires=("students", "worklist"),
    nav=(NavEntry("学籍变动", "/status-changes", Permission.STATUS_READ, order=55),),
)
