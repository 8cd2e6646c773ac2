"""Publishing a township's aggregates to its county, and the county's reading of them.

`publish` runs inside the township's figures job (`hooks.on_figures_rebuilt`) with the whole
township's scope: it writes one row per period (the school year to this month), replacing the
township's earlier row of the same period. `published` runs for a county viewer: it needs the
county in the session's context and reads that county's rows only. Nothing here holds a child:
counts, rates, targets and the monthly report's totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.platform.clock import utcnow
from baoxue.platform.db import tenant_of, township_id_of
from baoxue.platform.errors import not_found
from baoxue.tenants.county.models import PublishedFigures
from baoxue.tenants.dashboard.service import dashboard, stage_label
from baoxue.tenants.figures import periods
from baoxue.tenants.figures.reports import COLUMNS, rollup
from baoxue.tenants.tenancy.models import County, Township

REPORT_ROWS = (("primary", "小学"), ("junior", "初中"), ("total", "合计"))
LINE_KEYS = ("label", "start", "end", "dropouts", "should", "dropout_rate", "retention", "dropout_ceiling",
             "retention_floor", "over_ceiling", "under_floor")


def publish(session: Session) -> PublishedFigures | None:
    """The township's aggregates of the school year so far, for its county (None: no county)."""
    township = session.scalars(select(Township).where(Township.id == township_id_of(session))).one()
    if township.county_id is None:
        return None
    board = dashboard(session)
    data = {
        "computed_at": board.year.computed_at.isoformat() if board.year.computed_at else None,
        "suspension_text": board.year.settings.suspension_text,
        "enrolled": board.enrolment.total if board.enrolment else 0,
        "lines": [{k: v for k, v in line.as_dict().items() if k in LINE_KEYS} for line in board.year.township],
        "ledgers": {"listed": board.listed, "nowhere": board.findings.get("nowhere", 0), **board.ledgers},
        "cases": [{"stage": stage, "label": stage_label(stage), "open": n} for stage, n in board.cases_by_stage.items()],
        "overdue": board.overdue,
        "month": {m: board.month_counts[m] for m in ("suspected", "dropouts", "returns")},
        "reports": _reports(session, board),
    }
    key = board.year.period.key
    row = session.scalars(select(PublishedFigures).where(PublishedFigures.township_id == township.id,
                                                         PublishedFigures.period == key)).first()
    if row is None:
        row = PublishedFigures(township_id=township.id, period=key)
        session.add(row)
    row.county_id, row.township_name, row.published_at, row.data = township.county_id, township.name, utcnow(), data
    session.flush()
    return row


def _reports(session: Session, board: Any) -> dict[str, Any]:
    """The report month's submissions and the township's roll-up, as the county compares them."""
    month = rollup(session, board.report_month)
    states = [s.state for s in month.submissions]
    return {"month": board.report_month.key, "label": board.report_month.label, "schools": len(states),
            "on_time": states.count("on_time"), "late": states.count("late"), "missing": states.count("missing"),
            "rows": {key: [month.table.value(key, column) for column, _h, _s in COLUMNS] for key, _l in REPORT_ROWS}}


@dataclass(frozen=True)
class CountyPicture:
    county: County
    period: str
    townships: list[PublishedFigures]
    periods: list[str]  # every period some township published, latest first


def published(session: Session, period: str = "") -> CountyPicture:
    """The county's townships side by side for a period (the latest by default)."""
    county_id = tenant_of(session).county_id
    if county_id is None:
        raise not_found()
    county = session.get(County, county_id)
    if county is None:
        raise not_found()
    periods = sorted(set(session.scalars(select(PublishedFigures.period)
                                         .where(PublishedFigures.county_id == county_id))), reverse=True)
    chosen = period if period in periods else (periods[0] if periods else "")
    rows = list(session.scalars(select(PublishedFigures).where(PublishedFigures.county_id == county_id,
                                                               PublishedFigures.period == chosen)
                                .order_by(PublishedFigures.township_name)))
    return CountyPicture(county, chosen, rows, periods)


def label_of(period: str) -> str:
    """"ytd:2026-11" as people say it: 2026—2027学年截至2026年11月."""
    month = periods.parse_month(period.removeprefix("ytd:"))
    return periods.ytd_period(month).label if month is not None else period


def report_columns() -> list[tuple[str, str]]:
    return [(h, s) for _k, h, s in COLUMNS]
