"""The roster import of a 10,000-row national file, against merely reading that file (`make bench`).

Ratios in the same run, as tests/bench/test_bench.py does; nothing is asserted about time.
The import goes through the service as a request would (a school's scope, the capped child
process, every check, the bulk write, the audit row) into a fresh school whose transaction is
rolled back after each run. Baselines: openpyxl's read-only read of the same file (what a
straightforward import would start with) and python-calamine's read (what the engine's child
process does). Aims: faster than openpyxl merely reading it; stretch, within 3× calamine's read.
"""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from tests.bench.test_bench import _record
from tests.bench.timing import median_seconds
from tests.conftest import BACKEND

ROWS = 10_000
pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="the bulk path is PostgreSQL's")




def _national_file(rows: int) -> bytes:
    """A school's roster as the national system exports it: a title row, every column, names."""
    from baoxue.platform.clock import school_year
    from baoxue.tenants.rosters.layout import COLUMNS
    from baoxue.tenants.students.idnumbers import make_id_number
    from baoxue.tenants.tenancy.service import GRADE_NAMES

    headers = [c.header for c in COLUMNS]
    book = Workbook(write_only=True)
    ws = book.create_sheet("学生信息")
    ws.append(["全国中小学生学籍信息管理系统 学生基本信息"])
    ws.append([*headers, "出生地", "籍贯", "健康状况"])
    year = school_year()
    for n in range(rows):
        grade = n % 6 + 1
        birth = date(year - 6 - grade, 9, 1) + timedelta(days=n * 7 % 360)
        male = n % 2 == 0
        number = make_id_number("110105", birth, (n // 360 % 500) * 2 + (1 if male else 0))
        row = {
            "姓名": f"学生{n:05d}", "性别": "男" if male else "女", "出生日期": f"{birth:%Y%m%d}", "民族": "汉族",
            "身份证件类型": "居民身份证", "身份证件号": number, "全国学籍号": "G" + number, "年级": GRADE_NAMES[grade],
            "班级": f"{GRADE_NAMES[grade]}({n // 6 % 30 + 1})班", "入学年月": f"{year - grade + 1}09", "就读方式": "走读",
            "户口所在地": "贵州省某县某镇", "户口性质": "农业户口", "现住址": f"板当镇板当村{n % 9 + 1}组{n % 80}号",
            "联系电话": f"138{n:08d}", "是否留守儿童": ("非留守儿童", "单亲留守儿童", "双亲留守儿童")[n % 3],
            "是否进城务工人员随迁子女": "否", "是否孤儿": "否", "残疾类型": "无", "是否需要申请资助": "否",
            "是否享受一补": "否", "上下学距离": "2.5", "成员1姓名": f"家长{n:05d}", "成员1关系": "父亲",
            "成员1联系电话": f"139{n:08d}", "成员1是否监护人": "是", "成员1身份证件类型": "居民身份证",
            "成员1身份证件号": "", "成员1现住址": "板当镇板当村", "成员1工作单位": "务农", "成员2姓名": f"母亲{n:05d}",
            "成员2关系": "母亲", "成员2联系电话": f"137{n:08d}", "成员2是否监护人": "否",
            "成员2身份证件类型": "居民身份证", "成员2身份证件号": "", "成员2现住址": "广东省东莞市",
            "成员2工作单位": "电子厂",
        }
        ws.append([row[h] for h in headers] + ["贵州省", "贵州", "健康"])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def test_roster_import_against_reading_the_file(db_session: Any, townships: dict[str, int],
                                                school_year_2026: Any) -> None:
    import secrets

    from python_calamine import CalamineWorkbook

    from baoxue.platform.db import TenantContext, set_tenant
    from baoxue.platform.permissions import UnitKind
    from baoxue.platform.scoping import Scope
    from baoxue.tenants.rosters.service import do_import_roster
    from baoxue.tenants.tenancy.service import do_create_school

    data = _national_file(ROWS)
    township_id = townships["DEMO-BD"]

    def openpyxl_read() -> None:
        book = load_workbook(BytesIO(data), read_only=True)
        for _row in book.worksheets[0].iter_rows(values_only=True):
            pass
        book.close()

    def calamine_read() -> None:
        CalamineWorkbook.from_filelike(BytesIO(data)).get_sheet_by_index(0).to_python()

    reports = []

    def import_once() -> None:
        session = db_session(township_id)
        school = do_create_school(session, name=f"基准小学{secrets.token_hex(3)}", kind="primary")
        set_tenant(session, TenantContext(scope=Scope(township_id, UnitKind.SCHOOL, school.id)))
        reports.append(do_import_roster(session, school.id, data))
        session.rollback()

    calamine_s = median_seconds(calamine_read, 3)
    openpyxl_s = median_seconds(openpyxl_read, 3)
    import_s = median_seconds(import_once, 3)
    assert reports[-1].created == ROWS and reports[-1].classes_created  # the work was done
    print(f"\nroster file: {ROWS} rows x {len(load_workbook(BytesIO(data), read_only=True).worksheets[0][2])} "
          f"columns, {len(data) / 1e6:.1f} MB")
    _record("roster_import_vs_openpyxl_read", f"openpyxl read-only read of {ROWS} rows", openpyxl_s,
            f"roster import of {ROWS} new pupils", import_s)
    _record("roster_import_vs_calamine_read", f"calamine read of {ROWS} rows", calamine_s,
            f"roster import of {ROWS} new pupils", import_s)


def test_roster_reimport_of_an_unchanged_file(db_session: Any, townships: dict[str, int],
                                              school_year_2026: Any) -> None:
    """The second upload of the same file: every row checked and compared, nothing written."""
    import secrets

    from python_calamine import CalamineWorkbook

    from baoxue.platform.db import TenantContext, set_tenant
    from baoxue.platform.permissions import UnitKind
    from baoxue.platform.scoping import Scope
    from baoxue.tenants.rosters.service import do_import_roster
    from baoxue.tenants.tenancy.service import do_create_school

    data = _national_file(ROWS)
    township_id = townships["DEMO-BD"]
    session = db_session(township_id)
    school = do_create_school(session, name=f"基准小学{secrets.token_hex(3)}", kind="primary")
    set_tenant(session, TenantContext(scope=Scope(township_id, UnitKind.SCHOOL, school.id)))
    do_import_roster(session, school.id, data)
    reports = []
    calamine_s = median_seconds(lambda: CalamineWorkbook.from_filelike(BytesIO(data)).get_sheet_by_index(0).to_python(), 3)
    again_s = median_seconds(lambda: reports.append(do_import_roster(session, school.id, data)), 3)
    assert reports[-1].unchanged == ROWS
    _record("roster_reimport_vs_calamine_read", f"calamine read of {ROWS} rows", calamine_s,
            f"re-import of {ROWS} unchanged pupils", again_s)
