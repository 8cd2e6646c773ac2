"""What the tenancy API reads and answers.

Bodies that create are dataclasses. Bodies that change (PATCH) are msgspec Structs whose
fields default to `UNSET`: a partial body must tell "not sent" from "set to null" (a school's
village can be cleared), and Litestar documents UNSET for Structs (a dataclass with an UNSET
default breaks the OpenAPI document).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from baoxue.tenants.tenancy.models import SCHOOL_KINDS, Department, School, SchoolClass, Village
from baoxue.tenants.tenancy.service import PersonRow


def changes_of(patch: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body actually carried."""
    return {f: getattr(patch, f) for f in patch.__struct_fields__ if getattr(patch, f) is not UNSET}


# --- villages ----------------------------------------------------------------------------------

@dataclass
class VillageIn:
    name: str
    code: str = ""


class VillagePatch(msgspec.Struct):
    name: str | UnsetType = UNSET
    code: str | UnsetType = UNSET


@dataclass
class VillageOut:
    id: int
    name: str
    code: str

    @classmethod
    def of(cls, v: Village) -> VillageOut:
        return cls(id=v.id, name=v.name, code=v.code)


# --- schools -----------------------------------------------------------------------------------

@dataclass
class SchoolIn:
    name: str
    kind: str  # central_primary | primary | middle | nine_year
    code: str = ""
    village_id: int | None = None


class SchoolPatch(msgspec.Struct):
    name: str | UnsetType = UNSET
    kind: str | UnsetType = UNSET
    code: str | UnsetType = UNSET
    village_id: int | None | UnsetType = UNSET


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
    school_id: int
    grade: int  # 1..9, the national grade number
    name: str
    entry_year: int


class ClassPatch(msgspec.Struct):
    grade: int | UnsetType = UNSET
    name: str | UnsetType = UNSET
    entry_year: int | UnsetType = UNSET


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

    role: str
    school_id: int | None = None
    village_id: int | None = None
    department_id: int | None = None
    class_ids: list[int] = field(default_factory=list)  # a teacher's classes
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

    user_id: int


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
