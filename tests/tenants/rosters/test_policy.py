"""Whose roster: the school itself (not a class-bound teacher), or the township; everyone else 404."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.exceptions import NotFoundException
from sqlalchemy import select

from baoxue.platform.db import cross_township_session
from baoxue.tenants.rosters.policy import access_roster_school
from baoxue.tenants.tenancy.models import School, Village


def _schools(demo: Any, township_id: int) -> list[int]:
    with cross_township_session("tests: school ids", demo) as s:
        return list(s.scalars(select(School.id).where(School.township_id == township_id).order_by(School.id)))


def test_who_reaches_a_school_roster(db_session: Any, townships: dict[str, int], demo: Any) -> None:
    bd, lg = townships["DEMO-BD"], townships["DEMO-LG"]
    mine, sibling = _schools(demo, bd)[:2]
    foreign = _schools(demo, lg)[0]
    assert access_roster_school(db_session(bd), mine).id == mine  # the township
    assert access_roster_school(db_session(bd, "school", mine), mine).id == mine  # the school itself
    with cross_township_session("tests: a village id", demo) as s:
        village = s.scalars(select(Village.id).where(Village.township_id == bd).limit(1)).one()
    refused = [
        (db_session(bd, "school", mine), sibling),  # a sibling school
        (db_session(bd, "school", mine, class_ids=[1]), mine),  # a teacher: some classes, not the roll
        (db_session(bd, "village", village), mine),
        (db_session(bd), foreign),  # another township's school
    ]
    for session, school_id in refused:
        with pytest.raises(NotFoundException):
            access_roster_school(session, school_id)
