"""Students on the schools' rolls."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(
    name="students",
    label="学生",
    requires=("tenancy",),
    nav=(NavEntry("学生", "/students", Permission.STUDENT_READ, order=50),),
)
