"""Rosters (学籍名册): a school's roster in and out in the national student-status layout."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(
    name="rosters",
    label="学籍名册",
    requires=("students",),
    nav=(NavEntry("学籍名册", "/roster", Permission.ROSTER_IMPORT, order=52),),
)
