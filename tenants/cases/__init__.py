"""The case file (一生一案): a child at risk of leaving school, from the first day away to the return."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(
    name="cases",
    label="控辍个案",
    requires=("students", "worklist", "school_calendar"),
    nav=(NavEntry("控辍个案", "/cases", Permission.CASE_READ, order=45),),
)
