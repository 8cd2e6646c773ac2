"""One policy per model, for reads and writes: the application's own WITH CHECK, on every backend."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from baoxue.platform.db import TownshipOwned, cross_township_session
from baoxue.platform.scoping import PolicyMissing, Policy, ScopeMissing, ScopeViolation, own_rows
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import Membership, School, SchoolClass, Village


@pytest.fixture
def bd(townships: dict[str, int]) -> int:
    return townships["DEMO-BD"]


def _middle_and_sibling(session: Any) -> tuple[int, int]:
    ids = list(session.scalars(select(School.id).order_by(School.kind == "middle", School.id)))
    middle = session.scalar(select(School.id).where(School.kind == "middle"))
    return middle, next(i for i in ids if i != middle)


def _student_fields(session: Any, school_id: int) -> dict[str, Any]:
    template = session.scalars(select(Student).where(Student.school_id == school_id).limit(1)).one()
    return {"name": "测试学生", "gender": "男", "birth_date": template.birth_date, "id_number": f"T{template.id:017d}",
            "student_number": f"GT{template.id:017d}"}


def test_a_school_cannot_insert_a_student_into_a_sibling_school(db_session: Any, bd: int) -> None:
    whole = db_session(bd)
    middle, sibling = _middle_and_sibling(whole)
    fields = _student_fields(whole, sibling)
    scoped = db_session(bd, "school", middle)
    scoped.add(Student(township_id=bd, school_id=sibling, **fields))
    with pytest.raises(ScopeViolation):
        scoped.flush()
    scoped.rollback()
    assert whole.scalar(select(func.count()).where(Student.id_number == fields["id_number"])) == 0
    # Its own school: allowed.
    scoped.add(Student(township_id=bd, school_id=middle, **fields))
    scoped.flush()


def test_a_school_cannot_move_its_student_to_a_sibling_school(db_session: Any, bd: int) -> None:
    whole = db_session(bd)
    middle, sibling = _middle_and_sibling(whole)
    scoped = db_session(bd, "school", middle)
    student = scoped.scalars(select(Student).limit(1)).one()
    student.school_id = sibling
    with pytest.raises(ScopeViolation):
        scoped.flush()


def test_bulk_writes_reach_only_the_write_scope(db_session: Any, bd: int) -> None:
    whole = db_session(bd)
    middle, sibling = _middle_and_sibling(whole)
    scoped = db_session(bd, "school", middle)
    result = scoped.execute(update(Student).where(Student.school_id == sibling).values(address="越界"))
    assert result.rowcount == 0
    with pytest.raises(ScopeViolation):
        scoped.execute(insert(Student).values(township_id=bd, school_id=sibling, **_student_fields(whole, sibling)))


def test_a_village_reads_its_residents_but_does_not_write_their_school_record(db_session: Any, bd: int) -> None:
    whole = db_session(bd)
    village = whole.scalar(select(Village.id).order_by(Village.id))
    scoped = db_session(bd, "village", village)
    student = scoped.scalars(select(Student).limit(1)).one()
    assert student.residence_village_id == village
    student.address = "改了"
    with pytest.raises(ScopeViolation):
        scoped.flush()
    scoped.rollback()
    scoped.delete(scoped.scalars(select(Student).limit(1)).one())
    with pytest.raises(ScopeViolation):
        scoped.flush()


def test_another_townships_row_is_refused_before_the_database_sees_it(db_session: Any,
                                                                      townships: dict[str, int]) -> None:
    scoped = db_session(townships["DEMO-BD"])
    scoped.add(Village(township_id=townships["DEMO-LG"], name="越界村", code=""))
    with pytest.raises(ScopeViolation):
        scoped.flush()


def test_only_the_township_level_writes_the_structure(db_session: Any, bd: int) -> None:
    whole = db_session(bd)
    middle, _ = _middle_and_sibling(whole)
    principal = db_session(bd, "school", middle)
    school = principal.get(School, middle)
    school.name = school.name + "（改）"
    with pytest.raises(ScopeViolation):
        principal.flush()


def test_teachers_see_only_their_classes(db_session: Any, bd: int) -> None:
    whole = db_session(bd)
    middle, _ = _middle_and_sibling(whole)
    classes = list(whole.scalars(select(SchoolClass.id).where(SchoolClass.school_id == middle).order_by(SchoolClass.id)))
    mine = db_session(bd, "school", middle, class_ids=classes[:2])
    assert set(mine.scalars(select(Student.class_id).distinct())) == set(classes[:2])
    assert set(mine.scalars(select(SchoolClass.id))) == set(classes[:2])
    no_classes = db_session(bd, "school", middle, class_ids=[])
    assert no_classes.scalar(select(func.count(Student.id))) == 0
    whole_school = db_session(bd, "school", middle)
    seen = set(whole_school.scalars(select(Student.class_id).distinct()))
    assert seen <= set(classes) and len(seen) > 2


def test_own_rows_reads_ones_memberships_and_nothing_else(db_session: Any, demo: Any) -> None:
    from baoxue.platform.db import TenantContext, new_session

    with cross_township_session("tests: user id", demo) as s:
        user_id = s.scalar(select(Membership.user_id).limit(1))
    session = new_session(TenantContext(user_id=user_id), demo)
    try:
        rows = session.scalars(own_rows(select(Membership), user_id)).all()
        assert rows and {m.user_id for m in rows} == {user_id}
        with pytest.raises(ScopeMissing):
            session.scalars(own_rows(select(Student), user_id)).all()
        with pytest.raises(ScopeMissing):  # the narrow read is not a switch for ordinary queries
            session.scalars(select(Membership)).all()
    finally:
        session.close()


class _OtherBase(DeclarativeBase):
    pass


class _Unguarded(TownshipOwned, _OtherBase):
    __tablename__ = "unguarded_things"
    id: Mapped[int] = mapped_column(primary_key=True)


def test_a_township_model_without_a_policy_fails_closed(db_session: Any, bd: int) -> None:
    assert _Unguarded not in Policy.registry
    with pytest.raises(PolicyMissing):
        db_session(bd).execute(select(_Unguarded))
