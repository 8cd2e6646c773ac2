"""What the figures API reads and answers, and the Chinese names of its fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from baoxue.platform.labels import Entity, Field
from baoxue.tenants.figures.settings import TARGET_FIELDS, target_label

FIELDS: dict[str, Field | str] = {
    "period": "统计期间",
    "month": "月份",
    "measure": "统计项",
    "level": Field("学段", values={"primary": "小学", "junior": "初中"}),
    "suspension_counts": Field("休学是否计入", values={True: "计入", False: "不计入"}),
    "report_cutoff_day": "月报截止日（每月几日）",
    "targets": "目标",
    "late": Field("逾期报送", values={True: "是", False: "否"}),
    "enrolled": "月末在校生",
    "dropouts": "辍学人数",
    **{name: target_label(name) for name in TARGET_FIELDS},
}

ENTITIES = {"monthly_reports": Entity("月报")}


@dataclass
class SettingsIn:
    """Omitted fields keep their values; a target given as "" or null is removed."""

    suspension_counts: bool | None = None
    report_cutoff_day: int | None = None
    targets: dict[str, str | float | None] = field(default_factory=dict)


@dataclass
class SettingsOut:
    suspension_counts: bool
    suspension_text: str
    report_cutoff_day: int
    targets: dict[str, float]


@dataclass
class ReportIn:
    month: str


@dataclass
class ReportOut:
    school_id: int
    month: str
    submitted_at: Any
    submitter_name: str
    late: bool
