"""The tenancy service: every write validates by field, audits in its transaction, stays in its township.

Each test works in a `db_session` that is rolled back at teardown, so nothing here persists.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar.exceptions import NotFoundException
from sqlalchemy import delete, event, select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.errors import InvalidInput
from baoxue.platform.identity import verify_password
from baoxue.platform.permissions import Role
from baoxue.tenants.tenancy import policy, service
from baoxue.tenants.tenancy.models import Department, Membership, MembershipClass, School, SchoolClass, User, Village
from tests.tenants.tenancy.conftest import unique as _u


@pytest.fixture
def bd(db_session: Any, townships: dict[str, int]) -> Any:
    """板当镇 as its system administrator sees it: the whole township."""
    return db_session(townships["DEMO-BD"])


@pytest.fixture
def lg(db_session: Any, townships: dict[str, int]) -> Any:
    return db_session(townships["DEMO-LG"])


def _refused(call: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as info:
        call()
    return info.value.errors


def _events(session: Any, event_name: str, entity: Any) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(
        AuditEvent.event == event_name, AuditEvent.entity_id == str(entity.id),
        AuditEvent.entity_type == entity.__tablename__)))


def _school(session: Any, kind: str) -> School:
    return next(s for s in service.list_schools(session) if s.kind == kind)


@contextmanager
def _count_queries(session: Any) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = session.get_bind()

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().lower().startswith(("select set_config", "savepoint", "release")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


# --- villages ----------------------------------------------------------------------------------

def test_village_created_and_updated_with_audit(bd: Any) -> None:
    name = f"测试村{_u()}"
    village = service.do_create_village(bd, name=f"  {name} ", code="5227")
    assert village.id and village.name == name and village.township_id is not None
    created = _events(bd, "tenancy:village:created", village)
    assert created[0].changes == {"name": name, "code": "5227", "liaison_membership_id": None}

    service.do_update_village(bd, village, name=name + "改")
    updated = _events(bd, "tenancy:village:updated", village)
    assert updated[0].changes == {"name": [name, name + "改"]}

    service.do_update_village(bd, village, name=name + "改", code="5227")  # nothing changes
    assert len(_events(bd, "tenancy:village:updated", village)) == 1


def test_village_name_required_and_unique_in_township(bd: Any, lg: Any) -> None:
    assert _refused(lambda: service.do_create_village(bd, name="  ")) == {"name": "村委会名称不能为空。"}
    errors = _refused(lambda: service.do_create_village(bd, name="板当村"))
    assert "本乡镇已有" in errors["name"]
    assert "code" in _refused(lambda: service.do_create_village(bd, name=f"村{_u()}", code="9" * 21))
    # The same name in another township is that township's business.
    assert service.do_create_village(lg, name="板当村").id


def test_village_rename_onto_another_is_refused(bd: Any) -> None:
    village = service.do_create_village(bd, name=f"测试村{_u()}")
    assert "name" in _refused(lambda: service.do_update_village(bd, village, name="板当村"))


# --- schools -----------------------------------------------------------------------------------

def test_school_created_in_a_village_and_updated(bd: Any) -> None:
    village = service.list_villages(bd)[0]
    school = service.do_create_school(bd, name=f"测试小学{_u()}", kind="primary", village_id=village.id)
    assert school.village_id == village.id
    assert _events(bd, "tenancy:school:created", school)[0].changes["kind"] == "primary"
    service.do_update_school(bd, school, kind="nine_year", village_id=None)
    assert _events(bd, "tenancy:school:updated", school)[0].changes == {
        "kind": ["primary", "nine_year"], "village_id": [village.id, None]}


def test_school_validation_names_each_field(bd: Any) -> None:
    errors = _refused(lambda: service.do_create_school(bd, name="", kind="college"))
    assert errors["name"] == "学校名称不能为空。"
    assert "学校类型无效" in errors["kind"]
    existing = service.list_schools(bd)[0]
    assert "name" in _refused(lambda: service.do_create_school(bd, name=existing.name, kind="primary"))


def test_school_in_another_townships_village_is_not_found(bd: Any, lg: Any) -> None:
    foreign = service.list_villages(lg)[0]
    with pytest.raises(NotFoundException):
        service.do_create_school(bd, name=f"测试小学{_u()}", kind="primary", village_id=foreign.id)
    school = _school(bd, "primary")
    with pytest.raises(NotFoundException):
        service.do_update_school(bd, school, village_id=foreign.id)


def test_school_kind_must_fit_its_classes(bd: Any) -> None:
    middle = _school(bd, "middle")  # has grades 7–9
    errors = _refused(lambda: service.do_update_school(bd, middle, kind="primary"))
    assert "七年级" in errors["kind"]


# --- classes -----------------------------------------------------------------------------------

def test_class_created_and_updated(bd: Any, school_year_2026: None) -> None:
    middle, u = _school(bd, "middle"), _u()
    klass = service.do_create_class(bd, school_id=middle.id, grade=7, name=f"七年级（{u}）班", entry_year=2026)
    assert klass.school_id == middle.id
    assert _events(bd, "tenancy:class:created", klass)[0].changes["school_id"] == middle.id
    service.do_update_class(bd, klass, grade=8, name=f"八年级（{u}）班", entry_year=2025)
    assert _events(bd, "tenancy:class:updated", klass)[0].changes == {
        "grade": [7, 8], "name": [f"七年级（{u}）班", f"八年级（{u}）班"], "entry_year": [2026, 2025]}


def test_a_class_name_that_says_another_grade_is_refused(bd: Any, school_year_2026: None) -> None:
    middle, u = _school(bd, "middle"), _u()
    klass = service.do_create_class(bd, school_id=middle.id, grade=7, name=f"七年级（{u}）班", entry_year=2026)
    # Moving it to grade 9 under its old name: the grade is what changed, so the grade is wrong.
    errors = _refused(lambda: service.do_update_class(bd, klass, grade=9, entry_year=2024))
    assert set(errors) == {"grade"} and "七年级" in errors["grade"] and "九年级" in errors["grade"]
    for name in (f"八年级（{u}）班", f"八（{u}）班", f"初二（{u}）班", f"8年级{u}班"):
        errors = _refused(lambda name=name: service.do_update_class(bd, klass, name=name))
        assert set(errors) == {"name"} and "七年级" in errors["name"], name
    assert service.do_update_class(bd, klass, name=f"初一（{u}）班").name == f"初一（{u}）班"
    assert service.do_update_class(bd, klass, name=f"火箭{u}班").name == f"火箭{u}班"  # says no grade


def test_an_entry_year_that_contradicts_the_grade_is_refused(bd: Any, school_year_2026: None) -> None:
    middle, primary, u = _school(bd, "middle"), _school(bd, "primary"), _u()
    errors = _refused(lambda: service.do_create_class(bd, school_id=middle.id, grade=9, name=f"九年级（{u}）班",
                                                      entry_year=2026))
    assert set(errors) == {"entry_year"} and "2024" in errors["entry_year"]
    errors = _refused(lambda: service.do_create_class(bd, school_id=primary.id, grade=3, name=f"三年级（{u}）班",
                                                      entry_year=2018))
    assert "2024" in errors["entry_year"]
    klass = service.do_create_class(bd, school_id=primary.id, grade=3, name=f"三年级（{u}）班", entry_year=2024)
    errors = _refused(lambda: service.do_update_class(bd, klass, grade=4, name=f"四年级（{u}）班"))
    assert set(errors) == {"grade"} and "2023" in errors["grade"]


def test_the_school_year_turns_on_the_first_of_september(bd: Any) -> None:
    from datetime import datetime

    from baoxue.platform.clock import CHINA, clock

    middle, u = _school(bd, "middle"), _u()
    try:
        clock.freeze(datetime(2027, 8, 31, 23, 30, tzinfo=CHINA))  # still the 2026–2027 school year
        assert service.do_create_class(bd, school_id=middle.id, grade=7, name=f"七年级（{u}）班",
                                       entry_year=2026).entry_year == 2026
        clock.freeze(datetime(2027, 9, 1, 0, 30, tzinfo=CHINA))  # 2027–2028 (16:30 UTC the day before)
        errors = _refused(lambda: service.do_create_class(bd, school_id=middle.id, grade=7,
                                                          name=f"七年级（{u}b）班", entry_year=2026))
        assert "2027–2028 学年" in errors["entry_year"]
    finally:
        clock.unfreeze()


def test_a_nine_year_school_may_count_its_upper_grades_from_either_start(bd: Any, school_year_2026: None) -> None:
    school = service.do_create_school(bd, name=f"九年制{_u()}", kind="nine_year")
    for year in (2025, 2019):
        assert service.do_create_class(bd, school_id=school.id, grade=8, name=f"八年级（{year}）班",
                                       entry_year=year)
    assert "entry_year" in _refused(lambda: service.do_create_class(bd, school_id=school.id, grade=8,
                                                                    name="八年级（3）班", entry_year=2022))


def test_class_grade_must_fit_the_school_kind(bd: Any, school_year_2026: None) -> None:
    middle, primary = _school(bd, "middle"), _school(bd, "primary")
    errors = _refused(lambda: service.do_create_class(bd, school_id=middle.id, grade=3, name="三（9）班",
                                                      entry_year=2024))
    assert "初级中学" in errors["grade"]
    errors = _refused(lambda: service.do_create_class(bd, school_id=primary.id, grade=7, name="七（9）班",
                                                      entry_year=2026))
    assert "小学" in errors["grade"]
    errors = _refused(lambda: service.do_create_class(bd, school_id=primary.id, grade=12, name="", entry_year=1800))
    assert set(errors) == {"grade", "name", "entry_year"}
    assert errors["name"] == "班级名称不能为空。"


def test_class_name_unique_within_its_school(bd: Any) -> None:
    existing = service.list_classes(bd)[0]
    errors = _refused(lambda: service.do_create_class(bd, school_id=existing.school_id, grade=existing.grade,
                                                      name=existing.name, entry_year=existing.entry_year))
    assert "已有名为" in errors["name"]


def test_class_of_another_townships_school_is_not_found(bd: Any, lg: Any) -> None:
    foreign = _school(lg, "middle")
    with pytest.raises(NotFoundException):
        service.do_create_class(bd, school_id=foreign.id, grade=7, name="探针班", entry_year=2026)
    assert bd.scalar(select(SchoolClass.id).where(SchoolClass.name == "探针班")) is None


# --- departments -------------------------------------------------------------------------------

def test_department_duty_unique_and_name_defaults(bd: Any, lg: Any) -> None:
    errors = _refused(lambda: service.do_create_department(bd, duty_code="police"))
    assert "派出所" in errors["duty_code"]
    assert "duty_code" in _refused(lambda: service.do_create_department(bd, duty_code="army"))
    department = service.list_departments(bd)[0]
    service.do_update_department(bd, department, name=department.name + "（改）")
    assert _events(bd, "tenancy:department:updated", department)[0].changes["name"][1].endswith("（改）")


def test_department_created_with_the_duty_name(bd: Any) -> None:
    # Every duty of the demo township has its department: free one inside this test's
    # transaction (rolled back at teardown) rather than committing a new township.
    youth = next(d for d in service.list_departments(bd) if d.duty_code == "youth_league")
    bd.execute(delete(Membership).where(Membership.department_id == youth.id))
    bd.execute(delete(Department).where(Department.id == youth.id))
    department = service.do_create_department(bd, duty_code="youth_league")
    assert department.name == "团委"
    assert _events(bd, "tenancy:department:created", department)[0].changes == {
        "duty_code": "youth_league", "name": "团委"}


# --- people and memberships --------------------------------------------------------------------

def test_person_created_with_a_hashed_password(bd: Any) -> None:
    user = service.do_create_person(bd, username=f"t_{_u()}", display_name="王测试", phone="13800000000",
                                    password="Baoxue2026x")
    assert user.password_hash != "Baoxue2026x" and verify_password(user.password_hash, "Baoxue2026x")
    event_row = _events(bd, "tenancy:person:created", user)[0]
    assert event_row.changes == {"username": user.username, "display_name": "王测试"}


def test_person_validation_names_each_field(bd: Any) -> None:
    errors = _refused(lambda: service.do_create_person(bd, username="bd_admin", display_name="", phone="123",
                                                       password="short"))
    assert errors["username"] == "用户名已被使用。"
    assert errors["display_name"] == "姓名不能为空。"
    assert "手机号" in errors["phone"]
    assert "初始密码" in errors["password"]
    # Usernames are global: another township's login is taken too, whatever the case.
    assert _refused(lambda: service.do_create_person(bd, username="LG_ADMIN", display_name="甲",
                                                     password="Baoxue2026x"))["username"] == "用户名已被使用。"
    assert "username" in _refused(lambda: service.do_create_person(bd, username="王 五", display_name="王五",
                                                                   password="Baoxue2026x"))


def test_person_with_membership_reports_everything_at_once(bd: Any) -> None:
    errors = _refused(lambda: service.do_create_person_with_membership(
        bd, username="bd_admin", display_name="甲", password="Baoxue2026x", role="class_teacher"))
    assert errors == {"username": "用户名已被使用。", "school_id": "班主任需要选择所属学校。"}
    assert "role" in _refused(lambda: service.do_create_person_with_membership(
        bd, username=f"t_{_u()}", display_name="甲", password="Baoxue2026x", role="emperor"))


def test_class_teacher_from_the_class_alone(bd: Any) -> None:
    klass = service.list_classes(bd)[0]
    user, membership = service.do_create_person_with_membership(
        bd, username=f"t_{_u()}", display_name="李老师", password="Baoxue2026x", role=Role.CLASS_TEACHER,
        class_ids=[klass.id], title="班主任")
    assert (membership.school_id, membership.user_id) == (klass.school_id, user.id)
    taught = bd.scalars(select(MembershipClass.class_id).where(MembershipClass.membership_id == membership.id))
    assert list(taught) == [klass.id]
    assert _events(bd, "tenancy:membership:added", membership)[0].changes["class_ids"] == [klass.id]


def test_subject_teacher_names_several_classes_of_one_school(bd: Any) -> None:
    school = _school(bd, "middle")
    classes = service.list_classes(bd, school_id=school.id)[:3]
    user = service.do_create_person(bd, username=f"t_{_u()}", display_name="周老师", password="Baoxue2026x")
    membership = service.do_add_membership(bd, user=user, role="subject_teacher", school_id=school.id,
                                           class_ids=[c.id for c in classes])
    row = next(r for r in service.list_people(bd, user_id=user.id) if r.membership_id == membership.id)
    assert set(row.class_ids) == {c.id for c in classes} and len(row.class_names) == 3


def test_membership_unit_rules(bd: Any) -> None:
    user = service.do_create_person(bd, username=f"t_{_u()}", display_name="赵测试", password="Baoxue2026x")
    school = _school(bd, "middle")
    other = _school(bd, "primary")
    village = service.list_villages(bd)[0]
    foreign_class = service.list_classes(bd, school_id=other.id)[0]
    cases = [
        ({"role": "leader", "school_id": school.id}, "school_id"),
        ({"role": "village_cadre"}, "village_id"),
        ({"role": "department_staff", "village_id": village.id}, "village_id"),
        ({"role": "principal", "school_id": school.id, "class_ids": [foreign_class.id]}, "class_ids"),
        ({"role": "class_teacher", "school_id": school.id, "class_ids": [foreign_class.id]}, "class_ids"),
    ]
    for kwargs, field in cases:
        errors = _refused(lambda kwargs=kwargs: service.do_add_membership(bd, user=user, **kwargs))
        assert field in errors, (kwargs, errors)
    assert "department_id" in _refused(lambda: service.do_add_membership(bd, user=user, role="department_staff"))


def test_membership_added_once_then_deactivated(bd: Any) -> None:
    user = service.do_create_person(bd, username=f"t_{_u()}", display_name="钱测试", password="Baoxue2026x")
    village = service.list_villages(bd)[1]
    membership = service.do_add_membership(bd, user=user, role="village_cadre", village_id=village.id, title="文书")
    assert membership.village_id == village.id and membership.title == "文书"
    errors = _refused(lambda: service.do_add_membership(bd, user=user, role="village_cadre", village_id=village.id))
    assert "已经是村干部" in errors["role"]
    service.do_deactivate_membership(bd, membership)
    service.do_deactivate_membership(bd, membership)  # idempotent: one audit row
    assert not membership.is_active
    assert len(_events(bd, "tenancy:membership:deactivated", membership)) == 1


def test_membership_unit_of_another_township_is_not_found(bd: Any, lg: Any) -> None:
    user = service.do_create_person(bd, username=f"t_{_u()}", display_name="孙测试", password="Baoxue2026x")
    for model, field in ((School, "school_id"), (Village, "village_id"), (Department, "department_id"),
                         (SchoolClass, "class_ids")):
        foreign_id = lg.scalar(select(model.id).limit(1))
        value = [foreign_id] if field == "class_ids" else foreign_id
        with pytest.raises(NotFoundException):
            service.do_add_membership(bd, user=user, role="principal", **{field: value})
    assert bd.scalar(select(Membership.id).where(Membership.user_id == user.id)) is None


def test_access_user_only_in_this_township(bd: Any, lg: Any) -> None:
    lg_admin = lg.scalar(select(User.id).where(User.username == "lg_admin"))
    with pytest.raises(NotFoundException):
        policy.access_user(bd, lg_admin)
    assert policy.access_user(lg, lg_admin).username == "lg_admin"


# --- reads -------------------------------------------------------------------------------------

def test_lists_take_a_fixed_number_of_queries(bd: Any) -> None:
    # The people list reads its memberships, then every listed teacher's classes at once.
    for read, queries in ((service.list_villages, 1), (service.list_schools, 1), (service.list_classes, 1),
                          (service.list_departments, 1), (service.list_people, 2)):
        with _count_queries(bd) as statements:
            rows = read(bd)
        assert rows and len(statements) == queries, (read.__name__, statements)


def test_people_list_joins_names_and_narrows_to_a_school(bd: Any, db_session: Any, townships: dict[str, int]) -> None:
    rows = service.list_people(bd)
    teacher = next(r for r in rows if r.username == "bd_mid_teacher")
    assert teacher.role == Role.CLASS_TEACHER and teacher.unit_name.endswith("中学") and teacher.class_name
    police = next(r for r in rows if r.username == "bd_police")
    assert police.unit_name == "派出所"
    assert all(r.username.startswith("bd_") or not r.username.startswith("lg_") for r in rows)

    school_id = teacher.school_id
    principal = db_session(townships["DEMO-BD"], "school", school_id)
    seen = service.list_people(principal)
    assert seen and {r.school_id for r in seen} == {school_id}
    assert "bd_leader" not in {r.username for r in seen}


@pytest.mark.parametrize("name", ["\u200b\u200b", "\u202e村当板", "板当\u0002村", "板当\u0000村"])
def test_names_with_invisible_or_control_characters_are_refused(bd: Any, name: str) -> None:
    """A "\\u0002" in a village name once broke every xlsx export; it never gets stored now."""
    assert "name" in _refused(lambda: service.do_create_village(bd, name=name))
    assert "name" in _refused(lambda: service.do_create_school(bd, name=name, kind="primary"))
    assert "display_name" in _refused(lambda: service.do_create_person(
        bd, username=f"ctl_{_u()}", display_name=name, password="Ctl2026pass"))


def test_names_are_stored_composed_and_trimmed(bd: Any) -> None:
    village = service.do_create_village(bd, name=f" Cafe\u0301{_u()} ")
    assert village.name.startswith("Caf\u00e9") and village.name == village.name.strip()


@pytest.mark.parametrize("username", ["ab\nc", "abc\u0000", "ab\u200bc"])
def test_usernames_with_control_characters_are_refused(bd: Any, username: str) -> None:
    assert "username" in _refused(lambda: service.do_create_person(
        bd, username=username, display_name="测试", password="Ctl2026pass"))
