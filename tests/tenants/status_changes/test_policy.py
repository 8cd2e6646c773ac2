"""Who reads which status changes: the three schools of a change, a teacher's classes, the township."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.exceptions import NotFoundException
from sqlalchemy import select

from baoxue.platform.db import cross_township_session
from baoxue.tenants.status_changes.models import StatusChange, StatusStep
from baoxue.tenants.status_changes.policy import access_change
from tests.tenants.status_changes.helpers import login_actor, school_ids


def _all(settings: Any, township_id: int) -> list[StatusChange]:
    with cross_township_session("tests: every change", settings) as s:
        return list(s.scalars(select(StatusChange).where(StatusChange.township_id == township_id)))


def _seen(session: Any) -> set[int]:
    return set(session.scalars(select(StatusChange.id)))


def test_each_school_of_a_change_reads_it_and_no_other_school_does(db_session: Any, demo: Any,
                                                                   townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    schools, changes = school_ids(demo, bd), _all(demo, bd)
    for key in ("mid", "cps", "p1", "p2", "p3"):
        school = schools[key]
        expected = {c.id for c in changes if school in (c.school_id, c.to_school_id, c.central_school_id)}
        assert _seen(db_session(bd, "school", school)) == expected, key
    # The central school files every change of the township; the receiving school reads the one coming.
    assert _seen(db_session(bd, "school", schools["cps"])) == {c.id for c in changes}
    assert _seen(db_session(bd, "school", schools["p1"]))


def test_a_teacher_reads_their_classes_the_township_all_villages_and_departments_none(
        db_session: Any, demo: Any, townships: dict[str, int]) -> None:
    bd, lg = townships["DEMO-BD"], townships["DEMO-LG"]
    changes = _all(demo, bd)
    teacher = login_actor(demo, "bd_mid_teacher").membership
    session = db_session(bd, "school", teacher.unit_id, class_ids=teacher.class_ids)
    assert _seen(session) == {c.id for c in changes if c.class_id in teacher.class_ids} != set()
    other = next(c for c in changes if c.class_id not in teacher.class_ids)
    with pytest.raises(NotFoundException):
        access_change(session, other.id)
    # Steps go with their change.
    assert set(session.scalars(select(StatusStep.change_id))) == _seen(session)
    assert _seen(db_session(bd)) == {c.id for c in changes}
    assert _seen(db_session(bd, "village", login_actor(demo, "bd_village1").membership.unit_id)) == set()
    assert _seen(db_session(bd, "department", login_actor(demo, "bd_police").membership.unit_id)) == set()
    assert _seen(db_session(lg)).isdisjoint({c.id for c in changes})
    with pytest.raises(NotFoundException):
        access_change(db_session(lg), changes[0].id)
