"""The county's page and API: its townships side by side. Thin: parse, call, answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import get
from litestar.response import Template
from sqlalchemy.orm import Session

from baoxue.platform.auth import requires
from baoxue.platform.charts import Bar, bar_chart
from baoxue.platform.permissions import Permission
from baoxue.tenants.county.service import CountyPicture, label_of, published, report_columns

READ = requires(Permission.COUNTY_READ)


def _rate_chart(picture: CountyPicture, level: int, title: str) -> Any:
    """One bar per township: its rate at a level (0 合计, 1 小学, 2 初中) against the ceiling."""
    bars, ceiling = [], None
    for row in picture.townships:
        line = row.data["lines"][level] if len(row.data.get("lines", [])) > level else {}
        ceiling = ceiling if ceiling is not None else line.get("dropout_ceiling")
        bars.append(Bar(row.township_name, line.get("dropout_rate"), alert=bool(line.get("over_ceiling"))))
    return bar_chart(bars, unit="%", target=ceiling, target_label=f"控制线 {ceiling:g}%" if ceiling is not None else "",
                     title=title)


@get("/county", opt=READ, include_in_schema=False, sync_to_thread=True)
def county_page(db: Session, period: str = "") -> Template:
    picture = published(db, period)
    charts = {"primary": _rate_chart(picture, 1, "各乡镇小学辍学率"), "junior": _rate_chart(picture, 2, "各乡镇初中辍学率")}
    return Template("county/index.html", context={"picture": picture, "charts": charts,
                                                  "report_columns": report_columns(),
                                                  "label_of": label_of})


@dataclass
class TownshipOut:
    township: str
    published_at: datetime
    data: dict[str, Any]


@dataclass
class CountyOut:
    county: str
    period: str
    periods: list[str]
    townships: list[TownshipOut]


@get("/api/county", opt=READ, summary="县级汇总：各乡镇发布的统计（只有汇总数字，没有学生个人信息）",
     description="`period`：如 ytd:2026-11（本学年截至 2026 年 11 月）；缺省为最新。", sync_to_thread=True)
def county_api(db: Session, period: str = "") -> CountyOut:
    picture = published(db, period)
    return CountyOut(picture.county.name, picture.period, picture.periods,
                     [TownshipOut(r.township_name, r.published_at, r.data) for r in picture.townships])


routes = [county_page, county_api]
