"""The demo seed on its own fresh SQLite database (the shared `demo` fixture uses the suite's)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from baoxue.platform.clock import school_year
from baoxue.platform.db import cross_township_session
from baoxue.platform.identity import verify_password
from baoxue.platform.permissions import DutyCode, Role
from baoxue.tenants.students.idnumbers import birth_date_of, gender_of, is_valid_id_number
from baoxue.tenants.students.models import Student
from baoxue.platform.demo import seed_demo
from baoxue.tenants.tenancy.demo import DEMO_PASSWORD, DEMO_USERS, LOGINS_TEXT
from baoxue.tenants.tenancy.models import (
    Department, Membership, MembershipClass, School, SchoolClass, Township, User, Village,
)

CODES = ("DEMO-BD", "DEMO-LG")


def _fresh_database(monkeypatch: pytest.MonkeyPatch, data_dir: Any) -> Any:
    from baoxue.platform import migrate
    from baoxue.platform.settings import get_settings, reset_settings_cache

    monkeypatch.setenv("BAOXUE_ENV", "test")
    monkeypatch.setenv("BAOXUE_DATA_DIR", str(data_dir))
    for name in ("BAOXUE_DATABASE_URL", "BAOXUE_DATABASE_ADMIN_URL", "BAOXUE_REDIS_URL"):
        monkeypatch.setenv(name, "")
    reset_settings_cache()
    settings = get_settings()
    migrate.upgrade(settings=settings)
    return settings


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from baoxue.platform.settings import reset_settings_cache

    with pytest.MonkeyPatch.context() as monkeypatch:
        settings = _fresh_database(monkeypatch, tmp_path_factory.mktemp("demo"))
        first = seed_demo(settings)
        before = _counts(settings)
        second = seed_demo(settings)
        yield {"settings": settings, "first": first, "second": second, "before": before}
    reset_settings_cache()


def _counts(settings: Any) -> dict[str, int]:
    with cross_township_session("tests: demo counts", settings) as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (Township, Village, School, SchoolClass, Department, User, Membership, Student)}


@pytest.fixture
def s(seeded: dict[str, Any]) -> Iterator[Any]:
    with cross_township_session("tests: demo checks", seeded["settings"]) as session:
        yield session


def test_seeding_twice_changes_nothing(seeded):
    assert seeded["first"] is True
    assert seeded["second"] is False
    assert _counts(seeded["settings"]) == seeded["before"]


def test_two_townships_shaped_like_the_seeds(s):
    townships = {t.code: t for t in s.scalars(select(Township))}
    assert set(townships) == set(CODES)
    assert townships["DEMO-BD"].name == "板当镇"
    assert townships["DEMO-BD"].county == "某县"
    for t in townships.values():
        villages = s.scalars(select(Village).where(Village.township_id == t.id)).all()
        assert len(villages) == 8
        assert all(v.name.endswith("村") for v in villages)
        kinds = Counter(s.scalars(select(School.kind).where(School.township_id == t.id)))
        assert kinds == {"middle": 1, "central_primary": 1, "primary": 5}
        departments = dict(s.execute(select(Department.duty_code, Department.name)
                                     .where(Department.township_id == t.id)).all())
        assert departments == {d.value: d.label for d in DutyCode}


def test_classes_follow_the_school_year(s):
    grade_names = "一二三四五六七八九"
    rows = s.execute(select(SchoolClass, School.kind).join(School, School.id == SchoolClass.school_id)).all()
    sizes = dict(s.execute(select(Student.class_id, func.count()).group_by(Student.class_id)).all())
    for school_class, kind in rows:
        grade = school_class.grade
        assert grade in ((7, 8, 9) if kind == "middle" else (1, 2, 3, 4, 5, 6))
        first_grade = 7 if kind == "middle" else 1
        assert school_class.entry_year == school_year() - (grade - first_grade)
        assert re.fullmatch(f"{grade_names[grade - 1]}年级（[1-9]）班", school_class.name)
        assert 30 <= sizes[school_class.id] <= 50
    per_grade = Counter((c.school_id, c.grade) for c, _ in rows)
    kinds = dict(s.execute(select(School.id, School.kind)).all())
    for (school_id, _grade), n in per_grade.items():
        assert n <= (4 if kinds[school_id] == "middle" else 3)


def test_students_are_plausible_and_consistent(s):
    schools = dict(s.execute(select(School.id, School.township_id)).all())
    villages = dict(s.execute(select(Village.id, Village.township_id)).all())
    classes = {c.id: c for c in s.scalars(select(SchoolClass))}
    students = s.scalars(select(Student)).all()
    per_township = Counter(st.township_id for st in students)
    assert len(per_township) == 2
    assert all(1800 <= n <= 2300 for n in per_township.values())
    # The census demo's own records (a child found on no roll, one who left school, a second record
    # of a pupil in the other township: 重复学籍) carry no address; tests/tenants/census checks them.
    students = [st for st in students if st.address]
    assert len({st.id_number for st in students}) == len(students)
    for st in students:
        assert is_valid_id_number(st.id_number), st.id_number
        assert st.birth_date == birth_date_of(st.id_number)
        assert st.gender == gender_of(st.id_number)
        assert st.student_number == "G" + st.id_number
        # The status-changes demo suspends one child and transfers one out of each township.
        assert st.status in ("01", "02", "10") and st.id_type == "1"
        school_class = classes[st.class_id]
        assert school_class.school_id == st.school_id
        assert schools[st.school_id] == st.township_id == villages[st.residence_village_id]
        # Born September to August, six years before the grade's first September.
        year = school_year() - 6 - school_class.grade
        assert date(year, 9, 1) <= st.birth_date <= date(year + 1, 8, 31)
        assert st.left_behind in (0, 1, 2)
        assert re.fullmatch(r"1[358]\d{9}", st.guardian.phone) and st.phone == st.family1.phone
        assert st.guardian.name and st.guardian.is_guardian and st.family2.name
        assert st.address.startswith(("板当镇", "龙岗乡")) and st.entry_month.startswith("20")
        assert st.ethnicity and st.hukou_place.startswith("贵州省") and st.distance_km > 0
        assert 2 <= len(st.name) <= 4
    share = len(students)
    assert 0 < sum(st.status != "01" for st in students) <= 10
    assert 0.25 <= sum(st.left_behind > 0 for st in students) / share <= 0.35
    # Both parents away: the child lives with a grandparent, and the father's work unit is elsewhere.
    both_away = [st for st in students if st.left_behind == 2]
    assert all(st.family1.relation in ("祖父", "祖母") and st.family2.work_unit != "务农" for st in both_away)
    assert 0.05 <= sum(st.is_poor_household for st in students) / share <= 0.11
    assert 0.30 <= Counter(st.gender for st in students)["女"] / share <= 0.70
    assert any("随祖" in st.family_circumstances for st in students)


def test_primary_schools_draw_from_nearby_villages(s):
    spread = Counter()
    for school_id, kind, village_id in s.execute(select(School.id, School.kind, Student.residence_village_id)
                                                 .join(Student, Student.school_id == School.id)):
        spread[(school_id, kind, village_id)] += 1
    villages_of = Counter((school_id, kind) for school_id, kind, _ in spread)
    for (_school_id, kind), n in villages_of.items():
        if kind == "middle":
            assert n == 8
        else:
            assert n <= 2


def test_every_role_in_every_township(s):
    for township_id in s.scalars(select(Township.id)):
        roles = set(s.scalars(select(Membership.role).where(Membership.township_id == township_id)))
        assert roles == {r.value for r in Role}
        duties = set(s.scalars(select(Department.duty_code)
                               .join(Membership, Membership.department_id == Department.id)
                               .where(Membership.township_id == township_id)))
        assert {DutyCode.POLICE.value, DutyCode.JUSTICE.value} <= duties


def test_memberships_point_at_units_of_their_kind(s):
    classes = dict(s.execute(select(SchoolClass.id, SchoolClass.school_id)).all())
    taught: dict[int, list[int]] = {}
    for membership_id, class_id in s.execute(select(MembershipClass.membership_id, MembershipClass.class_id)):
        taught.setdefault(membership_id, []).append(class_id)
    for m in s.scalars(select(Membership)):
        kind = Role(m.role).unit_kind.value
        assert (m.school_id is not None) == (kind == "school")
        assert (m.village_id is not None) == (kind == "village")
        assert (m.department_id is not None) == (kind == "department")
        # Class and subject teachers name the classes they teach, in their own school; no one else does.
        assert bool(taught.get(m.id)) == (m.role in (Role.CLASS_TEACHER, Role.SUBJECT_TEACHER))
        assert all(classes[c] == m.school_id for c in taught.get(m.id, ()))


def test_one_person_holds_two_memberships(s):
    rows = s.execute(select(User.username, Membership.role)
                     .join(Membership, Membership.user_id == User.id)).all()
    roles_of: dict[str, set[str]] = {}
    for username, role in rows:
        roles_of.setdefault(username, set()).add(role)
    doubles = {username: roles for username, roles in roles_of.items() if len(roles) > 1}
    assert doubles == {"bd_cps_principal": {"principal", "office_staff"},
                       "lg_cps_principal": {"principal", "office_staff"}}


def test_demo_users_describe_the_database(s):
    from baoxue.tenants.tenancy.models import CountyMembership

    county_viewers = set(s.scalars(select(CountyMembership.user_id)))
    users = {u.username: u for u in s.scalars(select(User)) if u.id not in county_viewers}
    assert set(users) == {u["username"] for u in DEMO_USERS}
    assert county_viewers and not s.scalars(select(Membership).where(Membership.user_id.in_(county_viewers))).all()
    township_codes = dict(s.execute(select(Township.id, Township.code)).all())
    for info in DEMO_USERS:
        user = users[info["username"]]
        assert user.display_name == info["display_name"]
        memberships = s.scalars(select(Membership).where(Membership.user_id == user.id)
                                .order_by(Membership.id)).all()
        assert [m.role for m in memberships] == [m["role"] for m in info["memberships"]]
        assert {township_codes[m.township_id] for m in memberships} == {info["township_code"]}
        assert info["username"].startswith({"DEMO-BD": "bd_", "DEMO-LG": "lg_"}[info["township_code"]])


def test_the_demo_password_works_for_everyone(s):
    hashes = set(s.scalars(select(User.password_hash)))
    assert len(hashes) == 1  # hashed once and shared: argon2 is slow on purpose
    assert verify_password(hashes.pop(), DEMO_PASSWORD)
    assert DEMO_PASSWORD == "baoxue2026"


def test_logins_text_names_the_main_logins():
    for needle in ("baoxue2026", "bd_leader", "bd_office", "bd_admin", "bd_police", "bd_mid_teacher",
                   "bd_cps_principal", "lg_"):
        assert needle in LOGINS_TEXT


def test_the_seed_is_deterministic(seeded, tmp_path):
    def fingerprint(settings: Any) -> list[tuple[Any, ...]]:
        with cross_township_session("tests: demo fingerprint", settings) as session:
            return session.execute(
                select(Student.id_number, Student.name, Student.family1_phone, SchoolClass.name, School.name)
                .join(SchoolClass, SchoolClass.id == Student.class_id)
                .join(School, School.id == Student.school_id)
                .order_by(Student.id)
            ).all()

    from baoxue.platform.settings import reset_settings_cache

    with pytest.MonkeyPatch.context() as monkeypatch:
        other = _fresh_database(monkeypatch, tmp_path)
        assert seed_demo(other) is True
        assert fingerprint(other) == fingerprint(seeded["settings"])
    reset_settings_cache()
