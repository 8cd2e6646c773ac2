"""Attendance (到校日报告) and the escalation that turns absences into steps and cases."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(
    name="attendance",
    label="到校日报告",
    requires=("students", "worklist", "school_calendar", "cases"),
    nav=(NavEntry("到校日报告", "/attendance", Permission.ATTENDANCE_READ, order=40),),
)
