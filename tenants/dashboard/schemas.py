"""The Chinese names of the dashboard's parameters (an error page names the field as people do)."""

from __future__ import annotations

from baoxue.platform.labels import Field

FIELDS: dict[str, Field | str] = {
    "unit_kind": Field("单位类型", values={"school": "学校", "village": "村"}),
    "unit_id": "单位",
    "all_units": Field("显示全部单位", values={True: "是", False: "否"}),
}
