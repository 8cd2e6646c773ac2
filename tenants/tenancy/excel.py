"""The structure workbook: a template to fill in, and an all-or-nothing import of it.

Townships keep their villages, schools, classes and staff in Excel already; the import takes
that sheet as it is. It checks EVERY row first and reports all problems at once as
(sheet, row, column, reason), so a clerk fixes the file in one pass; only a clean file is
imported, through the same `do_*` functions as the forms (each row audited), inside the
request's one transaction. A bad file imports nothing.

Reading the file safely (limits, the child process, headers by name, typed cells, the error
workbook, the template's drop-downs) is `baoxue.platform.imports`; this module knows only
villages, schools, classes and people.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform import audit, imports
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import InvalidInput
from baoxue.platform.imports import Column, ImportRejected, Problem, Reader, Row, Upload
from baoxue.platform.permissions import DUTY_LABELS, ROLE_LABELS, Role, UnitKind
from baoxue.tenants.tenancy import service
from baoxue.tenants.tenancy.events import Event
from baoxue.tenants.tenancy.models import SCHOOL_KINDS, Department, School, SchoolClass, Village

# A township has hundreds of rows per sheet, never tens of thousands: the engine's defaults fit.
LIMITS = imports.LIMITS
MAX_UPLOAD_BYTES = LIMITS.upload_bytes
MAX_ROWS = LIMITS.rows
NOT_XLSX = imports.NOT_XLSX

KIND_BY_LABEL = {label: kind for kind, label in SCHOOL_KINDS.items()}
ROLE_BY_LABEL = {label: role for role, label in ROLE_LABELS.items()}
_GRADE_WORDS = {
    **{name: grade for grade, name in enumerate(service.GRADE_NAMES) if name},
    **{f"{grade}年级": grade for grade in range(1, 10)},
    **{str(grade): grade for grade in range(1, 10)},
    "初一": 7, "初二": 8, "初三": 9,
}


SHEETS: dict[str, tuple[Column, ...]] = {
    "村委会": (
        Column("名称", "name", 20, required=True, note="村委会名称，如：板当村"),
        Column("编码", "code", 18, note="统计用区划代码（可不填）"),
    ),
    "学校": (
        Column("名称", "name", 24, required=True),
        Column("类型", "kind", 18, required=True, choices=tuple(SCHOOL_KINDS.values())),
        Column("编码", "code", 16, note="学校标识码：10 位数字（可不填）"),
        Column("所在村", "village", 16, ref="村委会", note="本文件“村委会”表中或系统中已有的村委会（可不填）"),
    ),
    "班级": (
        Column("学校", "school", 24, required=True, ref="学校", note="本文件“学校”表中或系统中已有的学校"),
        Column("年级", "grade", 10, required=True, text=False, choices=service.GRADE_NAMES[1:],
               strict=False, note="1–9 或 一年级…九年级；小学 1–6，初级中学 7–9"),
        Column("班级名称", "name", 18, required=True, note="如：七年级（1）班"),
        Column("入学年份", "entry_year", 10, required=True, text=False, note="四位年份，如 2026"),
    ),
    "人员": (
        Column("用户名", "username", 16, required=True, note="登录用，字母、数字、下划线，全系统唯一"),
        Column("姓名", "display_name", 12, required=True),
        Column("手机号", "phone", 16),
        Column("初始密码", "password", 16, required=True, note="至少 8 位，同时包含字母和数字"),
        Column("角色", "role", 16, required=True, choices=tuple(ROLE_LABELS.values())),
        Column("所属单位", "unit", 24, note="学校、村委会或部门的名称；乡镇级角色不填"),
        Column("班级", "class_name", 16, note="仅班主任填写：所属单位学校中的班级名称"),
        Column("职务", "title", 16, note="如：校长、村党支部书记（可不填）"),
    ),
}


# --- the template ------------------------------------------------------------------------------

def build_template() -> bytes:
    """The empty workbook to download: 说明, then one sheet per kind, headers in row 1."""
    return imports.write_template(SHEETS, _help_lines())


def _help_lines() -> list[tuple[str, bool]]:
    roles = [f"    {label}：{_role_unit_text(role)}" for role, label in ROLE_LABELS.items()]
    return [
        ("保学 · 学校、村委会、班级与人员批量导入模板", True),
        ("", False),
        ("怎样填写", True),
        ("1. 在“村委会”“学校”“班级”“人员”四个工作表中，从第 2 行起每行填一条。第 1 行是表头，请不要修改；"
         "红色表头为必填列。用不到的工作表留空即可。", False),
        ("2. 学校的“所在村”、班级的“学校”、人员的“所属单位”，可以填本文件中新增的名称，也可以填系统中已有的名称。", False),
        ("3. 学校类型：" + "、".join(SCHOOL_KINDS.values()) + "。", False),
        ("4. 年级填 1–9 的数字或“一年级”至“九年级”（也可写“初一”至“初三”）："
         "小学和中心小学 1–6，初级中学 7–9，九年一贯制学校 1–9。入学年份填四位年份。", False),
        ("5. 角色与所属单位：", False),
        *[(line, False) for line in roles],
        ("    班主任可在“班级”列填写所带班级（须是所属学校的班级）。", False),
        ("6. 用户名用于登录，只能用字母、数字、下划线、点和连字符，全系统唯一。初始密码至少 8 位，"
         "须同时包含字母和数字；请通知本人登录后立即修改。", False),
        ("7. 编码、手机号、用户名、初始密码列已设为“文本”格式，请保持，避免长数字被 Excel 改写、丢失位数。", False),
        ("", False),
        ("上传后会怎样", True),
        ("系统先检查整个文件。只要有一处错误，就不导入任何数据，并列出每处错误所在的工作表、行、列和原因；"
         "改正后重新上传即可。全部无误时一次性导入，并记入操作日志。", False),
        (f"文件不超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB，每个工作表不超过 {MAX_ROWS} 行。", False),
        ("", False),
        ("示例（请填在对应工作表中，不要填在本页）", True),
        ("村委会：板当村 | 522727104201", False),
        ("学校：板当中学 | 初级中学 | 52272701 | 板当村", False),
        ("班级：板当中学 | 七年级 | 七年级（1）班 | 2026", False),
        ("人员：bd_wang | 王国华 | 13800000000 | Baoxue2026 | 班主任 | 板当中学 | 七年级（1）班 | 班主任", False),
    ]


def _role_unit_text(role: Role) -> str:
    return {
        UnitKind.TOWNSHIP: "乡镇级，所属单位不填",
        UnitKind.SCHOOL: "所属单位填学校名称",
        UnitKind.VILLAGE: "所属单位填村委会名称",
        UnitKind.DEPARTMENT: "所属单位填部门名称（如：派出所）",
    }[role.unit_kind]


# --- reading -----------------------------------------------------------------------------------

def _parse_grade(text: str) -> int | None:
    return _GRADE_WORDS.get(text)


def _parse_year(text: str) -> int | None:
    return int(text.removesuffix("年")) if re.fullmatch(r"\d{4}年?", text) else None


# --- what already exists ----------------------------------------------------------------------

@dataclass
class _Existing:
    """The township's structure, read once (four queries), to check references and duplicates."""

    villages: dict[str, int]
    schools: dict[str, tuple[int, str]]  # name -> (id, kind)
    classes: dict[tuple[int, str], int]  # (school id, class name) -> id
    departments: dict[str, int]  # name, and the duty's usual name -> id

    @classmethod
    def load(cls, session: Session) -> _Existing:
        departments: dict[str, int] = {}
        for dep_id, duty, name in session.execute(select(Department.id, Department.duty_code, Department.name)):
            departments.setdefault(DUTY_LABELS.get(duty, name), dep_id)  # type: ignore[call-overload]
            departments[name] = dep_id
        return cls(
            villages=dict(session.execute(select(Village.name, Village.id)).all()),
            schools={name: (sid, kind) for sid, name, kind in session.execute(
                select(School.id, School.name, School.kind))},
            classes={(school_id, name): cid for cid, school_id, name in session.execute(
                select(SchoolClass.id, SchoolClass.school_id, SchoolClass.name))},
            departments=departments,
        )


# --- checking every row ------------------------------------------------------------------------

@dataclass
class _Plan:
    villages: list[tuple[Row, dict[str, Any]]] = field(default_factory=list)
    schools: list[tuple[Row, dict[str, Any]]] = field(default_factory=list)
    classes: list[tuple[Row, dict[str, Any]]] = field(default_factory=list)
    people: list[tuple[Row, dict[str, Any]]] = field(default_factory=list)


class _Checker:
    """Checks every row of every sheet, in dependency order, noting problems and what to create."""

    def __init__(self, session: Session, existing: _Existing, reader: Reader) -> None:
        self.session, self.existing, self.reader = session, existing, reader
        self.plan = _Plan()
        # Names the file defines, with the row that defines them (for "与第 N 行重复").
        self.file_villages: dict[str, int] = {}
        self.file_schools: dict[str, int] = {}
        self.school_kinds: dict[str, str] = {}
        self.file_classes: dict[tuple[str, str], int] = {}

    def _unique_name(self, row: Row, name: str | None, *, label: str, max_length: int, seen: dict[Any, int],
                     seen_key: Any, exists: str | None) -> str | None:
        """A required name, not twice in the file, not already in the township: one problem per cell."""
        if name is None:
            return None
        problem = service.text_problem(name, label=label, max_length=max_length)
        if problem is None and seen_key in seen:
            problem = f"与第 {seen[seen_key]} 行重复。"
        if problem is None and exists:
            problem = exists
        if problem:
            self.reader.add(row, "name", problem)
            return None
        return name

    def _optional_text(self, row: Row, key: str, *, label: str, max_length: int) -> str | None:
        value = self.reader.text(row, key)
        if value is None:
            return None
        if problem := service.text_problem(value, label=label, max_length=max_length, required=False):
            self.reader.add(row, key, problem)
            return None
        return value

    def villages(self, rows: list[Row]) -> None:
        for row in rows:
            raw = self.reader.text(row, "name")
            exists = f"本乡镇已有村委会“{raw}”。" if raw in self.existing.villages else None
            name = self._unique_name(row, raw, label="名称", max_length=80, seen=self.file_villages,
                                     seen_key=raw, exists=exists)
            code = self._optional_text(row, "code", label="编码", max_length=20)
            if name is not None:
                self.file_villages[name] = row.number
                if code is not None:
                    self.plan.villages.append((row, {"name": name, "code": code}))

    def schools(self, rows: list[Row]) -> None:
        for row in rows:
            raw = self.reader.text(row, "name")
            exists = f"本乡镇已有学校“{raw}”。" if raw in self.existing.schools else None
            name = self._unique_name(row, raw, label="名称", max_length=80, seen=self.file_schools,
                                     seen_key=raw, exists=exists)
            kind = self._kind(row)
            code = self._optional_text(row, "code", label="编码", max_length=20)
            if code and (problem := service.school_code_problem(code)):
                self.reader.add(row, "code", problem)
                code = None
            village = self.reader.text(row, "village")
            if village and village not in self.file_villages and village not in self.existing.villages:
                self.reader.add(row, "village", f"村委会“{village}”既不在本文件“村委会”表中，也不是本乡镇已有的村委会。")
                village = None
            if name is not None and kind is not None:
                self.file_schools[name] = row.number
                self.school_kinds[name] = kind
                if code is not None and village is not None:
                    self.plan.schools.append((row, {"name": name, "kind": kind, "code": code, "village": village}))

    def _kind(self, row: Row) -> str | None:
        label = self.reader.text(row, "kind")
        if label is None:
            return None
        kind = KIND_BY_LABEL.get(label, label)
        problem = "类型不能为空。" if not label else service.kind_problem(kind)
        if problem:
            self.reader.add(row, "kind", problem)
            return None
        return kind

    def _school_kind(self, name: str) -> str | None:
        if name in self.school_kinds:
            return self.school_kinds[name]
        if name in self.existing.schools:
            return self.existing.schools[name][1]
        return None

    def classes(self, rows: list[Row]) -> None:
        for row in rows:
            school = self.reader.text(row, "school")
            kind = self._school_kind(school) if school else None
            if school == "":
                self.reader.add(row, "school", "学校不能为空。")
            elif school is not None and kind is None:
                self.reader.add(row, "school", f"学校“{school}”既不在本文件“学校”表中，也不是本乡镇已有的学校。")
            grade = self.reader.whole_number(row, "grade", _parse_grade,
                                             "年级应填 1–9 的数字，或“一年级”到“九年级”。")
            if grade is not None and (problem := service.grade_problem(kind or "", grade)):
                self.reader.add(row, "grade", problem)
                grade = None
            name = self._class_name(row, school if kind else None)
            year = self.reader.whole_number(row, "entry_year", _parse_year, "入学年份应填四位年份，如 2026。")
            if year is not None and (problem := service.entry_year_problem(year)):
                self.reader.add(row, "entry_year", problem)
                year = None
            if school and kind and name is not None:
                self.file_classes[(school, name)] = row.number
                if grade is not None and year is not None:
                    self.plan.classes.append((row, {"school": school, "grade": grade, "name": name,
                                                    "entry_year": year}))

    def _class_name(self, row: Row, school: str | None) -> str | None:
        raw = self.reader.text(row, "name")
        existing_school = self.existing.schools.get(school or "")
        exists = None
        if existing_school is not None and (existing_school[0], raw) in self.existing.classes:
            exists = f"{school}已有班级“{raw}”。"
        return self._unique_name(row, raw, label="班级名称", max_length=40, seen=self.file_classes,
                                 seen_key=(school, raw), exists=exists)

    def people(self, rows: list[Row]) -> None:
        # One query for the whole sheet: which of its usernames exist already (in any township).
        usernames = [str(u).strip() for row in rows if isinstance(u := row.value("username"), str | int)]
        taken = service.username_taken(self.session, usernames)
        seen: dict[str, int] = {}
        for row in rows:
            values = self._person(row, seen, taken)
            placement = self._placement(row)
            if values is not None and placement is not None:
                self.plan.people.append((row, {**values, **placement}))

    def _person(self, row: Row, seen: dict[str, int], taken: set[str]) -> dict[str, Any] | None:
        username = self.reader.text(row, "username")
        if username is not None:
            problem = service.username_problem(username)
            if problem is None and username.lower() in seen:
                problem = f"与第 {seen[username.lower()]} 行的用户名重复。"
            if problem is None and username.lower() in taken:
                problem = "用户名已被使用。"
            if problem:
                self.reader.add(row, "username", problem)
                username = None
            else:
                seen[username.lower()] = row.number
        display_name = self._required_text(row, "display_name", "姓名", 64)
        phone = self._checked(row, "phone", service.phone_problem)
        password = self._checked(row, "password", service.initial_password_problem)
        title = self._optional_text(row, "title", label="职务", max_length=64)
        fields = {"username": username, "display_name": display_name, "phone": phone, "password": password,
                  "title": title}
        return None if any(v is None for v in fields.values()) else fields

    def _required_text(self, row: Row, key: str, label: str, max_length: int) -> str | None:
        value = self.reader.text(row, key)
        if value is not None and (problem := service.text_problem(value, label=label, max_length=max_length)):
            self.reader.add(row, key, problem)
            return None
        return value

    def _checked(self, row: Row, key: str, check: Callable[[str], str | None]) -> str | None:
        value = self.reader.text(row, key)
        if value is not None and (problem := check(value)):
            self.reader.add(row, key, problem)
            return None
        return value

    def _placement(self, row: Row) -> dict[str, Any] | None:
        """The role and its unit: names resolved later, once the file's units exist."""
        label = self.reader.text(row, "role")
        unit = self.reader.text(row, "unit")
        class_name = self.reader.text(row, "class_name")
        if label is None or unit is None or class_name is None:
            return None
        role = ROLE_BY_LABEL.get(label) or _role_value(label)
        if role is None:
            self.reader.add(row, "role", "角色不能为空。" if not label else
                            "角色无效，应为：" + "、".join(ROLE_LABELS.values()) + "。")
            return None
        if not self._unit_ok(row, role, unit) or not self._class_ok(row, role, unit, class_name):
            return None
        return {"role": role, "unit": unit, "class_name": class_name}

    def _unit_ok(self, row: Row, role: Role, unit: str) -> bool:
        kind = role.unit_kind
        if kind == UnitKind.TOWNSHIP:
            if unit:
                self.reader.add(row, "unit", f"{role.label}是乡镇级角色，所属单位请留空。")
            return not unit
        noun = {UnitKind.SCHOOL: "学校", UnitKind.VILLAGE: "村委会", UnitKind.DEPARTMENT: "部门"}[kind]
        if not unit:
            self.reader.add(row, "unit", f"{role.label}需要填写所属{noun}。")
            return False
        known = {
            UnitKind.SCHOOL: unit in self.file_schools or unit in self.existing.schools,
            UnitKind.VILLAGE: unit in self.file_villages or unit in self.existing.villages,
            UnitKind.DEPARTMENT: unit in self.existing.departments,
        }[kind]
        if not known:
            where = "本乡镇的部门" if kind == UnitKind.DEPARTMENT else f"本文件“{noun}”表中或本乡镇已有的{noun}"
            self.reader.add(row, "unit", f"{role.label}的所属单位应为{noun}，但“{unit}”不是{where}。")
        return known

    def _class_ok(self, row: Row, role: Role, school: str, class_name: str) -> bool:
        if not class_name:
            return True
        if role != Role.CLASS_TEACHER:
            self.reader.add(row, "class_name", "只有班主任需要填写班级。")
            return False
        existing_school = self.existing.schools.get(school)
        known = (school, class_name) in self.file_classes or (
            existing_school is not None and (existing_school[0], class_name) in self.existing.classes)
        if not known:
            self.reader.add(row, "class_name", f"“{school}”没有班级“{class_name}”（本文件和系统中都没有）。")
        return known


def _role_value(text: str) -> Role | None:
    try:
        return Role(text)
    except ValueError:
        return None


# --- importing ---------------------------------------------------------------------------------

# Which column a service field's error belongs to, per sheet (the service names its fields).
_FIELD_COLUMNS = {
    "村委会": {"name": "name", "code": "code"},
    "学校": {"name": "name", "kind": "kind", "code": "code", "village_id": "village"},
    "班级": {"school_id": "school", "grade": "grade", "name": "name", "entry_year": "entry_year"},
    "人员": {"username": "username", "display_name": "display_name", "phone": "phone", "password": "password",
             "role": "role", "school_id": "unit", "village_id": "unit", "department_id": "unit",
             "class_ids": "class_name", "title": "title"},
}


def do_import_structure(session: Session, data: bytes) -> dict[str, int]:
    """Check the whole workbook, then create everything in it, or nothing (raises ImportRejected).

    Two uploads of one file at once: on PostgreSQL the second waits for the first and then
    reports its rows as already there; a race the checks cannot see is a 409 (`Conflict`).
    """
    upload = imports.read_upload(data, SHEETS, LIMITS)
    if not upload.present:
        raise InvalidInput({"file": "文件中没有“村委会”“学校”“班级”“人员”工作表：请使用下载的模板填写。"})
    rows = upload.rows
    imports.one_at_a_time(session, f"structure:{tenant_of(session).township_id}")
    checker = _Checker(session, _Existing.load(session), upload.reader)
    checker.villages(rows["村委会"])
    checker.schools(rows["学校"])
    checker.classes(rows["班级"])
    checker.people(rows["人员"])
    if upload.reader.problems:
        raise upload.rejected()
    if not any(rows.values()):
        raise InvalidInput({"file": "文件中没有可导入的数据：请从第 2 行起填写。"})
    with imports.duplicates_as_conflict():
        counts = _create_all(session, upload, checker.plan, checker.existing)
    audit.record(session, Event.IMPORT_COMPLETED, entity_type="import", changes=counts)
    return counts


def _run(upload: Upload, row: Row, action: Callable[[], Any]) -> Any:
    """Create one row; a refusal is reported at the row's cell, like the checks before it."""
    try:
        return action()
    except ImportRejected:
        raise
    except InvalidInput as refused:
        columns = _FIELD_COLUMNS[row.sheet]
        raise upload.rejected([Problem(row.sheet, row.number, row.letter(columns.get(f, "")), message)
                               for f, message in refused.errors.items()]) from None


def _create_all(session: Session, upload: Upload, plan: _Plan, existing: _Existing) -> dict[str, int]:
    village_ids = dict(existing.villages)
    for row, v in plan.villages:
        village_ids[v["name"]] = _run(upload, row, lambda v=v: service.do_create_village(session, **v)).id
    school_ids = {name: sid for name, (sid, _kind) in existing.schools.items()}
    for row, s in plan.schools:
        school = _run(upload, row, lambda s=s: service.do_create_school(
            session, name=s["name"], kind=s["kind"], code=s["code"],
            village_id=village_ids[s["village"]] if s["village"] else None))
        school_ids[s["name"]] = school.id
    class_ids = dict(existing.classes)
    for row, c in plan.classes:
        created = _run(upload, row, lambda c=c: service.do_create_class(
            session, school_id=school_ids[c["school"]], grade=c["grade"], name=c["name"],
            entry_year=c["entry_year"]))
        class_ids[(created.school_id, created.name)] = created.id
    for row, p in plan.people:
        _run(upload, row, lambda p=p: service.do_create_person_with_membership(
            session, username=p["username"], display_name=p["display_name"], phone=p["phone"],
            password=p["password"], role=p["role"], title=p["title"],
            **_unit_ids(p, village_ids, school_ids, class_ids, existing)))
    return {"villages": len(plan.villages), "schools": len(plan.schools), "classes": len(plan.classes),
            "people": len(plan.people)}


def _unit_ids(person: dict[str, Any], village_ids: dict[str, int], school_ids: dict[str, int],
              class_ids: dict[tuple[int, str], int], existing: _Existing) -> dict[str, Any]:
    kind, unit = person["role"].unit_kind, person["unit"]
    ids: dict[str, Any] = {}
    if kind == UnitKind.SCHOOL:
        ids["school_id"] = school_ids[unit]
        if person["class_name"]:
            ids["class_ids"] = [class_ids[(school_ids[unit], person["class_name"])]]
    elif kind == UnitKind.VILLAGE:
        ids["village_id"] = village_ids[unit]
    elif kind == UnitKind.DEPARTMENT:
        ids["department_id"] = existing.departments[unit]
    return ids


def summary(counts: dict[str, int]) -> str:
    """"导入成功：村委会 3 个，学校 2 所，班级 12 个，人员 5 人。"."""
    return (f"导入成功：村委会 {counts.get('villages', 0)} 个，学校 {counts.get('schools', 0)} 所，"
            f"班级 {counts.get('classes', 0)} 个，人员 {counts.get('people', 0)} 人。")
