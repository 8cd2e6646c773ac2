"""Rosters built as the national system writes them (real .xlsx files, openpyxl), and a school to import into.

`roster(...)` writes a workbook: national headers or their variants, names or codes, a title
above the header if asked. `School` is a fresh school of 板当镇 made inside one transaction
that the test rolls back, so nothing a test imports outlives it; `as_school()` switches the
session to that school's scope, as its academic office would work.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from io import BytesIO
from typing import Any

import pytest
from openpyxl import Workbook

from baoxue.platform.clock import school_year
from baoxue.tenants.rosters.layout import COLUMNS
from baoxue.tenants.students.idnumbers import make_id_number

REGION = "110101"  # not a demo region: test children never collide with the demo's
_sequence = itertools.count(1)


def unique() -> str:
    return secrets.token_hex(3)


def birth_for(grade: int, *, offset_days: int = 100) -> date:
    """A birth date of a child in `grade` this school year (six on 1 September of grade 1)."""
    return date(school_year() - 6 - grade, 9, 1) + timedelta(days=offset_days)


def new_id(birth: date, *, male: bool = True) -> str:
    """An ID number no other test uses (the run's database is shared)."""
    return make_id_number(REGION, birth, (next(_sequence) % 500) * 2 + (1 if male else 0))


def pupil(name: str, grade: int = 1, klass: str = "一年级(1)班", *, male: bool = True, **more: Any) -> dict[str, Any]:
    """One row, keyed by national header, as the national system exports it (names, not codes)."""
    birth = more.pop("birth", birth_for(grade))
    number = more.pop("id_number", None) or new_id(birth, male=male)
    grades = ("", "一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级")
    row = {
        "姓名": name, "性别": "男" if male else "女", "出生日期": f"{birth:%Y%m%d}", "民族": "苗族",
        "身份证件类型": "居民身份证", "身份证件号": number, "全国学籍号": "G" + number, "年级": grades[grade],
        "班级": klass, "入学年月": f"{school_year() - grade + 1}09", "就读方式": "走读", "户口所在地": "贵州省某县",
        "户口性质": "农业户口", "现住址": "板当镇板当村三组12号", "联系电话": "13800001234", "是否留守儿童": "非留守儿童",
        "是否进城务工人员随迁子女": "否", "是否孤儿": "否", "残疾类型": "无", "是否需要申请资助": "否", "是否享受一补": "否",
        "上下学距离": "1.5", "成员1姓名": name[:1] + "大山", "成员1关系": "父亲", "成员1联系电话": "13900001111",
        "成员1是否监护人": "是", "成员1身份证件类型": "居民身份证", "成员1身份证件号": "", "成员1现住址": "板当镇板当村三组12号",
        "成员1工作单位": "务农", "成员2姓名": "李小芳", "成员2关系": "母亲", "成员2联系电话": "13900002222",
        "成员2是否监护人": "否", "成员2身份证件类型": "居民身份证", "成员2身份证件号": "", "成员2现住址": "广东省东莞市",
        "成员2工作单位": "电子厂",
    }
    row.update(more)
    return row


HEADERS = [c.header for c in COLUMNS]


def roster(rows: list[dict[str, Any]], *, headers: list[str] | None = None, rename: dict[str, str] | None = None,
           title_rows: list[list[Any]] | None = None, sheet: str = "学生信息", extra: dict[str, Any] | None = None,
           raw: dict[tuple[int, str], Any] | None = None) -> bytes:
    """An .xlsx: optional title rows, then the header (national headers, `rename`d), then rows.

    `extra`: more columns the work does not use (ignored on import). `raw`: cell values to
    write as they are, by (row index, header), e.g. a float for an ID number shown as 5.2E+17.
    """
    headers = list(headers or HEADERS)
    extra = extra or {}
    written = [(rename or {}).get(h, h) for h in headers] + list(extra)
    book = Workbook()
    ws = book.active
    ws.title = sheet
    for title in title_rows or []:
        ws.append(title)
    ws.append(written)
    for index, row in enumerate(rows):
        values = [row.get(h, "") for h in headers] + list(extra.values())
        for (r, h), value in (raw or {}).items():
            if r == index:
                values[headers.index(h)] = value
        ws.append(values)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text stays text, as the national export keeps ID numbers
    out = BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class School:
    """A fresh school of 板当镇, in a transaction the test rolls back."""

    session: Any
    township_id: int
    id: int
    name: str
    kind: str
    others: list[Any] = field(default_factory=list)

    def as_school(self, school_id: int | None = None) -> Any:
        from baoxue.platform.db import TenantContext, set_tenant
        from baoxue.platform.permissions import UnitKind
        from baoxue.platform.scoping import Scope

        set_tenant(self.session, TenantContext(scope=Scope(self.township_id, UnitKind.SCHOOL,
                                                           school_id or self.id)))
        return self.session

    def as_township(self) -> Any:
        from baoxue.platform.db import TenantContext, set_tenant
        from baoxue.platform.scoping import Scope

        set_tenant(self.session, TenantContext(scope=Scope.township(self.township_id)))
        return self.session

    def create_school(self, kind: str = "primary", name: str = "") -> Any:
        from baoxue.tenants.tenancy.service import do_create_school

        self.as_township()
        school = do_create_school(self.session, name=name or f"试点学校{unique()}", kind=kind)
        self.others.append(school)
        return school

    def import_(self, data: bytes, school_id: int | None = None) -> Any:
        from baoxue.tenants.rosters.service import do_import_roster

        self.as_school(school_id)
        return do_import_roster(self.session, school_id or self.id, data)

    def students(self, school_id: int | None = None) -> dict[str, Any]:
        """The school's students by name (read as the township, so nothing is hidden)."""
        from sqlalchemy import select

        from baoxue.tenants.students.models import Student

        self.as_township()
        found = self.session.scalars(select(Student).where(Student.school_id == (school_id or self.id)))
        return {s.name: s for s in found}

    def classes(self, school_id: int | None = None) -> dict[str, Any]:
        from sqlalchemy import select

        from baoxue.tenants.tenancy.models import SchoolClass

        self.as_township()
        return {c.name: c for c in self.session.scalars(
            select(SchoolClass).where(SchoolClass.school_id == (school_id or self.id)))}


@pytest.fixture
def school(db_session: Any, townships: dict[str, int], school_year_2026: Any) -> Iterator[School]:
    """A new primary school of 板当镇 (no classes, no pupils); everything is rolled back after."""
    from baoxue.tenants.tenancy.service import do_create_school

    township_id = townships["DEMO-BD"]
    session = db_session(township_id)
    made = do_create_school(session, name=f"试点小学{unique()}", kind="primary")
    yield School(session, township_id, made.id, made.name, made.kind)
