"""The service-layer scope: township on every backend, unit inside the township, fails closed."""

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from baoxue.platform.db import TenantContext, new_session
from baoxue.platform.scoping import ScopeMissing
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import Membership, School, SchoolClass


def test_a_query_with_no_scope_raises(demo: Any) -> None:
    session = new_session(TenantContext(), demo)
    try:
        with pytest.raises(ScopeMissing):
            session.scalars(select(Student)).all()
    finally:
        session.close()


def test_township_scope_sees_only_its_township(db_session: Any, townships: dict[str, int]) -> None:
    a = db_session(townships["DEMO-BD"])
    assert set(a.scalars(select(Student.township_id).distinct())) == {townships["DEMO-BD"]}
    assert a.scalar(select(func.count(Student.id))) > 1500


def test_school_scope_sees_only_its_students_even_through_joins_and_aliases(db_session: Any,
                                                                            townships: dict[str, int]) -> None:
    whole = db_session(townships["DEMO-BD"])
    school_id = whole.scalars(select(School.id).where(School.kind == "middle").order_by(School.id).limit(1)).one()
    scoped = db_session(townships["DEMO-BD"], "school", school_id)
    assert set(scoped.scalars(select(Student.school_id).distinct())) == {school_id}
    other = aliased(Student)
    joined = scoped.execute(select(SchoolClass.school_id, other.school_id)
                            .join(other, other.class_id == SchoolClass.id)).all()
    assert joined and {row[1] for row in joined} == {school_id} and {row[0] for row in joined} == {school_id}
    assert set(scoped.scalars(select(Membership.school_id).distinct())) == {school_id}


def test_village_scope_sees_its_residents(db_session: Any, townships: dict[str, int]) -> None:
    whole = db_session(townships["DEMO-BD"])
    village_id = whole.scalars(select(Student.residence_village_id).limit(1)).one()
    scoped = db_session(townships["DEMO-BD"], "village", village_id)
    assert set(scoped.scalars(select(Student.residence_village_id).distinct())) == {village_id}


def test_department_scope_sees_no_student_until_referred(db_session: Any, townships: dict[str, int]) -> None:
    scoped = db_session(townships["DEMO-BD"], "department", 1)
    assert scoped.scalar(select(func.count(Student.id))) == 0


def test_bulk_update_is_scoped_too(db_session: Any, townships: dict[str, int]) -> None:
    from sqlalchemy import update

    whole = db_session(townships["DEMO-BD"])
    school_id = whole.scalars(select(School.id).where(School.kind == "middle").order_by(School.id).limit(1)).one()
    scoped = db_session(townships["DEMO-BD"], "school", school_id)
    result = scoped.execute(update(Student).values(phone=Student.phone))
    assert result.rowcount == whole.scalar(select(func.count(Student.id)).where(Student.school_id == school_id))
    scoped.rollback()


def test_cached_criteria_take_each_scopes_own_values(db_session: Any, townships: dict[str, int]) -> None:
    """The criteria are cached lambdas: a second school must not inherit the first one's id."""
    whole = db_session(townships["DEMO-BD"])
    school_ids = list(whole.scalars(select(School.id).order_by(School.id)))
    for school_id in school_ids:
        scoped = db_session(townships["DEMO-BD"], "school", school_id)
        # A school holds its own roll and the children a transfer is bringing to it.
        held = set(scoped.execute(select(Student.school_id, Student.incoming_school_id).distinct()))
        assert all(school_id in pair for pair in held)
        assert set(scoped.scalars(select(SchoolClass.school_id).distinct())) <= {school_id}
    b = db_session(townships["DEMO-LG"])
    assert set(b.scalars(select(Student.township_id).distinct())) == {townships["DEMO-LG"]}
