"""Figures and the dashboard (the home page of every role); the dropout and retention figures
of a period at every level; the schools' monthly reports (月报)."""

from baoxue.platform.concepts import Concept, NavEntry
from baoxue.platform.permissions import Permission

concept = Concept(name="figures", label="统计与首页",
                  requires=("students", "worklist", "status_changes", "cases", "school_calendar"),
                  nav=(NavEntry("首页", "/", None, order=0),
                       NavEntry("统计", "/figures", Permission.FIGURES_READ, order=80),
                       NavEntry("月报", "/figures/reports", Permission.FIGURES_READ, order=81)))
