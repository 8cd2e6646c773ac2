"""Students by scope: a teacher reaches the classes they teach and no other, through the API and pages."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from baoxue.platform.db import cross_township_session
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import School, SchoolClass


def _student_in(demo: Any, township_id: int, class_name: str) -> int:
    with cross_township_session("tests: a student of a class", demo) as s:
        return s.scalars(
            select(Student.id).join(SchoolClass, SchoolClass.id == Student.class_id)
            .join(School, School.id == SchoolClass.school_id)
            .where(Student.township_id == township_id, School.kind == "middle", SchoolClass.name == class_name)
            .limit(1)).one()


@pytest.mark.parametrize(("username", "reached", "refused"), [
    ("bd_mid_teacher", ["七年级（1）班"], ["七年级（2）班", "九年级（1）班"]),  # a class teacher: their class
    ("bd_mid_subject", ["七年级（1）班", "七年级（2）班", "八年级（1）班"], ["九年级（1）班"]),  # the classes taught
    ("bd_mid_principal", ["七年级（2）班", "九年级（1）班"], []),  # the principal: the whole school
])
def test_teachers_reach_only_the_classes_they_teach(persona: Any, demo: Any, townships: dict[str, int],
                                                    username: str, reached: list[str], refused: list[str]) -> None:
    p = persona(username)
    for class_name in reached:
        student = _student_in(demo, townships["DEMO-BD"], class_name)
        assert p.get(f"/api/students/{student}").status_code == 200, class_name
    for class_name in refused:
        student = _student_in(demo, townships["DEMO-BD"], class_name)
        assert p.get(f"/api/students/{student}").status_code == 404, class_name


def test_a_class_teachers_list_holds_only_their_class(persona: Any) -> None:
    rows = persona("bd_mid_teacher").get("/api/students").json()
    assert rows and len({r["class_id"] for r in rows}) == 1
