"""The worked example's world (worked.py), built and rolled back per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from baoxue.platform.clock import clock
from baoxue.tenants.figures import periods
from baoxue.tenants.figures.service import rebuild
from tests.tenants.figures.worked import NOW, Small, build

YEAR = periods.year_period(2026)
OCTOBER = periods.month_period(2026, 10)
SEPTEMBER = periods.month_period(2026, 9)


@pytest.fixture
def small(demo: Any) -> Iterator[Small]:
    """The worked example with its figures stored as the nightly job stores them."""
    clock.freeze(NOW)
    world = build(demo)
    try:
        rebuild(world.session, "figures:test:worked", [YEAR, OCTOBER, SEPTEMBER,
                                                                       periods.ytd_period(OCTOBER)])
        yield world
    finally:
        world.session.rollback()
        world.session.close()
        clock.unfreeze()
