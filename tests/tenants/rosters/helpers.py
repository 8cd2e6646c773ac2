"""Recipes of the rosters concept's actions for tests/platform/test_audit_actions.py."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from datetime import date
from typing import Any


def audit_recipes() -> dict[str, tuple[Callable[[Any], Any], str]]:
    """{action: (what to do with the audit test's World, the event it must write)}."""
    from openpyxl import Workbook
    from sqlalchemy import select

    from baoxue.platform.clock import school_year
    from baoxue.tenants.rosters import service as rosters
    from baoxue.tenants.rosters.events import Event as Rosters
    from baoxue.tenants.students.idnumbers import make_id_number
    from baoxue.tenants.tenancy import service as tenancy
    from baoxue.tenants.tenancy.models import School

    def demo_school(w: Any) -> int:
        return w.session.scalar(select(School.id).where(School.kind == "middle").order_by(School.id).limit(1))

    def import_roster(w: Any) -> None:
        # A new school and one pupil, in the test's transaction (rolled back after).
        school = tenancy.do_create_school(w.session, name=f"审计小学{secrets.token_hex(3)}", kind="primary")
        birth = date(school_year() - 7, 10, 1)
        number = make_id_number("110102", birth, 2 * secrets.randbelow(500) + 1)
        book = Workbook()
        book.active.append(["姓名", "性别", "出生日期", "身份证件类型", "身份证件号", "年级", "班级"])
        book.active.append(["审计生", "男", f"{birth:%Y%m%d}", "居民身份证", number, "一年级", "一年级(1)班"])
        out = io.BytesIO()
        book.save(out)
        rosters.do_import_roster(w.session, school.id, out.getvalue())

    return {
        "service.do_import_roster": (import_roster, Rosters.IMPORTED),
        "service.do_export_roster": (lambda w: rosters.do_export_roster(w.session, demo_school(w)), Rosters.EXPORTED),
        "service.do_export_sample_roster": (lambda w: rosters.do_export_sample_roster(w.session, demo_school(w)),
                                            Rosters.SAMPLE_EXPORTED),
    }
