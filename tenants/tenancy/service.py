"""Reads and writes of the township's structure: villages, schools, classes, departments, people.

Lookups name their township (`get_*_in_township`); routes call `access_*`, which fetch through
the scope and answer "missing", "another township's" and "not yours" with the same 404.

Every write is a `do_*` function: it validates (raising `InvalidInput` naming the field, in
Chinese), resolves any unit it refers to through `access` (another township's id is a 404,
never a hint that the id exists), writes its audit row in the same transaction, and flushes.
It never commits: the request (or the import) is the transaction, so a refused write leaves
nothing behind. The `*_problem` validators are pure and shared with the Excel import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baoxue.platform import audit
from baoxue.platform.clock import clock, school_year
from baoxue.platform.access import access
from baoxue.platform.db import tenant_of, township_id_of
from baoxue.platform.errors import InvalidInput
from baoxue.platform.identity import hash_password, password_problem
from baoxue.platform.text import normalise, text_refusal
from baoxue.platform.permissions import CLASS_BOUND_ROLES, DUTY_LABELS, ROLE_LABELS, DutyCode, Role, UnitKind
from baoxue.tenants.tenancy.events import Event
from baoxue.tenants.tenancy.models import (
    SCHOOL_KINDS,
    Department,
    Membership,
    MembershipClass,
    School,
    SchoolClass,
    User,
    Village,
)

# Grades a school of each kind teaches (national grade numbers: 1–6 primary, 7–9 junior middle).
SCHOOL_GRADES: dict[str, range] = {
    "central_primary": range(1, 7),
    "primary": range(1, 7),
    "middle": range(7, 10),
    "nine_year": range(1, 10),
}
GRADE_NAMES = ("", "一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级")
FIRST_ENTRY_YEAR = 2000

VILLAGE_FIELDS = ("name", "code", "liaison_membership_id")
SCHOOL_FIELDS = ("name", "kind", "code", "village_id")
CLASS_FIELDS = ("grade", "name", "entry_year")  # a class never moves to another school
DEPARTMENT_FIELDS = ("duty_code", "name")

_USERNAME = re.compile(r"[A-Za-z0-9_.\-]{3,64}")
_MOBILE = re.compile(r"^1\d{10}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


# --- lookups ---------------------------------------------------------------------------------

def visible_schools(session: Session) -> list[School]:
    """The schools an actor works with: their own for school staff, all of the township else."""
    scope = tenant_of(session).scope
    query = select(School).order_by(School.id)
    if scope is not None and scope.is_school():
        query = query.where(School.id == scope.unit_id)
    return list(session.scalars(query))


# --- reads for lists: one query each -----------------------------------------------------------

def list_villages(session: Session) -> list[Village]:
    return list(session.scalars(select(Village).order_by(Village.code, Village.name, Village.id)))


def list_schools(session: Session) -> list[School]:
    return list(session.scalars(select(School).order_by(School.id)))


def list_classes(session: Session, school_id: int | None = None) -> list[SchoolClass]:
    query = select(SchoolClass).order_by(SchoolClass.school_id, SchoolClass.grade, SchoolClass.name)
    if school_id is not None:
        query = query.where(SchoolClass.school_id == school_id)
    return list(session.scalars(query))


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.id)))


@dataclass(frozen=True)
class PersonRow:
    """One membership with its person and the names of its units: a row of the people list."""

    membership_id: int
    user_id: int
    username: str
    display_name: str
    phone: str
    role: Role
    title: str
    is_active: bool
    school_id: int | None
    school_name: str
    village_id: int | None
    village_name: str
    department_id: int | None
    department_name: str
    class_ids: tuple[int, ...]
    class_names: tuple[str, ...]

    @property
    def class_name(self) -> str:
        return "、".join(self.class_names)

    @property
    def role_label(self) -> str:
        return self.role.label

    @property
    def unit_kind(self) -> UnitKind:
        return self.role.unit_kind

    @property
    def unit_id(self) -> int | None:
        return {UnitKind.SCHOOL: self.school_id, UnitKind.VILLAGE: self.village_id,
                UnitKind.DEPARTMENT: self.department_id}.get(self.unit_kind)

    @property
    def unit_name(self) -> str:
        return {UnitKind.SCHOOL: self.school_name, UnitKind.VILLAGE: self.village_name,
                UnitKind.DEPARTMENT: self.department_name}.get(self.unit_kind, "")


_UNIT_ORDER = {UnitKind.TOWNSHIP: 0, UnitKind.DEPARTMENT: 1, UnitKind.VILLAGE: 2, UnitKind.SCHOOL: 3}
_ROLE_ORDER = {role: i for i, role in enumerate(Role)}


def list_people(session: Session, *, user_id: int | None = None, active_only: bool = True) -> list[PersonRow]:
    """Memberships in scope joined with their person and unit names, and their classes: two queries.

    The scope listener narrows memberships (a principal sees their own school's) and adds the
    township to every outer-joined unit, so a name can never come from another township.
    """
    query = (
        select(Membership, User.username, User.display_name, User.phone, School.name, Village.name,
               Department.name)
        .join(User, User.id == Membership.user_id)
        .outerjoin(School, School.id == Membership.school_id)
        .outerjoin(Village, Village.id == Membership.village_id)
        .outerjoin(Department, Department.id == Membership.department_id)
    )
    if active_only:
        query = query.where(Membership.is_active.is_(True))
    if user_id is not None:
        query = query.where(Membership.user_id == user_id)
    found = session.execute(query).all()
    taught = _classes_of(session, [row[0].id for row in found])
    rows = [
        PersonRow(
            membership_id=m.id, user_id=m.user_id, username=username, display_name=display_name,
            phone=phone or "", role=Role(m.role), title=m.title, is_active=m.is_active,
            school_id=m.school_id, school_name=school or "", village_id=m.village_id, village_name=village or "",
            department_id=m.department_id, department_name=department or "",
            class_ids=tuple(c for c, _ in taught.get(m.id, ())), class_names=tuple(n for _, n in taught.get(m.id, ())),
        )
        for m, username, display_name, phone, school, village, department in found
    ]
    # Sorted here rather than in SQL: NULL ordering differs between PostgreSQL and SQLite.
    rows.sort(key=lambda r: (_UNIT_ORDER[r.unit_kind], r.unit_name, _ROLE_ORDER[r.role], r.class_name,
                             r.username))
    return rows


def _classes_of(session: Session, membership_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """{membership id: [(class id, class name), ...]} in grade and name order."""
    taught: dict[int, list[tuple[int, str]]] = {}
    if not membership_ids:
        return taught
    for membership_id, class_id, name in session.execute(
            select(MembershipClass.membership_id, SchoolClass.id, SchoolClass.name)
            .join(SchoolClass, SchoolClass.id == MembershipClass.class_id)
            .where(MembershipClass.membership_id.in_(membership_ids))
            .order_by(SchoolClass.grade, SchoolClass.name)):
        taught.setdefault(membership_id, []).append((class_id, name))
    return taught


# --- pure validators (shared with the Excel import) --------------------------------------------

def text_problem(value: str, *, label: str, max_length: int, required: bool = True) -> str | None:
    """The platform's one text check: empty or invisible, control characters, length."""
    return text_refusal(value, label=label, max_length=max_length, required=required)


def kind_problem(kind: str) -> str | None:
    if kind not in SCHOOL_KINDS:
        return "学校类型无效，应为：" + "、".join(SCHOOL_KINDS.values()) + "。"
    return None


def grade_problem(kind: str, grade: Any, *, name: str = "") -> str | None:
    """The grade a class of a school of `kind` may have; with `name`, also whether the name agrees.

    A name that says a grade ("七年级（1）班", "七（1）班", "初一（2）班", "7年级1班") must say
    this one; a name without one ("火箭班") says nothing about it.
    """
    if not isinstance(grade, int) or isinstance(grade, bool) or not 1 <= grade <= 9:
        return "年级应为 1 到 9 的整数（一年级到九年级）。"
    allowed = SCHOOL_GRADES.get(kind)
    if allowed is not None and grade not in allowed:
        return (f"{SCHOOL_KINDS[kind]}只有{GRADE_NAMES[allowed[0]]}到{GRADE_NAMES[allowed[-1]]}，"
                f"不能设{GRADE_NAMES[grade]}。")
    numerals = "一二三四五六七八九"
    said = {numerals.index(m) + 1 for m in re.findall(rf"([{numerals}])年级", name)}
    said |= {int(m) for m in re.findall(r"(?<!\d)([1-9])年级", name)}
    said |= {numerals.index(m) + 7 for m in re.findall(r"初([一二三])", name)}
    if leading := re.match(rf"([{numerals}1-9])[（(]", name):
        said.add(int(leading.group(1)) if leading.group(1).isdigit() else numerals.index(leading.group(1)) + 1)
    if said - {grade}:
        wrong = GRADE_NAMES[min(said - {grade})]
        return f"班级名称“{name}”是{wrong}的，与所选年级（{GRADE_NAMES[grade]}）不一致，请改正其中之一。"
    return None


def entry_year_problem(year: Any, *, grade: Any = None, kind: str = "") -> str | None:
    """A plausible entry year; with `grade`, the one a class of that grade has this school year.

    China's school year starts on 1 September. A class counts its entry from the first grade of
    its stage: a 2026–2027 七年级 entered (junior middle school) in 2026, an 八年级 in 2025, a
    三年级 (primary) in 2024. A nine-year school may also count a 7–9 class from its 一年级.
    """
    last = clock.today().year + 1
    if not isinstance(year, int) or isinstance(year, bool) or not FIRST_ENTRY_YEAR <= year <= last:
        return f"入学年份应为 {FIRST_ENTRY_YEAR} 到 {last} 之间的四位年份。"
    if not isinstance(grade, int) or isinstance(grade, bool) or not 1 <= grade <= 9:
        return None
    this_year = school_year()
    stage_start = 7 if grade >= 7 else 1
    expected = [this_year - (grade - stage_start)]
    if kind == "nine_year" and stage_start == 7:
        expected.append(this_year - (grade - 1))
    if year in expected:
        return None
    years = "或 ".join(f"{y} 年" for y in expected)
    return (f"{this_year}–{this_year + 1} 学年的{GRADE_NAMES[grade]}应是 {years}入学的，"
            f"与入学年份 {year} 年不一致，请改正年级或入学年份。")


def username_problem(username: str) -> str | None:
    if not username:
        return "用户名不能为空。"
    if not _USERNAME.fullmatch(username):
        return "用户名只能由字母、数字、下划线、点和连字符组成，长度 3 到 64 个字符。"
    return None


def phone_problem(phone: str) -> str | None:
    if phone and not (_MOBILE.match(phone) or _LANDLINE.match(phone)):
        return "手机号格式不正确：应为 11 位手机号，或带区号的固定电话（如 0851-12345678）。"
    return None


def initial_password_problem(password: str) -> str | None:
    problem = password_problem(password)
    return problem.replace("新密码", "初始密码") if problem else None


def username_taken(session: Session, usernames: Iterable[str]) -> set[str]:
    """Which of these usernames exist in ANY township (users are global), compared lower-cased."""
    wanted = {u.lower() for u in usernames if u}
    if not wanted:
        return set()
    return {u.lower() for u in session.scalars(select(User.username).where(func.lower(User.username).in_(wanted)))}


# --- small helpers for writes ------------------------------------------------------------------

def _clean(value: Any) -> str:
    return normalise(value)


def _raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise InvalidInput(errors)


def _check_fields(changes: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        # A programming error (a route passing an unvetted body), not a user's mistake.
        raise TypeError(f"unknown fields: {sorted(unknown)}")


def _values(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}



def _name_taken(session: Session, model: Any, name: str, *, exclude: Any = None, **where: Any) -> bool:
    query = select(model.id).where(model.name == name, *(getattr(model, k) == v for k, v in where.items()))
    if exclude is not None:
        query = query.where(model.id != exclude.id)
    return session.scalar(query.limit(1)) is not None


def _name_problem(session: Session, model: Any, name: str, *, label: str, max_length: int, taken: str,
                  exclude: Any = None, **where: Any) -> str | None:
    """A required name, not too long, not already used (in the township, or within `where`)."""
    if problem := text_problem(name, label=label, max_length=max_length):
        return problem
    if _name_taken(session, model, name, exclude=exclude, **where):
        return f"{taken}已有名为“{name}”的{label.removesuffix('名称') or '记录'}。"
    return None


def _create(session: Session, obj: Any, event: str, fields: tuple[str, ...]) -> Any:
    session.add(obj)
    session.flush()
    audit.record(session, event, entity=obj, changes=_values(obj, fields))
    return obj


def _update(session: Session, obj: Any, wanted: dict[str, Any], event: str) -> Any:
    """Apply the changed fields and audit them as {"field": [old, new]}; nothing changed, nothing written."""
    changed = audit.diff(_values(obj, tuple(wanted)), wanted)
    if not changed:
        return obj
    for name, (_old, new) in changed.items():
        setattr(obj, name, new)
    session.flush()
    audit.record(session, event, entity=obj, changes=changed)
    return obj


# --- villages ----------------------------------------------------------------------------------

def _village_errors(session: Session, values: dict[str, Any], existing: Village | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if problem := _name_problem(session, Village, values["name"], label="村委会名称", max_length=80,
                                taken="本乡镇", exclude=existing):
        errors["name"] = problem
    if problem := text_problem(values["code"], label="编码", max_length=20, required=False):
        errors["code"] = problem
    return errors


# Who may take a village (包村): the township's leading group and its office.
LIAISON_ROLES = (Role.LEADER.value, Role.OFFICE_STAFF.value)


def _village_liaison(session: Session, membership_id: Any, errors: dict[str, str]) -> int | None:
    # access() 404s for another township's membership: the id is never confirmed to exist.
    if membership_id is None:
        return None
    membership = access(session, Membership, membership_id)
    if membership.role not in LIAISON_ROLES or not membership.is_active:
        errors["liaison_membership_id"] = "包村干部应是乡镇领导小组或其办公室的在岗人员。"
    return membership.id


def liaison_choices(session: Session) -> list[tuple[int, str]]:
    """The people who may take a village, as (membership id, "name（title）")."""
    rows = session.execute(select(Membership.id, User.display_name, Membership.title).join(
        User, User.id == Membership.user_id).where(Membership.role.in_(LIAISON_ROLES),
                                                   Membership.is_active.is_(True)).order_by(Membership.id))
    return [(mid, f"{name}（{title}）" if title else name) for mid, name, title in rows]


def do_create_village(session: Session, *, name: str, code: str = "",
                      liaison_membership_id: int | None = None) -> Village:
    errors: dict[str, str] = {}
    values = {"name": _clean(name), "code": _clean(code),
              "liaison_membership_id": _village_liaison(session, liaison_membership_id, errors)}
    _raise_if({**_village_errors(session, values, None), **errors})
    return _create(session, Village(township_id=township_id_of(session), **values), Event.VILLAGE_CREATED,
                   VILLAGE_FIELDS)


def do_update_village(session: Session, village: Village, **changes: Any) -> Village:
    _check_fields(changes, VILLAGE_FIELDS)
    errors: dict[str, str] = {}
    cleaned = {k: (v if k == "liaison_membership_id" else _clean(v)) for k, v in changes.items()}
    if "liaison_membership_id" in cleaned:
        cleaned["liaison_membership_id"] = _village_liaison(session, cleaned["liaison_membership_id"], errors)
    values = {**_values(village, VILLAGE_FIELDS), **cleaned}
    _raise_if({**_village_errors(session, values, village), **errors})
    return _update(session, village, values, Event.VILLAGE_UPDATED)


# --- schools -----------------------------------------------------------------------------------

def _school_errors(session: Session, values: dict[str, Any], existing: School | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if problem := _name_problem(session, School, values["name"], label="学校名称", max_length=80,
                                taken="本乡镇", exclude=existing):
        errors["name"] = problem
    if problem := kind_problem(values["kind"]):
        errors["kind"] = problem
    elif existing is not None and values["kind"] != existing.kind:
        if problem := _kind_change_problem(session, existing, values["kind"]):
            errors["kind"] = problem
    if problem := school_code_problem(values["code"]):
        errors["code"] = problem
    return errors


def school_code_problem(code: str) -> str | None:
    """The national 学校标识码 is ten digits (empty: not known yet)."""
    if code and not (len(code) == 10 and code.isascii() and code.isdigit()):
        return "学校标识码应为 10 位数字（可不填）。"
    return None


def _kind_change_problem(session: Session, school: School, kind: str) -> str | None:
    """A school cannot become a kind that does not teach the grades its classes are in."""
    grades = session.scalars(select(SchoolClass.grade).where(SchoolClass.school_id == school.id).distinct())
    wrong = sorted(g for g in grades if g not in SCHOOL_GRADES[kind])
    if wrong:
        return f"该校已有{GRADE_NAMES[wrong[0]]}的班级，不能改为{SCHOOL_KINDS[kind]}。"
    return None


def _school_village(session: Session, village_id: Any) -> int | None:
    # access() 404s for another township's village: the id is never confirmed to exist.
    return None if village_id is None else access(session, Village, village_id).id


def do_create_school(session: Session, *, name: str, kind: str, code: str = "",
                     village_id: int | None = None) -> School:
    values = {"name": _clean(name), "kind": _clean(kind), "code": _clean(code),
              "village_id": _school_village(session, village_id)}
    _raise_if(_school_errors(session, values, None))
    return _create(session, School(township_id=township_id_of(session), **values), Event.SCHOOL_CREATED,
                   SCHOOL_FIELDS)


def do_update_school(session: Session, school: School, **changes: Any) -> School:
    _check_fields(changes, SCHOOL_FIELDS)
    cleaned = {k: (v if k == "village_id" else _clean(v)) for k, v in changes.items()}
    if "village_id" in cleaned:
        cleaned["village_id"] = _school_village(session, cleaned["village_id"])
    values = {**_values(school, SCHOOL_FIELDS), **cleaned}
    _raise_if(_school_errors(session, values, school))
    return _update(session, school, values, Event.SCHOOL_UPDATED)


# --- classes -----------------------------------------------------------------------------------

def _class_errors(session: Session, school: School, values: dict[str, Any],
                  existing: SchoolClass | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if problem := grade_problem(school.kind, values["grade"]):
        errors["grade"] = problem
    if problem := _name_problem(session, SchoolClass, values["name"], label="班级名称", max_length=40,
                                taken=school.name, exclude=existing, school_id=school.id):
        errors["name"] = problem
    if problem := entry_year_problem(values["entry_year"]):
        errors["entry_year"] = problem
    # Whether grade, name and entry year agree is asked of what this write sets: a class that only
    # went out of date when the school year turned can still be renamed.
    changed = {k for k in CLASS_FIELDS if existing is None or getattr(existing, k) != values[k]}
    if "grade" not in errors and "name" not in errors and changed & {"grade", "name"}:
        if problem := grade_problem(school.kind, values["grade"], name=values["name"]):
            errors["name" if "name" in changed else "grade"] = problem
    if "grade" not in errors and "entry_year" not in errors and changed & {"grade", "entry_year"}:
        if problem := entry_year_problem(values["entry_year"], grade=values["grade"], kind=school.kind):
            errors["entry_year" if "entry_year" in changed else "grade"] = problem
    return errors


def do_create_class(session: Session, *, school_id: int | None, grade: int | None, name: str,
                    entry_year: int | None) -> SchoolClass:
    if school_id is None:
        raise InvalidInput({"school_id": "请选择学校。"})
    school = access(session, School, school_id)
    values = {"grade": grade, "name": _clean(name), "entry_year": entry_year}
    _raise_if(_class_errors(session, school, values, None))
    return _create(session, SchoolClass(township_id=township_id_of(session), school_id=school.id, **values),
                   Event.CLASS_CREATED, ("school_id", *CLASS_FIELDS))


def do_update_class(session: Session, school_class: SchoolClass, **changes: Any) -> SchoolClass:
    _check_fields(changes, CLASS_FIELDS)
    school = access(session, School, school_class.school_id)
    cleaned = {k: (_clean(v) if k == "name" else v) for k, v in changes.items()}
    values = {**_values(school_class, CLASS_FIELDS), **cleaned}
    _raise_if(_class_errors(session, school, values, school_class))
    return _update(session, school_class, values, Event.CLASS_UPDATED)


# --- departments -------------------------------------------------------------------------------

def _department_errors(session: Session, values: dict[str, Any], existing: Department | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if values["duty_code"] not in DUTY_LABELS:
        errors["duty_code"] = "部门职能无效，请从列表中选择。"
    else:
        query = select(Department.id).where(Department.duty_code == values["duty_code"])
        if existing is not None:
            query = query.where(Department.id != existing.id)
        if session.scalar(query.limit(1)) is not None:
            errors["duty_code"] = f"本乡镇已有负责“{DutyCode(values['duty_code']).label}”的部门。"
    if problem := _name_problem(session, Department, values["name"], label="部门名称", max_length=80,
                                taken="本乡镇", exclude=existing):
        errors["name"] = problem
    return errors


def do_create_department(session: Session, *, duty_code: str, name: str = "") -> Department:
    duty_code = _clean(duty_code)
    # A blank name takes the duty's usual name (派出所, 司法所, ...): what nearly every township uses.
    values = {"duty_code": duty_code, "name": _clean(name) or DUTY_LABELS.get(duty_code, "")}
    _raise_if(_department_errors(session, values, None))
    return _create(session, Department(township_id=township_id_of(session), **values),
                   Event.DEPARTMENT_CREATED, DEPARTMENT_FIELDS)


def do_update_department(session: Session, department: Department, **changes: Any) -> Department:
    _check_fields(changes, DEPARTMENT_FIELDS)
    values = {**_values(department, DEPARTMENT_FIELDS), **{k: _clean(v) for k, v in changes.items()}}
    _raise_if(_department_errors(session, values, department))
    return _update(session, department, values, Event.DEPARTMENT_UPDATED)


# --- people ------------------------------------------------------------------------------------

def _person_values(username: str, display_name: str, phone: str) -> dict[str, str]:
    return {"username": _clean(username), "display_name": _clean(display_name), "phone": _clean(phone)}


def _person_errors(session: Session, values: dict[str, str], password: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if problem := username_problem(values["username"]):
        errors["username"] = problem
    elif username_taken(session, [values["username"]]):
        errors["username"] = "用户名已被使用。"
    if problem := text_problem(values["display_name"], label="姓名", max_length=64):
        errors["display_name"] = problem
    if problem := phone_problem(values["phone"]):
        errors["phone"] = problem
    if problem := initial_password_problem(password or ""):
        errors["password"] = problem
    return errors


def _insert_person(session: Session, values: dict[str, str], password: str) -> User:
    user = User(password_hash=hash_password(password), **values)
    try:
        # A savepoint: if another request took the username since our check, the unique
        # constraint refuses it and the outer transaction stays usable for the error answer.
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise InvalidInput({"username": "用户名已被使用。"}) from None
    audit.record(session, Event.PERSON_CREATED, entity=user,
                 changes={"username": user.username, "display_name": user.display_name})
    return user


def do_create_person(session: Session, *, username: str, display_name: str, phone: str = "",
                     password: str) -> User:
    """A login. Usernames are global (the users table has no township); the password is hashed."""
    values = _person_values(username, display_name, phone)
    _raise_if(_person_errors(session, values, password))
    return _insert_person(session, values, password)


# --- memberships -------------------------------------------------------------------------------

@dataclass
class _Units:
    school: School | None = None
    village: Village | None = None
    department: Department | None = None
    classes: list[SchoolClass] = field(default_factory=list)


_UNIT_WORDS = {"school_id": "学校", "village_id": "村委会", "department_id": "部门", "class_ids": "班级"}
_NEEDED_FIELD = {UnitKind.SCHOOL: "school_id", UnitKind.VILLAGE: "village_id", UnitKind.DEPARTMENT: "department_id"}


def _resolve_units(session: Session, *, school_id: int | None, village_id: int | None,
                   department_id: int | None, class_ids: list[int] | None) -> _Units:
    """Every id given is looked up in this township first: another township's id is a 404."""
    units = _Units(
        school=access(session, School, school_id) if school_id is not None else None,
        village=access(session, Village, village_id) if village_id is not None else None,
        department=access(session, Department, department_id) if department_id is not None else None,
        classes=[access(session, SchoolClass, class_id) for class_id in dict.fromkeys(class_ids or ())],
    )
    if units.school is None and units.classes:
        # A class names its school: a teacher's form may give only the classes.
        units.school = access(session, School, units.classes[0].school_id)
    return units


def _parse_role(role: Any) -> Role | None:
    try:
        return Role(_clean(role))
    except ValueError:
        return None


def _membership_errors(session: Session, role: Role | None, units: _Units, given: dict[str, Any],
                       title: str, user: User | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if problem := text_problem(title, label="职务", max_length=64, required=False):
        errors["title"] = problem
    if role is None:
        errors["role"] = "角色无效，请从列表中选择。"
        return errors
    kind = role.unit_kind
    needed = _NEEDED_FIELD.get(kind)
    allowed = {needed, "class_ids"} if role in CLASS_BOUND_ROLES else {needed}
    if kind == UnitKind.SCHOOL and given.get("class_ids") and given.get("school_id") is None:
        given = {**given, "school_id": units.school.id if units.school else None}
    for name, value in given.items():
        if value and name not in allowed:
            if name == "class_ids":
                errors[name] = "只有班主任和科任教师需要选择班级。"
            else:
                errors[name] = f"{role.label}不属于某个{_UNIT_WORDS[name]}，请不要选择{_UNIT_WORDS[name]}。"
    if needed is not None and given.get(needed) is None and needed not in errors:
        errors[needed] = f"{role.label}需要选择所属{_UNIT_WORDS[needed]}。"
    school = units.school
    if school is not None and "class_ids" not in errors and any(c.school_id != school.id for c in units.classes):
        errors["class_ids"] = "所选班级不属于所选学校。"
    if not errors and user is not None and _has_membership(session, user, role, units):
        errors["role"] = f"该人员在这个单位已经是{role.label}。"
    return errors


def _unit_columns(role: Role, units: _Units) -> dict[str, int | None]:
    kind = role.unit_kind
    return {
        "school_id": units.school.id if kind == UnitKind.SCHOOL and units.school else None,
        "village_id": units.village.id if kind == UnitKind.VILLAGE and units.village else None,
        "department_id": units.department.id if kind == UnitKind.DEPARTMENT and units.department else None,
    }


def _has_membership(session: Session, user: User, role: Role, units: _Units) -> bool:
    columns = _unit_columns(role, units)
    query = select(Membership.id).where(Membership.user_id == user.id, Membership.role == role.value,
                                        Membership.is_active.is_(True))
    for name, value in columns.items():
        column = getattr(Membership, name)
        query = query.where(column.is_(None) if value is None else column == value)
    return session.scalar(query.limit(1)) is not None


def _insert_membership(session: Session, user: User, role: Role, units: _Units, title: str) -> Membership:
    columns = _unit_columns(role, units)
    township_id = township_id_of(session)
    membership = Membership(township_id=township_id, user_id=user.id, role=role.value, title=title, **columns)
    session.add(membership)
    session.flush()
    class_ids = [c.id for c in units.classes] if role in CLASS_BOUND_ROLES else []
    session.add_all(MembershipClass(township_id=township_id, membership_id=membership.id, class_id=class_id)
                    for class_id in class_ids)
    session.flush()
    audit.record(session, Event.MEMBERSHIP_ADDED, entity=membership,
                 changes={"user_id": user.id, "username": user.username, "role": role.value, "title": title,
                          **columns, "class_ids": class_ids})
    return membership


def _given_units(school_id: int | None, village_id: int | None, department_id: int | None,
                 class_ids: list[int] | None) -> dict[str, Any]:
    return {"school_id": school_id, "village_id": village_id, "department_id": department_id,
            "class_ids": list(class_ids or ())}


def do_add_membership(session: Session, *, user: User, role: str | Role, school_id: int | None = None,
                      village_id: int | None = None, department_id: int | None = None,
                      class_ids: list[int] | None = None, title: str = "") -> Membership:
    """Give a person a role in a unit of this township (a teacher names the classes they teach).

    Nobody grants or widens their own roles: another administrator must, and the grant is on
    the record (and, for roles that read children's personal data, on the leader's home page).
    """
    if user.id == tenant_of(session).user_id:
        raise InvalidInput({"user_id": "不能给自己增加身份，请由本乡镇另一位管理员办理。"})
    given = _given_units(school_id, village_id, department_id, class_ids)
    units = _resolve_units(session, **given)
    parsed, title = _parse_role(role), _clean(title)
    _raise_if(_membership_errors(session, parsed, units, given, title, user))
    assert parsed is not None
    return _insert_membership(session, user, parsed, units, title)


def do_create_person_with_membership(
    session: Session, *, username: str, display_name: str, phone: str = "", password: str, role: str | Role,
    school_id: int | None = None, village_id: int | None = None, department_id: int | None = None,
    class_ids: list[int] | None = None, title: str = "",
) -> tuple[User, Membership]:
    """A new person and their first role, all or nothing; every problem of both is reported at once.

    Units are resolved before anything else, so another township's id answers 404 whatever
    else is wrong with the request.
    """
    given = _given_units(school_id, village_id, department_id, class_ids)
    units = _resolve_units(session, **given)
    values = _person_values(username, display_name, phone)
    parsed, title = _parse_role(role), _clean(title)
    errors = {**_membership_errors(session, parsed, units, given, title, None),
              **_person_errors(session, values, password)}
    _raise_if(errors)
    assert parsed is not None
    user = _insert_person(session, values, password)
    return user, _insert_membership(session, user, parsed, units, title)


def do_deactivate_membership(session: Session, membership: Membership) -> Membership:
    """End a role (the row stays, for the audit trail and old records); idempotent."""
    if not membership.is_active:
        return membership
    actor = tenant_of(session).extra.get("actor")
    if actor is not None and getattr(actor, "membership_id", None) == membership.id:
        # Ending the role one is acting in would lock the administrator out mid-request.
        raise InvalidInput({"membership_id": "不能停用您当前正在使用的身份。"})
    membership.is_active = False
    session.flush()
    audit.record(session, Event.MEMBERSHIP_DEACTIVATED, entity=membership,
                 changes={"user_id": membership.user_id, "role": membership.role, "is_active": [True, False]})
    return membership


def role_choices() -> list[tuple[str, str]]:
    """(value, Chinese label) of every role an administrator may give, in the enum's order."""
    return [(role.value, ROLE_LABELS[role]) for role in Role]
