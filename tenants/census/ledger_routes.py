"""The three ledgers' pages and Excel (三本台账): /ledgers, /ledgers/{children,suspected,dropouts}
and their .xlsx. Thin: the reads and the audited export are `ledgers`'. Closing an entry (销号)
is the case file's closing, never a form of these pages.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.response import Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import requires
from baoxue.platform.clock import clock
from baoxue.platform.permissions import Permission
from baoxue.platform.spreadsheets import xlsx_download
from baoxue.platform.templating import page
from baoxue.tenants.census import ledgers

READ = requires(Permission.LEDGER_READ)


def _context(db: Session, filters: ledgers.LedgerFilters) -> dict[str, Any]:
    villages, schools = ledgers.choices(db)
    return {"filters": filters, "villages": villages, "schools": schools, "years": ledgers.years(),
            "unit": ledgers.unit_name(db, filters), "LEDGERS": ledgers.LEDGERS, "rows_shown": ledgers.ROWS_SHOWN}


@get("/ledgers", opt=READ, include_in_schema=False, sync_to_thread=True)
def ledgers_page(request: Request[Any, Any, Any], db: Session, year: int | None = None,
                 village_id: int | None = None, school_id: int | None = None) -> Template:
    filters = ledgers.filters_for(db, year, village_id, school_id)
    return page(request, "census/ledgers.html", {**_context(db, filters), "found": ledgers.overview(db, filters)})


def _page_of(kind: str) -> Any:
    def handler(request: Request[Any, Any, Any], db: Session, year: int | None = None,
                village_id: int | None = None, school_id: int | None = None) -> Template:
        filters = ledgers.filters_for(db, year, village_id, school_id)
        return page(request, "census/ledger.html", {**_context(db, filters), "kind": kind,
                                                    "found": ledgers.ledger(db, kind, filters)}, fragment="rows")

    handler.__name__ = f"{kind}_ledger_page"
    return get(f"/ledgers/{kind}", opt=READ, include_in_schema=False, sync_to_thread=True, name=f"ledger-{kind}")(handler)


def _xlsx_of(kind: str) -> Any:
    def handler(db: Session, year: int | None = None, village_id: int | None = None,
                school_id: int | None = None) -> Response[bytes]:
        filters = ledgers.filters_for(db, year, village_id, school_id)
        data = ledgers.do_export_ledger(db, kind, filters)
        return xlsx_download(data, f"{ledgers.LEDGERS[kind]}-{clock.today().isoformat()}.xlsx")

    handler.__name__ = f"{kind}_ledger_xlsx"
    return get(f"/ledgers/{kind}.xlsx", opt=READ, include_in_schema=False, sync_to_thread=True,
               name=f"ledger-{kind}-xlsx")(handler)


routes = [ledgers_page, *(_page_of(kind) for kind in ledgers.LEDGERS), *(_xlsx_of(kind) for kind in ledgers.LEDGERS)]
