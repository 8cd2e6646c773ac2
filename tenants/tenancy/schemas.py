"""What the tenancy API reads and answers.

Bodies that create are dataclasses. Bodies that change (PATCH) are msgspec Structs whose
fields default to `UNSET`: a partial body must tell "not sent" from "set to null" (a school's
village can be cleared), and Litestar documents UNSET for Structs (a dataclass with an UNSET
default breaks the OpenAPI document).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
from litestar.params import KwargDefinition
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy import select

from baoxue.platform.labels import Entity, Field, names_from, numeric_ids
from baoxue.platform.request_checks import Id, bounded
from baoxue.platform.permissions import ROLE_LABELS
from baoxue.tenants.tenancy.models import (
    SCHOOL_KINDS, Department, Membership, School, SchoolClass, Township, User, Village,
)
from baoxue.tenants.tenancy.service import FIRST_ENTRY_YEAR, GRADE_NAMES, PersonRow

# --- Chinese names of this concept's fields and records (baoxue.platform.labels) ---------------

FIELDS: dict[str, Field | str] = {
    "township_id": Field("乡镇", entity="townships"),
    "county": "所属县",
    "village_id": Field("村委会", entity="villages"),
    "liaison_membership_id": Field("包村干部", entity="memberships"),
    "school_id": Field("学校", entity="schools"),
    "class_id": Field("班级", entity="school_classes"),
    "class_ids": Field("班级", entity="school_classes"),
    "department_id": Field("部门", entity="departments"),
    "kind": Field("学校类型", values=SCHOOL_KINDS),
    "grade": Field("年级", values={g: name for g, name in enumerate(GRADE_NAMES) if name}),
    "entry_year": "入学年份",
    # What an import counted.
    "import.villages": "村委会", "import.schools": "学校", "import.classes": "班级", "import.people": "人员",
}


def _people_names(session: Any, ids: Any) -> dict[str, str]:
    """Display names of people with a membership in this township (users are global)."""
    wanted = numeric_ids(ids)
    rows = session.execute(select(User.id, User.display_name).join(Membership, Membership.user_id == User.id)
                           .where(User.id.in_(wanted)).distinct()) if wanted else []
    return {str(user_id): name for user_id, name in rows}


def _membership_names(session: Any, ids: Any) -> dict[str, str]:
    """Names such as 张三（班主任）: whose role it is, and which."""
    wanted = numeric_ids(ids)
    rows = session.execute(select(Membership.id, User.display_name, Membership.role)
                           .join(User, User.id == Membership.user_id)
                           .where(Membership.id.in_(wanted))) if wanted else []
    return {str(m_id): f"{name}（{ROLE_LABELS.get(role, role)}）" for m_id, name, role in rows}  # type: ignore[call-overload]


ENTITIES: dict[str, Entity] = {
    "townships": Entity("乡镇", names_from(Township, Township.name)),
    "villages": Entity("村委会", names_from(Village, Village.name)),
    "schools": Entity("学校", names_from(School, School.name)),
    "school_classes": Entity("班级", names_from(SchoolClass, SchoolClass.name)),
    "departments": Entity("部门", names_from(Department, Department.name)),
    "users": Entity("人员", _people_names),
    "memberships": Entity("身份", _membership_names),
}


# The bounds the services enforce, declared so that the API's description shows them (msgspec
# checks them while decoding; the services still check everything, for forms and imports too).
Grade = bounded(1, 9, description="全国统一年级：1–6 小学，7–9 初中")
EntryYear = bounded(FIRST_ENTRY_YEAR, 9999)


# --- villages ----------------------------------------------------------------------------------

@dataclass
class VillageIn:
    name: str
    code: str = ""
    liaison_membership_id: Id | None = None  # 包村干部: a membership of the leading group or its office


class VillagePatch(msgspec.Struct):
    name: str | UnsetType = UNSET
    code: str | UnsetType = UNSET
    liaison_membership_id: Id | None | UnsetType = UNSET


@dataclass
class VillageOut:
    id: int
    name: str
    code: str
    liaison_membership_id: int | None

    @classmethod
    def of(cls, v: Village) -> VillageOut:
        return cls(id=v.id, name=v.name, code=v.code, liaison_membership_id=v.liaison_membership_id)


# --- schools -----------------------------------------------------------------------------------

@dataclass
class SchoolIn:
    name: str
    kind: str  # central_primary | primary | middle | nine_year
    code: str = ""
    village_id: Id | None = None


class SchoolPatch(msgspec.Struct):
    name: str | UnsetType = UNSET
    kind: str | UnsetType = UNSET
    code: str | UnsetType = UNSET
    village_id: Id | None | UnsetType = UNSET


@dataclass
class SchoolOut:
    id: int
    name: str
    kind: str
    kind_label: str
    code: str
    village_id: int | None

    @classmethod
    def of(cls, s: School) -> SchoolOut:
        return cls(id=s.id, name=s.name, kind=s.kind, kind_label=SCHOOL_KINDS.get(s.kind, s.kind), code=s.code,
                   village_id=s.village_id)


# --- classes -----------------------------------------------------------------------------------

@dataclass
class ClassIn:
    school_id: Id
    grade: Grade
    name: str
    entry_year: EntryYear


class ClassPatch(msgspec.Struct):
    grade: Grade | UnsetType = UNSET
    name: str | UnsetType = UNSET
    entry_year: EntryYear | UnsetType = UNSET


@dataclass
class ClassOut:
    id: int
    school_id: int
    grade: int
    name: str
    entry_year: int

    @classmethod
    def of(cls, c: SchoolClass) -> ClassOut:
        return cls(id=c.id, school_id=c.school_id, grade=c.grade, name=c.name, entry_year=c.entry_year)


# --- departments -------------------------------------------------------------------------------

@dataclass
class DepartmentIn:
    duty_code: str
    name: str = ""  # blank: the duty's usual name


class DepartmentPatch(msgspec.Struct):
    duty_code: str | UnsetType = UNSET
    name: str | UnsetType = UNSET


@dataclass
class DepartmentOut:
    id: int
    duty_code: str
    duty_label: str
    name: str

    @classmethod
    def of(cls, d: Department) -> DepartmentOut:
        from baoxue.platform.permissions import DUTY_LABELS

        return cls(id=d.id, duty_code=d.duty_code, duty_label=DUTY_LABELS.get(d.duty_code, d.duty_code),  # type: ignore[call-overload]
                   name=d.name)


# --- people and memberships --------------------------------------------------------------------

@dataclass(kw_only=True)
class _RoleIn:
    """A role and its unit: what every membership names."""

    role: Annotated[str, Meta(min_length=1), KwargDefinition(min_length=1)]
    school_id: Id | None = None
    village_id: Id | None = None
    department_id: Id | None = None
    class_ids: list[Id] = field(default_factory=list)  # a teacher's classes
    title: str = ""


@dataclass(kw_only=True)
class PersonIn(_RoleIn):
    """A new person and their first membership, in one call."""

    username: str
    display_name: str
    password: str
    phone: str = ""


@dataclass(kw_only=True)
class MembershipIn(_RoleIn):
    """Another role for a person who already works in this township."""

    user_id: Id


@dataclass
class PersonOut:
    membership_id: int
    user_id: int
    username: str
    display_name: str
    role: str
    role_label: str
    title: str
    unit_kind: str
    unit_id: int | None
    unit_name: str
    class_ids: list[int]
    class_names: list[str]
    is_active: bool

    @classmethod
    def of(cls, row: PersonRow) -> PersonOut:
        return cls(membership_id=row.membership_id, user_id=row.user_id, username=row.username,
                   display_name=row.display_name, role=row.role.value, role_label=row.role_label, title=row.title,
                   unit_kind=row.unit_kind.value, unit_id=row.unit_id, unit_name=row.unit_name,
                   class_ids=list(row.class_ids), class_names=list(row.class_names), is_active=row.is_active)


# --- import ------------------------------------------------------------------------------------

@dataclass
class ImportOut:
    villages: int
    schools: int
    classes: int
    people: int
