"""The worklist (待办): everything a person or a unit must do, by when, about which record."""

from baoxue.platform.concepts import Concept, NavEntry

concept = Concept(
    name="worklist",
    label="待办",
    requires=("tenancy",),
    nav=(NavEntry("待办", "/worklist", None, order=5, count_href="/worklist/count"),),
)
