"""The census (文化户口), the household register and poverty lists, and 四查三比对 against the rolls;
the three ledgers (三本台账) that the findings and the case file keep."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(
    name="census",
    label="文化户口与台账",
    requires=("students", "worklist", "cases"),
    nav=(NavEntry("文化户口比对", "/census", Permission.CENSUS_READ, order=55),
         NavEntry("三本台账", "/ledgers", Permission.LEDGER_READ, order=56)),
)
