"""The worklist: items follow their record (open, move, close by themselves) and reach their owner."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, update

from baoxue.platform.clock import CHINA, clock
from baoxue.platform.identity import MembershipView
from baoxue.platform.permissions import Role, UnitKind
from baoxue.tenants.tenancy.models import School
from baoxue.tenants.worklist.models import WorkItem
from baoxue.tenants.worklist.service import Due, Owner, count_for, items_for, reconcile

FRIDAY = datetime(2026, 11, 27, 9, tzinfo=CHINA)  # a Friday: "this week" ends on Sunday the 29th


@pytest.fixture
def friday() -> Any:
    clock.freeze(FRIDAY)
    yield FRIDAY.date()
    clock.unfreeze()


def _actor(township_id: int, school_id: int, role: Role, membership_id: int = 10**9) -> Any:
    view = MembershipView(id=membership_id, township_id=township_id, township_name="", role=role,
                          unit_kind=UnitKind.SCHOOL, unit_id=school_id, unit_name="")
    return SimpleNamespace(membership=view)


def _schools(session: Any) -> list[int]:
    return list(session.scalars(select(School.id).order_by(School.id)))


def _due(kind: str, school_id: int, due_on: date, *, role: Role = Role.ACADEMIC_OFFICE, **kw: Any) -> Due:
    return Due(kind=kind, title=f"测试事项 {kind}", href="/tests", due_on=due_on,
               owner=Owner(UnitKind.SCHOOL, school_id, role.value), **kw)


def test_an_item_opens_moves_and_closes_with_its_record(db_session: Any, townships: dict[str, int],
                                                        friday: date) -> None:
    s = db_session(townships["DEMO-BD"])
    school = _schools(s)[0]
    reconcile(s, "tests", 1, [_due("tests:approve", school, friday)])
    first = s.scalars(select(WorkItem).where(WorkItem.subject_type == "tests")).one()
    reconcile(s, "tests", 1, [_due("tests:approve", school, friday + timedelta(days=3))])
    moved = s.scalars(select(WorkItem).where(WorkItem.subject_type == "tests")).one()
    assert moved.id == first.id and moved.due_on == friday + timedelta(days=3) and moved.closed_at is None
    reconcile(s, "tests", 1, [])
    kept = s.scalars(select(WorkItem).where(WorkItem.subject_type == "tests")).one()
    assert kept.closed_at is not None  # closed, never deleted: the record's history keeps it


def test_the_owner_sees_overdue_first_then_today_this_week_and_later(db_session: Any, townships: dict[str, int],
                                                                     friday: date) -> None:
    tid = townships["DEMO-BD"]
    s = db_session(tid)
    school, other = _schools(s)[:2]
    # A clean slate in this rolled-back transaction: the demo's own items (attendance steps that
    # fall to the academic office) are closed, so the lists hold this test's items alone.
    s.execute(update(WorkItem).where(WorkItem.closed_at.is_(None)).values(closed_at=clock.now()))
    for n, days in enumerate((-2, 0, 2, 9)):
        reconcile(s, "tests", 100 + n, [_due("tests:approve", school, friday + timedelta(days=days))])
    reconcile(s, "tests", 200, [_due("tests:approve", other, friday)])  # another school's
    reconcile(s, "tests", 201, [_due("tests:approve", school, friday, role=Role.PRINCIPAL)])  # another role's
    later = friday + timedelta(days=5)
    reconcile(s, "tests", 202, [_due("tests:watch", school, later, shows_from=later)])  # not yet shown
    mine = items_for(s, _actor(tid, school, Role.ACADEMIC_OFFICE))
    assert [i.subject_id for i in mine.overdue] == [100]
    assert [i.subject_id for i in mine.today] == [101]
    assert [i.subject_id for i in mine.this_week] == [102]
    assert [i.subject_id for i in mine.later] == [103]
    assert count_for(s, _actor(tid, school, Role.ACADEMIC_OFFICE)) == 3
    assert [i.subject_id for i in items_for(s, _actor(tid, school, Role.PRINCIPAL)).today] == [201]
    clock.freeze(datetime.combine(later, FRIDAY.timetz()))
    assert 202 in [i.subject_id for i in items_for(s, _actor(tid, school, Role.ACADEMIC_OFFICE)).today]


def test_an_item_for_one_membership_reaches_only_that_membership(db_session: Any, townships: dict[str, int],
                                                                 friday: date) -> None:
    tid = townships["DEMO-BD"]
    s = db_session(tid)
    school = _schools(s)[0]
    from baoxue.tenants.tenancy.models import Membership

    member = s.scalars(select(Membership.id).where(Membership.school_id == school)).first()
    owner = Owner(UnitKind.SCHOOL, school, Role.CLASS_TEACHER.value, membership_id=member)
    reconcile(s, "tests", 300, [Due("tests:opinion", "填写意见", "/tests", owner, friday)])
    assert [i.subject_id for i in items_for(s, _actor(tid, school, Role.CLASS_TEACHER, member)).today] == [300]
    assert items_for(s, _actor(tid, school, Role.CLASS_TEACHER, member + 1)).empty


def test_a_school_reads_only_its_own_items(db_session: Any, townships: dict[str, int], friday: date) -> None:
    tid = townships["DEMO-BD"]
    whole = db_session(tid)
    school, other = _schools(whole)[:2]
    reconcile(whole, "tests", 400, [_due("tests:a", school, friday)])
    reconcile(whole, "tests", 401, [_due("tests:a", other, friday)])
    whole.commit()
    try:
        scoped = db_session(tid, "school", school)
        seen = set(scoped.scalars(select(WorkItem.subject_id).where(WorkItem.subject_type == "tests")))
        assert 400 in seen and 401 not in seen
    finally:
        whole.execute(WorkItem.__table__.delete().where(WorkItem.subject_type == "tests"))
        whole.commit()


def test_the_menu_counts_and_the_page_lists_my_items(persona: Any, signed_in: Any, db_session: Any,
                                                     townships: dict[str, int], friday: date) -> None:
    me = persona("bd_mid_academic").me()["membership"]
    tid = townships["DEMO-BD"]
    whole = db_session(tid)
    reconcile(whole, "tests", 500, [_due("tests:a", me["unit_id"], friday - timedelta(days=1))])
    whole.commit()
    try:
        listed = persona("bd_mid_academic").get("/api/worklist").json()
        assert any(i["subject_id"] == 500 and i["overdue"] for i in listed)
        assert all(i["subject_id"] != 500 for i in persona("bd_cps_academic").get("/api/worklist").json())
        page = signed_in("bd_mid_academic").get("/worklist")
        assert "已逾期" in page.text and "测试事项 tests:a" in page.text
        badge = signed_in("bd_mid_academic").get("/worklist/count")
        assert 'class="badge' in badge.text and int(badge.text.split(">")[1].split("<")[0]) >= 1
        home = signed_in("bd_mid_academic").get("/")
        assert "测试事项 tests:a" in home.text and 'hx-get="/worklist/count"' in home.text
    finally:
        whole.execute(WorkItem.__table__.delete().where(WorkItem.subject_type == "tests"))
        whole.commit()


def test_whoever_acts_on_the_record_closes_its_items_on_other_lists(db_session: Any, townships: dict[str, int],
                                                                     friday: date) -> None:
    tid = townships["DEMO-BD"]
    whole = db_session(tid)
    school, other = _schools(whole)[:2]
    reconcile(whole, "tests", 600, [_due("tests:watch", other, friday)])
    whole.commit()
    try:
        acting = db_session(tid, "school", school)  # cannot read the other school's list
        assert acting.scalars(select(WorkItem).where(WorkItem.subject_id == 600)).first() is None
        reconcile(acting, "tests", 600, [])
        acting.commit()
        assert whole.scalars(select(WorkItem.closed_at).where(WorkItem.subject_id == 600)).one() is not None
    finally:
        whole.execute(WorkItem.__table__.delete().where(WorkItem.subject_type == "tests"))
        whole.commit()
