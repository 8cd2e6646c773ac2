"""The dashboard (看板): the township's picture at a glance, and what needs attention first.

The same reads, under a school's or a village's scope, are that unit's panel on its home page:
the read scope narrows every number, so a school sees its own and nothing is written twice."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(name="dashboard", label="看板",
                  requires=("figures", "census", "cases", "worklist"),
                  nav=(NavEntry("看板", "/dashboard", Permission.DASHBOARD_READ, order=1),))
