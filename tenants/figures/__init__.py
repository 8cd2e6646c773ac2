"""Figures and the dashboard (the home page of every role)."""

from baoxue.platform.concepts import Concept, NavEntry

concept = Concept(name="figures", label="统计与首页", requires=("students", "worklist"),
                  nav=(NavEntry("首页", "/", None, order=0),))
