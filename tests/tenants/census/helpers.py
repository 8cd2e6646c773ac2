"""Census test helpers: a workbook as a village or the police would fill it, and audit recipes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from openpyxl import Workbook

from baoxue.tenants.students.idnumbers import make_id_number

HEADERS = ("序号", "姓名", "身份证号码", "组", "监护人", "联系电话", "是否在本村居住")


def workbook(rows: Sequence[Sequence[Any]], headers: Sequence[str] = HEADERS, title: str = "") -> bytes:
    """A sheet with an optional title row above the header, as villages make them."""
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def child_id(n: int, age: int = 10, male: bool = True) -> str:
    """A valid ID number of a child born `age` years before 2026, distinct by `n`."""
    return make_id_number("522731", date(2026 - age, 3, 1 + n % 27), 600 + n * 2 % 300 + (1 if male else 0))


def audit_recipes() -> dict[str, Any]:
    from sqlalchemy import select

    from baoxue.tenants.census import ledgers, service
    from baoxue.tenants.census.events import Event
    from baoxue.tenants.census.models import CensusChild
    from baoxue.tenants.tenancy.models import Village

    def village(w: Any) -> int:
        return w.session.scalars(select(Village.id).order_by(Village.id).limit(1)).one()

    def child(w: Any) -> int:
        return w.session.scalars(select(CensusChild.id).where(CensusChild.source == "census").limit(1)).one()

    return {
        "service.do_add_child": (lambda w: service.do_add_child(w.session, village(w), {
            "name": "审计儿童", "id_number": child_id(901)}), Event.CHILD_ADDED),
        "service.do_remove_child": (lambda w: service.do_remove_child(w.session, child(w)), Event.CHILD_REMOVED),
        "service.do_import_list": (lambda w: service.do_import_list(w.session, "census", workbook(
            [(1, "审计甲", child_id(902), "一组", "审计乙", "13800000000", "是")]), village_id=village(w)),
            Event.IMPORTED),
        "service.do_request_reconcile": (lambda w: service.do_request_reconcile(w.session),
                                         Event.RECONCILE_REQUESTED),
        "ledgers.do_export_ledger": (lambda w: ledgers.do_export_ledger(w.session, "dropouts", ledgers.filters_for(
            w.session)), Event.EXPORTED),
    }
