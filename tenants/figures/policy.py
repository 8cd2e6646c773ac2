"""Who reads the figures: the township level only, until figures are kept per unit."""

from __future__ import annotations

from baoxue.platform.scoping import Criteria, Policy, Scope, nothing
from baoxue.tenants.figures.models import FigureSnapshot


class FigureSnapshotPolicy(Policy, model=FigureSnapshot):
    def read(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else nothing()
